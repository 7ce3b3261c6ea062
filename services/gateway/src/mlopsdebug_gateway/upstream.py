"""The gateway's side of the episode service: one shared gRPC channel, unary calls, and Session streams.

Two transports carry reset, get_state and close, each with its caller's credentials as metadata (see
auth.py), so that the episode service applies its ownership rules to every call:
- `StreamTransport`: one bidirectional `Session` stream, for one WebSocket connection (lowest latency;
  the episode service closes the stream's episodes when it ends);
- `UnaryTransport`: plain unary calls with explicit episode ids, for HTTP routes and HTTP MCP sessions.
Steps of anonymous callers (a client token, no API key) go through one `StepBatcher`, which carries
the steps of every connection that are waiting at the same moment as one StepBatch message, each step
with its caller's token (`StepRequest.client_token`), so the batch acts for each caller as its own
call would. Steps of keyed callers, and submissions, go on the caller's own transport: a submission
waits on the grader, and a batch answers only when its slowest step is done. All raise
`UpstreamError` and never leak a `grpc.RpcError` to the routes.

Routing (several episode replicas behind Envoy, ring hash on `x-episode-id`): every unary call that
names an episode carries its id in that header, and a unary reset draws its id here so the reset goes
where the episode's later calls go. Streams are routed once, when they open, and name no episode: a
WebSocket's Session stream stays on the replica it landed on, and the shared StepBatcher stream,
which carries many callers' episodes, lands on any replica, which loads them from the shared store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from typing import Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_common.principals import AUTHORIZATION, CLIENT_TOKEN
from mlopsdebug_common.rpc import CHANNEL_OPTIONS
from mlopsdebug_common.validation import EPISODE_ID_PATTERN, STEP_BATCH_MAX_STEPS
from mlopsdebug_gateway.errors import UpstreamError, from_rpc_error, from_status

log = logging.getLogger("mlopsdebug.gateway")
Metadata = tuple[tuple[str, str], ...]
EPISODE_ID = re.compile(EPISODE_ID_PATTERN)
# The header Envoy hashes on to send an episode's calls to one replica (routing only, never trusted).
EPISODE_HEADER = "x-episode-id"
# How long a closing gateway waits for grpc to hand back the completions of the calls it cancelled.
CANCELLED_CALLS_DRAIN_S = 0.25


def routing_metadata(metadata: Metadata, episode_id: str) -> Metadata:
    """The caller's metadata plus the routing header, for a well-formed id only: any other is refused
    by the episode service (INVALID_ARGUMENT), and may not even be a legal header value."""
    if not EPISODE_ID.fullmatch(episode_id):
        return metadata
    return (*metadata, (EPISODE_HEADER, episode_id))


def new_episode_id() -> str:
    """An episode id in the episode service's own format, drawn before the reset so it can be routed."""
    return "ep-" + secrets.token_hex(12)


class EpisodeClient:
    """The channel to the episode service, created inside the serving event loop."""

    def __init__(self, addr: str, *, rpc_timeout_s: float, health_timeout_s: float, tls_ca: str = "") -> None:
        """`tls_ca`: a PEM file of the CA behind the episode service's TLS certificate; empty: plaintext."""
        self.addr = addr
        self.rpc_timeout_s = rpc_timeout_s
        self.health_timeout_s = health_timeout_s
        if tls_ca:
            with open(tls_ca, "rb") as handle:
                credentials = grpc.ssl_channel_credentials(root_certificates=handle.read())
            self._channel = grpc.aio.secure_channel(addr, credentials, options=CHANNEL_OPTIONS)
        else:
            self._channel = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
        self.stub = ep_grpc.EpisodeServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self.steps = StepBatcher(self.stub, rpc_timeout_s=rpc_timeout_s)

    async def close(self) -> None:
        await self.steps.aclose()
        await self._channel.close(grace=None)
        # Closing cancels the channel's calls, but grpc's poller thread hands their last completions to
        # this loop a little later. Wait for them here: once this loop is closed, another loop in the
        # same process (tests and benchmarks run the gateway on a thread) would get them and print
        # "Event loop is closed". Measured: 0.1 s was enough on 2 loaded cores, 0 s was not.
        await asyncio.sleep(CANCELLED_CALLS_DRAIN_S)

    async def healthy(self) -> bool:
        """True when the episode service answers its health check with SERVING."""
        try:
            response = await self._health.Check(health_pb2.HealthCheckRequest(), timeout=self.health_timeout_s)  # pyright: ignore[reportAttributeAccessIssue] - typeshed's HealthStub has no methods
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                return False
            try:
                await self.stub.ListTasks(ep_pb.ListTasksRequest(), timeout=self.health_timeout_s)
            except grpc.aio.AioRpcError:
                return False
            return True
        return response.status == health_pb2.HealthCheckResponse.SERVING

    async def list_tasks(self, metadata: Metadata = ()) -> ep_pb.ListTasksResponse:
        try:
            return await self.stub.ListTasks(ep_pb.ListTasksRequest(), timeout=self.rpc_timeout_s, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None


class StepBatcher:
    """Steps of anonymous callers on one shared Session stream, as StepBatch messages.

    Each step carries its caller's client token, so the episode service applies each caller's
    ownership to its own step; the stream itself owns nothing. One batch is in flight at a time, and
    the steps that arrive meanwhile leave together (measured before ownership: 8 WebSockets averaged
    about 3.7 steps per batch). Two steps on one episode never share a batch (the service would refuse
    it whole). A broken stream fails only the steps in flight; the next batch opens a new one.
    """

    def __init__(self, stub: ep_grpc.EpisodeServiceStub, *, rpc_timeout_s: float) -> None:
        self._stub = stub
        self._timeout_s = rpc_timeout_s
        self._waiting: list[tuple[ep_pb.StepRequest, asyncio.Future[ep_pb.StepResponse]]] = []
        self._call: grpc.aio.StreamStreamCall | None = None
        self._sender: asyncio.Task[None] | None = None
        self._sending_alone = False  # a step is on the stream, sent by its caller's own task
        self._closed = False
        self.steps_sent = 0
        self.batches_sent = 0

    @property
    def counts(self) -> tuple[int, int]:
        """(steps, StepBatch messages) sent so far; their ratio is the mean batch size."""
        return self.steps_sent, self.batches_sent

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse:
        """`request` must carry its caller's client_token.

        A step that finds the stream idle is sent by its own task (no sender task, no future: one
        connection's steps, the common case, cost less and arrive sooner); steps that arrive meanwhile
        wait and leave together after it. Otherwise the deadline is a timer that fails the step's future
        (a late result then finds it done and is dropped): cheaper per step than wait_for around a
        shield, which wraps the future twice."""
        if self._sender is None and not self._sending_alone and not self._waiting and not self._closed:
            return await self._step_alone(request, timeout_s)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ep_pb.StepResponse] = loop.create_future()
        self._waiting.append((request, future))
        self._pump()
        deadline = loop.call_later(timeout_s or self._timeout_s, _expire, future)
        try:
            return await future
        finally:
            deadline.cancel()

    async def _step_alone(self, request: ep_pb.StepRequest, timeout_s: float | None) -> ep_pb.StepResponse:
        self._sending_alone = True  # the stream is busy: steps arriving meanwhile queue for the next batch
        try:
            results = await self._exchange([request], timeout_s)
        except UpstreamError:
            raise
        except Exception:  # as a batch's sender answers it
            log.exception("step batch failed")
            raise UpstreamError("UNAVAILABLE", "the episode service is unavailable; retry shortly") from None
        finally:
            self._sending_alone = False
            self._pump()
        if len(results) != 1:
            log.error("a step batch of 1 was answered with %d results", len(results))
            raise UpstreamError("UNAVAILABLE", "the episode service is unavailable; retry shortly")
        if results[0].WhichOneof("result") == "step":
            return results[0].step
        raise from_status(results[0].error)

    def _pump(self) -> None:
        if self._closed or self._sender is not None or self._sending_alone or not self._waiting:
            return
        batch, later, seen = [], [], set()
        for item in self._waiting:
            key = (item[0].client_token, item[0].episode_id)
            if key in seen or len(batch) >= STEP_BATCH_MAX_STEPS:
                later.append(item)
            else:
                seen.add(key)
                batch.append(item)
        self._waiting = later
        self._sender = asyncio.get_running_loop().create_task(self._send(batch))

    async def _send(self, batch: list[tuple[ep_pb.StepRequest, asyncio.Future[ep_pb.StepResponse]]]) -> None:
        try:
            results = await self._exchange([request for request, _ in batch])
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if result.WhichOneof("result") == "step":
                    future.set_result(result.step)
                else:
                    future.set_exception(from_status(result.error))
        except UpstreamError as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(UpstreamError("UNAVAILABLE", "the episode service is unavailable; retry shortly"))
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.exception("step batch failed")
        finally:
            self._sender = None
            self._pump()

    async def _exchange(self, steps: list[ep_pb.StepRequest], timeout_s: float | None = None) -> list[ep_pb.StepBatchResult]:
        call = self._call
        if call is None:
            call = self._call = self._stub.Session()
        try:
            await call.write(ep_pb.SessionRequest(step_batch=ep_pb.StepBatchRequest(steps=steps)))
            async with asyncio.timeout(timeout_s or self._timeout_s):  # on this task: wait_for would start one per read
                response = await call.read()
        except asyncio.CancelledError:
            self._drop()  # an answer left unread would be read as the next batch's
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                # Not this task's cancellation: grpc raises it from a read of a call that aclose cancelled.
                raise UpstreamError("UNAVAILABLE", "the gateway is shutting down") from None
            raise
        except TimeoutError:
            self._drop()
            raise UpstreamError("DEADLINE_EXCEEDED", "the episode service did not answer in time") from None
        except grpc.aio.AioRpcError as exc:
            self._drop()
            raise from_rpc_error(exc) from None
        except (grpc.aio.UsageError, asyncio.InvalidStateError):
            self._drop()
            raise UpstreamError("UNAVAILABLE", "the episode service is unavailable; retry shortly") from None
        if response is grpc.aio.EOF:  # pyright: ignore[reportAttributeAccessIssue] - missing from typeshed's grpc.aio stubs
            self._drop()
            raise UpstreamError("UNAVAILABLE", "the episode service is unavailable; retry shortly")
        response = cast(ep_pb.SessionResponse, response)  # not EOF: typeshed types read() as object
        self.steps_sent += len(steps)
        self.batches_sent += 1
        if response.WhichOneof("response") == "error":
            raise from_status(response.error)
        return list(response.step_batch.results)

    def _drop(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None

    async def aclose(self) -> None:
        self._closed = True
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(UpstreamError("UNAVAILABLE", "the gateway is shutting down"))
        self._waiting = []
        sender = self._sender
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
        self._drop()


def _expire(future: asyncio.Future[ep_pb.StepResponse]) -> None:
    if not future.done():
        future.set_exception(UpstreamError("DEADLINE_EXCEEDED", "the episode service did not answer in time"))


def is_submission(request: ep_pb.StepRequest) -> bool:
    """Whether the step is graded (slow: a grader round trip), so it should not share a batch."""
    return request.action.WhichOneof("kind") == "submit_diagnosis"


def batch_token(metadata: Metadata) -> str | None:
    """The client token a step may carry into a shared batch: only for callers without an API key."""
    token = None
    for name, value in metadata:
        if name == AUTHORIZATION:
            return None
        if name == CLIENT_TOKEN:
            token = value
    return token


class Transport(Protocol):
    """Carries reset/step/get_state/close to the episode service."""

    @property
    def generation(self) -> int:
        """Changes whenever episodes bound to the transport were lost (a broken stream)."""
        ...

    @property
    def closes_episodes_on_end(self) -> bool:
        """Whether ending the transport ends its episodes upstream (true of a Session stream)."""
        ...

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse: ...

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse: ...

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse: ...

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse: ...

    async def aclose(self) -> None: ...


class UnaryTransport:
    """Unary RPCs with explicit episode ids: episodes outlive the caller until closed or reaped."""

    generation = 0
    closes_episodes_on_end = False

    def __init__(self, client: EpisodeClient, metadata: Metadata = ()) -> None:
        self._client = client
        self._metadata = metadata
        self._batch_token = batch_token(metadata)

    async def _call(self, method, request, timeout_s: float | None = None):  # noqa: ANN001, ANN202
        metadata = routing_metadata(self._metadata, request.episode_id)
        try:
            return await method(request, timeout=timeout_s or self._client.rpc_timeout_s, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse:
        if not request.episode_id:
            request.episode_id = new_episode_id()
        return await self._call(self._client.stub.Reset, request)

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse:
        if self._batch_token is None or is_submission(request):
            return await self._call(self._client.stub.Step, request, timeout_s)
        request.client_token = self._batch_token
        return await self._client.steps.step(request, timeout_s=timeout_s)

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse:
        return await self._call(self._client.stub.GetState, request)

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse:
        return await self._call(self._client.stub.CloseEpisode, request)

    async def aclose(self) -> None:
        return None


class StreamTransport:
    """One `Session` stream, opened on first use and reopened after a break.

    Requests are strictly sequential (a lock pairs each write with the next read). A broken stream
    loses its episodes upstream, so `generation` moves on and the caller forgets its episode.
    """

    closes_episodes_on_end = True

    def __init__(self, client: EpisodeClient, metadata: Metadata = ()) -> None:
        self._client = client
        self._metadata = metadata
        self._batch_token = batch_token(metadata)
        self._call: grpc.aio.StreamStreamCall | None = None
        self._lock = asyncio.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def _drop(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
            self._generation += 1

    async def _exchange(self, request: ep_pb.SessionRequest, timeout_s: float | None = None) -> ep_pb.SessionResponse:
        async with self._lock:
            call = self._call
            if call is None:
                call = self._call = self._client.stub.Session(metadata=self._metadata)
            try:
                await call.write(request)
                async with asyncio.timeout(timeout_s or self._client.rpc_timeout_s):  # no task per read
                    response = await call.read()
            except TimeoutError:
                self._drop()
                raise UpstreamError("DEADLINE_EXCEEDED", "the episode service did not answer in time") from None
            except grpc.aio.AioRpcError as exc:
                self._drop()
                raise from_rpc_error(exc) from None
            except (grpc.aio.UsageError, asyncio.InvalidStateError):
                self._drop()
                raise UpstreamError("UNAVAILABLE", "the episode session ended; reset to start again") from None
            if response is grpc.aio.EOF:  # pyright: ignore[reportAttributeAccessIssue] - missing from typeshed's grpc.aio stubs
                self._drop()
                raise UpstreamError("UNAVAILABLE", "the episode session ended; reset to start again")
        response = cast(ep_pb.SessionResponse, response)  # not EOF: typeshed types read() as object
        if response.WhichOneof("response") == "error":
            raise from_status(response.error)
        return response

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse:
        return (await self._exchange(ep_pb.SessionRequest(reset=request))).reset

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse:
        if self._batch_token is None or is_submission(request):  # on this connection's own stream
            return (await self._exchange(ep_pb.SessionRequest(step=request), timeout_s)).step
        request.client_token = self._batch_token
        return await self._client.steps.step(request, timeout_s=timeout_s)

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse:
        return (await self._exchange(ep_pb.SessionRequest(get_state=request))).get_state

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse:
        return (await self._exchange(ep_pb.SessionRequest(close=request))).close

    async def aclose(self) -> None:
        """Ends the stream politely; the episode service then closes the stream's episodes."""
        call, self._call = self._call, None
        if call is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(call.done_writing(), 1.0)
        call.cancel()
