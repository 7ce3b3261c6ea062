"""A real gRPC server in front of an episode service that records what a proxy routes on: for every
call, the method, its `x-episode-id` request header, and the episode ids the request names.

It relays each call (the raw bytes, the caller's metadata and the service's status, details and
trailing metadata, so rich errors and ownership work unchanged) to the real service, so the clients
under test play real episodes while the relay watches the wire. `cut_sessions()` ends every relayed
Session stream with UNAVAILABLE, as a replica that died would, so a test can see how a session reopens.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent import futures

import grpc

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb

HEADER = "x-episode-id"
SERVICE = "/mlopsdebug.episode.v1.EpisodeService/"
# The request message of each unary method, to read the episode ids it names.
REQUESTS = {
    "ListTasks": ep_pb.ListTasksRequest,
    "Reset": ep_pb.ResetRequest,
    "Step": ep_pb.StepRequest,
    "StepBatch": ep_pb.StepBatchRequest,
    "GetState": ep_pb.GetStateRequest,
    "CloseEpisode": ep_pb.CloseEpisodeRequest,
    "CreateEvaluation": ep_pb.CreateEvaluationRequest,
    "GetEvaluation": ep_pb.GetEvaluationRequest,
    "CloseEvaluation": ep_pb.CloseEvaluationRequest,
}
# Metadata gRPC sets itself; everything else the caller sent is relayed.
_TRANSPORT_KEYS = {"user-agent", "grpc-accept-encoding", "grpc-encoding", "grpc-timeout"}


@dataclasses.dataclass
class RecordedCall:
    method: str
    header: str | None  # the x-episode-id header, None when absent
    named: list[str]  # episode ids the request names (for Session: every request on the stream)


def named_episodes(method: str, raw: bytes) -> list[str]:
    if method == "StepBatch":
        return [step.episode_id for step in ep_pb.StepBatchRequest.FromString(raw).steps]
    request = REQUESTS[method].FromString(raw)
    return [request.episode_id] if "episode_id" in request.DESCRIPTOR.fields_by_name else []


def _session_named(raw: bytes) -> list[str]:
    request = ep_pb.SessionRequest.FromString(raw)
    kind = request.WhichOneof("request")
    if kind == "step_batch":
        return [step.episode_id for step in request.step_batch.steps]
    inner = getattr(request, kind)
    return [inner.episode_id] if inner.episode_id else []


class RecordingRelay:
    """Listens on 127.0.0.1 (a free port) and relays EpisodeService calls to `target`."""

    def __init__(self, target: str) -> None:
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(target)
        self._open_sessions: set[grpc.Call] = set()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        self._server.add_generic_rpc_handlers([_Handler(self)])
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def of(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def cut_sessions(self) -> None:
        with self._lock:
            open_calls = list(self._open_sessions)
        for call in open_calls:
            call.cancel()

    def close(self) -> None:
        self._server.stop(grace=None)
        self._channel.close()

    def _record(self, call: RecordedCall) -> None:
        with self._lock:
            self.calls.append(call)

    def unary(self, method: str, raw: bytes, context: grpc.ServicerContext) -> bytes:
        metadata, header = _relayed(context)
        self._record(RecordedCall(method, header, named_episodes(method, raw)))
        relay = self._channel.unary_unary(SERVICE + method)
        try:
            return relay(raw, metadata=metadata, timeout=context.time_remaining())
        except grpc.RpcError as err:
            _abort_like(context, err)
            raise  # unreachable: abort raises

    def session(self, requests, context: grpc.ServicerContext):
        metadata, header = _relayed(context)
        record = RecordedCall("Session", header, [])
        self._record(record)

        def upstream_requests():
            for raw in requests:
                record.named.extend(_session_named(raw))
                yield raw

        call = self._channel.stream_stream(SERVICE + "Session")(upstream_requests(), metadata=metadata)
        with self._lock:
            self._open_sessions.add(call)
        try:
            yield from call
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.CANCELLED and context.is_active():
                context.abort(grpc.StatusCode.UNAVAILABLE, "relay cut the stream")
            _abort_like(context, err)
        finally:
            with self._lock:
                self._open_sessions.discard(call)


def _relayed(context: grpc.ServicerContext) -> tuple[tuple[tuple[str, str], ...], str | None]:
    metadata = tuple((k, v) for k, v in context.invocation_metadata() if k not in _TRANSPORT_KEYS)
    header = next((v for k, v in metadata if k == HEADER), None)
    return metadata, header


def _abort_like(context: grpc.ServicerContext, err: grpc.RpcError) -> None:
    trailing = err.trailing_metadata() or ()  # type: ignore[attr-defined]
    context.set_trailing_metadata(trailing)
    context.abort(err.code(), err.details() or "")  # type: ignore[attr-defined]


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, relay: RecordingRelay) -> None:
        self._relay = relay

    def service(self, handler_call_details):
        path = handler_call_details.method
        if not path.startswith(SERVICE):
            return None
        method = path.removeprefix(SERVICE)
        if method == "Session":
            return grpc.stream_stream_rpc_method_handler(self._relay.session)
        if method in REQUESTS:
            return grpc.unary_unary_rpc_method_handler(
                lambda raw, context: self._relay.unary(method, raw, context)
            )
        return None
