"""The client's transport behaviour over real sockets, against a scripted episode server.

A scripted servicer makes the failures that a healthy cluster never shows on demand: outages for
the retry policy, slow answers for deadlines, and misbehaving or dying Session streams. The
behaviours against the real services are in test_client_episode.py and its neighbours.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent import futures

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_client import (
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeClient,
    InvalidArgumentError,
    MLOpsDebugError,
    NotFoundError,
    ResourceExhaustedError,
    StatusCode,
    UnavailableError,
    actions,
)

SLOW_S = 1.0


def _rich_status(code: int, message: str, reason: str, field: str = "") -> status_pb2.Status:
    details = [any_pb2.Any()]
    details[0].Pack(
        error_details_pb2.ErrorInfo(reason=reason, domain="episode.mlopsdebug", metadata={"k": "v"})
    )
    if field:
        bad = any_pb2.Any()
        bad.Pack(error_details_pb2.BadRequest(field_violations=[{"field": field, "description": "required"}]))
        details.append(bad)
    return status_pb2.Status(code=code, message=message, details=details)


class ScriptedEpisodeServicer(ep_grpc.EpisodeServiceServicer):
    """Answers from a script: `outages` UNAVAILABLE answers first, then the behaviour the ids ask for."""

    def __init__(self) -> None:
        self.outages = 0
        self.calls: dict[str, int] = {}
        self.session_requests: list[ep_pb.SessionRequest] = []
        self.session_ended = threading.Event()
        self._lock = threading.Lock()

    def _enter(self, method: str, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            outage = self.outages > 0
            if outage:
                self.outages -= 1
        if outage:
            context.abort(grpc.StatusCode.UNAVAILABLE, "peer down")

    def ListTasks(self, request, context):  # noqa: N802
        self._enter("ListTasks", context)
        return ep_pb.ListTasksResponse(tasks=[common_pb2.TaskInfo(task_id="easy", max_steps=20)])

    def Reset(self, request, context):  # noqa: N802
        self._enter("Reset", context)
        return ep_pb.ResetResponse(episode_id="ep-1", seed=request.seed if request.HasField("seed") else 99)

    def Step(self, request, context):  # noqa: N802
        self._enter("Step", context)
        if request.episode_id == "bad":
            context.abort_with_status(
                rpc_status.to_status(
                    _rich_status(
                        code_pb2.INVALID_ARGUMENT,
                        "bad check",
                        "ACTION_INVALID",
                        "action.run_sanity_check.check",
                    )
                )
            )
        return ep_pb.StepResponse(observation=common_pb2.Observation(step_count=1, reward=0.02))

    def GetState(self, request, context):  # noqa: N802
        self._enter("GetState", context)
        if request.episode_id == "slow":
            time.sleep(SLOW_S)
        return ep_pb.GetStateResponse(state=ep_pb.EpisodeStateInfo(episode_id=request.episode_id))

    def CloseEpisode(self, request, context):  # noqa: N802
        self._enter("CloseEpisode", context)
        return ep_pb.CloseEpisodeResponse()

    def Session(self, request_iterator, context):  # noqa: N802
        try:
            current = ""
            for request in request_iterator:
                self.session_requests.append(request)
                kind = request.WhichOneof("request")
                response = ep_pb.SessionResponse(request_id=request.request_id)
                if kind == "reset":
                    current = request.reset.episode_id or "ep-s"
                    response.reset.CopyFrom(ep_pb.ResetResponse(episode_id=current, seed=5))
                    yield response
                    continue
                target = getattr(request, kind).episode_id or current
                if target == "missing":
                    response.error.CopyFrom(
                        _rich_status(code_pb2.NOT_FOUND, "episode not found", "EPISODE_NOT_FOUND")
                    )
                elif target == "misordered":
                    response.request_id = "999"
                    response.step.CopyFrom(ep_pb.StepResponse())
                elif target == "wrong-kind":
                    response.close.CopyFrom(ep_pb.CloseEpisodeResponse())
                elif target == "abort":
                    context.abort_with_status(
                        rpc_status.to_status(
                            _rich_status(code_pb2.RESOURCE_EXHAUSTED, "at capacity", "AT_CAPACITY")
                        )
                    )
                elif target == "hang":
                    time.sleep(SLOW_S)
                elif target == "end":
                    return
                elif kind == "step":
                    response.step.CopyFrom(
                        ep_pb.StepResponse(observation=common_pb2.Observation(step_count=1))
                    )
                elif kind == "get_state":
                    response.get_state.CopyFrom(
                        ep_pb.GetStateResponse(state=ep_pb.EpisodeStateInfo(episode_id=target))
                    )
                else:
                    response.close.CopyFrom(
                        ep_pb.CloseEpisodeResponse(state=ep_pb.EpisodeStateInfo(episode_id=target))
                    )
                yield response
        finally:
            self.session_ended.set()


@pytest.fixture
def scripted():
    servicer = ScriptedEpisodeServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    ep_grpc.add_EpisodeServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(None)


def _config(target: str, **overrides) -> ClientConfig:
    values = {"target": target, "timeout_s": 5.0, "max_retries": 2, "retry_initial_backoff_s": 0.01}
    values.update(overrides)
    return ClientConfig(**values)


class TestSyncRetries:
    def test_idempotent_calls_retry_through_a_short_outage(self, scripted) -> None:
        """ListTasks and GetState succeed after outages within max_retries."""
        servicer, target = scripted
        with EpisodeClient(config=_config(target)) as client:
            servicer.outages = 2
            assert client.list_tasks().tasks[0].task_id == "easy"
            assert servicer.calls["ListTasks"] == 3
            servicer.outages = 2
            assert client.get_state("ep-1").state.episode_id == "ep-1"
            assert servicer.calls["GetState"] == 3

    def test_retries_stop_at_max_retries(self, scripted) -> None:
        """A longer outage raises UnavailableError after 1 + max_retries attempts."""
        servicer, target = scripted
        servicer.outages = 10
        with EpisodeClient(config=_config(target)) as client, pytest.raises(UnavailableError):
            client.list_tasks()
        assert servicer.calls["ListTasks"] == 3

    @pytest.mark.parametrize("method", ["Reset", "Step", "CloseEpisode"])
    def test_state_changing_calls_are_never_retried(self, scripted, method) -> None:
        """Reset, Step and CloseEpisode are attempted once even when UNAVAILABLE."""
        servicer, target = scripted
        servicer.outages = 1
        with EpisodeClient(config=_config(target)) as client, pytest.raises(UnavailableError):
            if method == "Reset":
                client.reset("easy")
            elif method == "Step":
                client.step("ep-1", actions.read_config())
            else:
                client.close_episode("ep-1")
        assert servicer.calls[method] == 1

    def test_zero_retries(self, scripted) -> None:
        """max_retries=0 makes idempotent calls single attempts too."""
        servicer, target = scripted
        servicer.outages = 1
        with EpisodeClient(config=_config(target, max_retries=0)) as client, pytest.raises(UnavailableError):
            client.get_state("ep-1")
        assert servicer.calls["GetState"] == 1


class TestSyncCalls:
    def test_rich_error_details_cross_the_wire(self, scripted) -> None:
        """A server's ErrorInfo and field violations arrive on the raised error."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, pytest.raises(InvalidArgumentError) as info:
            client.step("bad", {"action_type": "run_sanity_check"})
        assert info.value.reason == "ACTION_INVALID"
        assert info.value.metadata == {"k": "v"}
        assert [v.field for v in info.value.field_violations] == ["action.run_sanity_check.check"]

    def test_deadline_exceeded(self, scripted) -> None:
        """A call slower than timeout_s raises DEADLINE_EXCEEDED."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, pytest.raises(MLOpsDebugError) as info:
            client.get_state("slow", timeout_s=0.2)
        assert info.value.code is StatusCode.DEADLINE_EXCEEDED

    def test_seed_is_optional_on_the_wire(self, scripted) -> None:
        """reset without a seed leaves the field absent; with seed 0 it is present."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client:
            assert client.reset("easy").seed == 99
            assert client.reset("easy", seed=0).seed == 0

    def test_dead_server_is_unavailable(self) -> None:
        """Nothing listening means UnavailableError after the retries, not a grpc exception."""
        with grpc.insecure_channel("127.0.0.1:1") as channel:
            client = EpisodeClient(config=_config("127.0.0.1:1", max_retries=1), channel=channel)
            with pytest.raises(UnavailableError):
                client.list_tasks()

    def test_shared_channel_is_not_closed_by_the_client(self, scripted) -> None:
        """A client given a channel leaves it open on close()."""
        _, target = scripted
        with grpc.insecure_channel(target) as channel:
            EpisodeClient(channel=channel).close()
            assert EpisodeClient(channel=channel).list_tasks().tasks


class TestSyncSession:
    def test_requests_carry_increasing_ids_and_default_to_latest_episode(self, scripted) -> None:
        """Each request gets the next request id; step, state and close default to the session's episode."""
        servicer, target = scripted
        with EpisodeClient(config=_config(target)) as client, client.session() as session:
            assert session.reset("easy", seed=5, episode_id="mine").episode_id == "mine"
            assert session.episode_id == "mine"
            session.step({"action_type": "read_config"})
            assert session.get_state().state.episode_id == "mine"
            assert session.close_episode().state.episode_id == "mine"
        assert [r.request_id for r in servicer.session_requests] == ["1", "2", "3", "4"]
        assert servicer.session_requests[0].reset.seed == 5
        assert servicer.session_ended.wait(5)

    def test_in_band_error_raises_and_keeps_the_session(self, scripted) -> None:
        """An error response raises its typed error and the next request still works."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, client.session() as session:
            with pytest.raises(NotFoundError) as info:
                session.get_state("missing")
            assert info.value.reason == "EPISODE_NOT_FOUND"
            assert not session.closed
            assert session.get_state("ep-9").state.episode_id == "ep-9"

    @pytest.mark.parametrize("episode_id", ["misordered", "wrong-kind"])
    def test_protocol_faults_break_the_session(self, scripted, episode_id) -> None:
        """A response that does not answer the request raises INTERNAL and closes the session."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, client.session() as session:
            with pytest.raises(MLOpsDebugError) as info:
                session.step(actions.read_config(), episode_id)
            assert info.value.code is StatusCode.INTERNAL and info.value.reason == "SESSION_OUT_OF_ORDER"
            assert session.closed
            with pytest.raises(MLOpsDebugError):
                session.get_state("ep-1")

    def test_stream_failure_carries_the_servers_status(self, scripted) -> None:
        """A stream the server aborts raises its code and details, then the session is unusable."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, client.session() as session:
            with pytest.raises(ResourceExhaustedError) as info:
                session.step(actions.read_config(), "abort")
            assert info.value.reason == "AT_CAPACITY"
            assert session.closed
            with pytest.raises(ResourceExhaustedError):
                session.get_state("ep-1")

    def test_stream_ended_by_server(self, scripted) -> None:
        """A stream the server ends unasked is reopened, within `reconnect_s`; a request that ends
        every stream then raises UNAVAILABLE, and the session still serves other requests."""
        servicer, target = scripted
        with EpisodeClient(config=_config(target, reconnect_s=0.3)) as client, client.session() as session:
            with pytest.raises(UnavailableError) as info:
                session.get_state("end")
            assert info.value.reason == "SESSION_ENDED"
            assert session.reconnects >= 2
            assert [r.get_state.episode_id for r in servicer.session_requests] == ["end"] * (session.reconnects + 1)
            assert session.get_state("ep-3").state.episode_id == "ep-3"

    def test_slow_response_times_out_and_the_next_request_reopens_the_stream(self, scripted) -> None:
        """A response later than timeout_s raises DEADLINE_EXCEEDED and cancels the stream (a late
        answer would pair with the wrong request); the next request goes over a new stream."""
        servicer, target = scripted
        with EpisodeClient(config=_config(target, timeout_s=0.2)) as client, client.session() as session:
            with pytest.raises(MLOpsDebugError) as info:
                session.get_state("hang")
            assert info.value.code is StatusCode.DEADLINE_EXCEEDED
            assert not session.closed
            assert session.get_state("ep-2").state.episode_id == "ep-2"
            assert session.reconnects == 1

    def test_closed_session_refuses_requests(self, scripted) -> None:
        """After close() a request raises FAILED_PRECONDITION without touching the server."""
        servicer, target = scripted
        with EpisodeClient(config=_config(target)) as client:
            session = client.session()
            session.close()
            session.close()  # idempotent
            with pytest.raises(MLOpsDebugError) as info:
                session.get_state("ep-1")
            assert info.value.code is StatusCode.FAILED_PRECONDITION
        assert servicer.session_requests == []

    def test_concurrent_threads_get_their_own_answers(self, scripted) -> None:
        """Requests from several threads on one session are paired with their own responses."""
        _, target = scripted
        with EpisodeClient(config=_config(target)) as client, client.session() as session:
            results: dict[str, str] = {}

            def ask(name: str) -> None:
                for _ in range(20):
                    results[name] = session.get_state(name).state.episode_id
                    assert results[name] == name

            threads = [threading.Thread(target=ask, args=(f"ep-{i}",)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert results == {f"ep-{i}": f"ep-{i}" for i in range(4)}


class TestAsync:
    async def test_retries_and_rich_errors(self, scripted) -> None:
        """The aio client retries idempotent calls and raises typed errors with details."""
        servicer, target = scripted
        async with AsyncEpisodeClient(config=_config(target)) as client:
            servicer.outages = 2
            assert (await client.list_tasks()).tasks[0].max_steps == 20
            assert servicer.calls["ListTasks"] == 3
            servicer.outages = 1
            with pytest.raises(UnavailableError):
                await client.step("ep-1", actions.read_config())
            assert servicer.calls["Step"] == 1
            with pytest.raises(InvalidArgumentError) as info:
                await client.step("bad", actions.read_config())
            assert info.value.field_violations[0].field == "action.run_sanity_check.check"

    async def test_deadline(self, scripted) -> None:
        """An aio call slower than its deadline raises DEADLINE_EXCEEDED."""
        _, target = scripted
        async with AsyncEpisodeClient(config=_config(target)) as client:
            with pytest.raises(MLOpsDebugError) as info:
                await client.get_state("slow", timeout_s=0.2)
            assert info.value.code is StatusCode.DEADLINE_EXCEEDED

    async def test_session_pairs_and_keeps_going_after_in_band_errors(self, scripted) -> None:
        """The aio session pairs responses, raises in-band errors and stays usable."""
        servicer, target = scripted
        async with AsyncEpisodeClient(config=_config(target)) as client, client.session() as session:
            episode_id = (await session.reset("easy")).episode_id
            assert re.fullmatch("ep-[0-9a-f]{24}", episode_id)  # drawn by the client, so a reset can be re-sent
            assert (await session.step({"action_type": "read_config"})).observation.step_count == 1
            with pytest.raises(NotFoundError):
                await session.close_episode("missing")
            assert (await session.get_state()).state.episode_id == episode_id
        # The session closes the episode it reset as it closes (the service leaves it open at stream end).
        assert [r.request_id for r in servicer.session_requests] == ["1", "2", "3", "4", "5"]
        assert servicer.session_requests[0].reset.episode_id == episode_id
        assert servicer.session_requests[4].close.episode_id == episode_id
        assert servicer.session_ended.wait(5)

    async def test_session_stream_failure(self, scripted) -> None:
        """An aborted aio stream raises the server's status and later requests raise it again."""
        _, target = scripted
        async with AsyncEpisodeClient(config=_config(target)) as client, client.session() as session:
            with pytest.raises(ResourceExhaustedError) as info:
                await session.get_state("abort")
            assert info.value.reason == "AT_CAPACITY"
            with pytest.raises(ResourceExhaustedError):
                await session.get_state("ep-1")

    async def test_session_protocol_fault_and_timeout(self, scripted) -> None:
        """A misordered answer breaks the aio session for good; a late one raises DEADLINE_EXCEEDED
        and the next request goes over a new stream."""
        _, target = scripted
        async with AsyncEpisodeClient(config=_config(target, timeout_s=0.3)) as client:
            async with client.session() as session:
                with pytest.raises(MLOpsDebugError) as info:
                    await session.step(actions.read_config(), "misordered")
                assert info.value.reason == "SESSION_OUT_OF_ORDER" and session.closed
            async with client.session() as session:
                with pytest.raises(MLOpsDebugError) as info:
                    await session.get_state("hang")
                assert info.value.code is StatusCode.DEADLINE_EXCEEDED and not session.closed
                assert (await session.get_state("ep-4")).state.episode_id == "ep-4"
                assert session.reconnects == 1

    async def test_session_ended_by_server(self, scripted) -> None:
        """An aio stream the server keeps ending is reopened within `reconnect_s`, then UNAVAILABLE."""
        _, target = scripted
        config = _config(target, reconnect_s=0.3)
        async with AsyncEpisodeClient(config=config) as client, client.session() as session:
            with pytest.raises(UnavailableError):
                await session.get_state("end")
            assert session.reconnects >= 2 and not session.closed
