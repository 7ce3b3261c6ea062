"""Every RPC of the generator, grader and episode services under hostile input, over real sockets.

Properties: a call ends with OK or a domain status (never UNKNOWN, INTERNAL or anything else); per-item
and in-band errors (StepBatch, Session) likewise; a failed call leaves the episode it named unchanged;
every server is SERVING and answers normally after the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from fuzz.budget import examples
from fuzz.strategies import (
    EPISODE_IDS,
    generate_requests,
    grade_requests,
    raw_messages,
    reset_requests,
    session_requests,
    step_batches,
    step_requests,
)
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import example, given
from hypothesis import strategies as st

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as gen_grpc
from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc
from mlopsdebug_common.rpc import MAX_MESSAGE_BYTES
from mlopsdebug_common.tasks import TASK_IDS

DOMAIN_CODES = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
})
DOMAIN_STATUS_NUMBERS = frozenset(code.value[0] for code in DOMAIN_CODES)
TIMEOUT_S = 30.0

RPCS = {
    "generator": ["/mlopsdebug.generator.v1.GeneratorService/GenerateScenario",
                  "/mlopsdebug.generator.v1.GeneratorService/ListTasks"],
    "grader": ["/mlopsdebug.grader.v1.GraderService/Grade"],
    "episode": [f"/mlopsdebug.episode.v1.EpisodeService/{name}"
                for name in ("ListTasks", "Reset", "Step", "StepBatch", "GetState", "CloseEpisode")],
}
SESSION = "/mlopsdebug.episode.v1.EpisodeService/Session"


@pytest.fixture(scope="module")
def channels(fuzz_cluster) -> Iterator[dict[str, grpc.Channel]]:
    opened = {name: grpc.insecure_channel(fuzz_cluster.address(name)) for name in ("generator", "grader", "episode")}
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="module")
def episode(channels) -> ep_grpc.EpisodeServiceStub:
    return ep_grpc.EpisodeServiceStub(channels["episode"])


def call(method, request):
    """(status code, response or None); asserts the code is OK or a domain status."""
    try:
        response = method(request, timeout=TIMEOUT_S)
    except grpc.RpcError as error:
        assert error.code() in DOMAIN_CODES, f"{error.code()} {error.details()!r} for {request!r:.300}"
        return error.code(), None
    return grpc.StatusCode.OK, response


def assert_domain_status(status) -> None:
    assert status.code in DOMAIN_STATUS_NUMBERS, f"{code_pb2.Code.Name(status.code)} {status.message!r}"


class Witnesses:
    """Episodes that exist while the fuzzer runs: their recorded state must change only by calls that succeed."""

    def __init__(self, stub: ep_grpc.EpisodeServiceStub) -> None:
        self.stub = stub
        self.ids = []
        for index, task_id in enumerate(("easy", "medium", "hard")):
            response = stub.Reset(ep_pb.ResetRequest(task_id=task_id, seed=100 + index), timeout=TIMEOUT_S)
            stub.Step(ep_pb.StepRequest(episode_id=response.episode_id,
                                        action=pb.Action(read_config=pb.ReadConfig())), timeout=TIMEOUT_S)
            self.ids.append(response.episode_id)

    def snapshot(self) -> dict[str, bytes]:
        return {
            episode_id: self.stub.GetState(ep_pb.GetStateRequest(episode_id=episode_id),
                                           timeout=TIMEOUT_S).state.SerializeToString(deterministic=True)
            for episode_id in self.ids
        }

    def strategy(self) -> st.SearchStrategy[str]:
        return st.one_of(st.sampled_from(self.ids), EPISODE_IDS)

    def close(self) -> None:
        for episode_id in self.ids:
            try:
                self.stub.CloseEpisode(ep_pb.CloseEpisodeRequest(episode_id=episode_id), timeout=TIMEOUT_S)
            except grpc.RpcError:
                pass


@pytest.fixture(scope="module")
def witnesses(episode) -> Iterator[Witnesses]:
    made = Witnesses(episode)
    yield made
    made.close()


# -- generator --


@examples(40)
@given(request=generate_requests())
@example(request=gen_pb.GenerateScenarioRequest(task_id="easy", seed=-(2**63)))
@example(request=gen_pb.GenerateScenarioRequest(task_id="hard", seed=2**53))
def test_generate_scenario(channels, request):
    stub = gen_grpc.GeneratorServiceStub(channels["generator"])
    code, response = call(stub.GenerateScenario, request)
    if code == grpc.StatusCode.OK:
        assert response.scenario.task_id == request.task_id and response.scenario.seed == request.seed


def test_generator_list_tasks(channels):
    code, response = call(gen_grpc.GeneratorServiceStub(channels["generator"]).ListTasks, gen_pb.ListTasksRequest())
    assert code == grpc.StatusCode.OK and [t.task_id for t in response.tasks] == list(TASK_IDS)


# -- grader --


@pytest.fixture(scope="module")
def real_keys(channels) -> list[pb.SealedAnswerKey]:
    stub = gen_grpc.GeneratorServiceStub(channels["generator"])
    return [stub.GenerateScenario(gen_pb.GenerateScenarioRequest(task_id=task_id, seed=5),
                                  timeout=TIMEOUT_S).scenario.answer_key for task_id in ("easy", "medium", "hard")]


def test_grade(channels, real_keys):
    stub = grader_grpc.GraderServiceStub(channels["grader"])

    @examples(60)
    @given(request=grade_requests(real_keys))
    def check(request: grader_pb.GradeRequest) -> None:
        code, response = call(stub.Grade, request)
        if code == grpc.StatusCode.OK:
            assert 0.0 <= response.grade.score <= 1.0

    check()


# -- episode, unary --


@examples(40)
@given(request=reset_requests())
def test_reset(episode, request):
    code, response = call(episode.Reset, request)
    if code == grpc.StatusCode.OK:
        call(episode.CloseEpisode, ep_pb.CloseEpisodeRequest(episode_id=response.episode_id))


def test_episode_list_tasks(episode):
    code, response = call(episode.ListTasks, ep_pb.ListTasksRequest())
    assert code == grpc.StatusCode.OK and len(response.tasks) == len(TASK_IDS)


def test_step_get_state_close(episode, witnesses):
    """Steps, states and closes on live and unknown episodes; a failed step leaves its episode unchanged."""

    @examples(120)
    @given(request=step_requests(witnesses.strategy()), probe=st.sampled_from(["step", "state", "close"]))
    def check(request: ep_pb.StepRequest, probe: str) -> None:
        before = witnesses.snapshot()
        if probe == "state":
            call(episode.GetState, ep_pb.GetStateRequest(episode_id=request.episode_id))
            assert witnesses.snapshot() == before
            return
        if probe == "close":
            if request.episode_id in witnesses.ids:
                return  # closing a witness would succeed, and legitimately end it
            code, _ = call(episode.CloseEpisode, ep_pb.CloseEpisodeRequest(episode_id=request.episode_id))
            assert witnesses.snapshot() == before
            return
        code, _ = call(episode.Step, request)
        after = witnesses.snapshot()
        for episode_id in witnesses.ids:
            if code != grpc.StatusCode.OK or episode_id != request.episode_id:
                assert after[episode_id] == before[episode_id], f"a failed or foreign step changed {episode_id}"

    check()


def test_step_batch(episode, witnesses):
    """Batches with bad items: each item fails alone (a domain status) and a failed item changes nothing."""

    @examples(60)
    @given(request=step_batches(witnesses.strategy()))
    def check(request: ep_pb.StepBatchRequest) -> None:
        before = witnesses.snapshot()
        code, response = call(episode.StepBatch, request)
        after = witnesses.snapshot()
        changed_ok: set[str] = set()
        if code == grpc.StatusCode.OK:
            assert len(response.results) == len(request.steps)
            for item, result in zip(request.steps, response.results, strict=True):
                if result.WhichOneof("result") == "error":
                    assert_domain_status(result.error)
                else:
                    changed_ok.add(item.episode_id)
        for episode_id in witnesses.ids:
            if episode_id not in changed_ok:
                assert after[episode_id] == before[episode_id], f"a failed batch item changed {episode_id}"

    check()


# -- episode, Session stream --


def test_session_streams_with_junk(episode, witnesses):
    """Streams of mixed valid and junk requests: one response per request, in-band errors are domain
    statuses, the stream itself ends OK, and no witness changes unless a request on it succeeded."""

    @examples(50)
    @given(requests=st.lists(session_requests(witnesses.strategy()), min_size=1, max_size=8))
    @example(requests=[ep_pb.SessionRequest(step_batch=ep_pb.StepBatchRequest(
        steps=[ep_pb.StepRequest(episode_id="a" * 70_000)] * 60))])  # over 4 MiB: ends the stream, allowed
    def check(requests: list[ep_pb.SessionRequest]) -> None:
        before = witnesses.snapshot()
        try:
            responses = list(episode.Session(iter(requests), timeout=TIMEOUT_S))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and any(
                r.ByteSize() > MAX_MESSAGE_BYTES for r in requests
            ):
                return  # the transport's documented 4 MiB message cap ends the stream
            pytest.fail(f"the stream failed with {error.code()} {error.details()!r}")
        assert len(responses) == len(requests)
        touched: set[str] = set()
        for request, response in zip(requests, responses, strict=True):
            kind = response.WhichOneof("response")
            if kind == "error":
                assert_domain_status(response.error)
            elif kind == "step_batch":
                for item, result in zip(request.step_batch.steps, response.step_batch.results, strict=True):
                    if result.WhichOneof("result") == "error":
                        assert_domain_status(result.error)
                    else:
                        touched.add(item.episode_id)
            elif kind in ("step", "close"):
                touched.add(getattr(request, kind).episode_id)
        after = witnesses.snapshot() if set(witnesses.ids) - touched else {}
        for episode_id in set(witnesses.ids) - touched:
            assert after[episode_id] == before[episode_id], f"a failed stream request changed {episode_id}"
        witnesses.ids[:] = [i for i in witnesses.ids if i not in touched or _alive(episode, i)]
        if not witnesses.ids:
            witnesses.__init__(episode)  # every witness was closed by the stream: start new ones

    check()


def _alive(stub: ep_grpc.EpisodeServiceStub, episode_id: str) -> bool:
    try:
        stub.GetState(ep_pb.GetStateRequest(episode_id=episode_id), timeout=TIMEOUT_S)
    except grpc.RpcError:
        return False
    return True


# -- undecodable bytes --


def _raw_unary(channel: grpc.Channel, method: str):
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


@pytest.mark.parametrize("service,method", [(s, m) for s, methods in RPCS.items() for m in methods])
def test_undecodable_requests_are_invalid_argument(channels, service, method):
    """Raw request bytes on every unary RPC: decodable ones are handled, undecodable ones INVALID_ARGUMENT."""
    stub = _raw_unary(channels[service], method)

    @examples(15)
    @given(payload=raw_messages())
    def check(payload: bytes) -> None:
        try:
            stub(payload, timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            assert error.code() in DOMAIN_CODES, f"{error.code()} for {payload!r:.80}"

    check()


def test_undecodable_session_messages_are_invalid_argument(channels):
    stream = channels["episode"].stream_stream(SESSION, request_serializer=None, response_deserializer=None)

    @examples(15)
    @given(payloads=st.lists(raw_messages(), min_size=1, max_size=4))
    def check(payloads: list[bytes]) -> None:
        try:
            list(stream(iter(payloads), timeout=TIMEOUT_S))
        except grpc.RpcError as error:
            assert error.code() in DOMAIN_CODES, f"{error.code()} for {payloads!r:.80}"

    check()


def test_raw_junk_never_takes_a_server_down(channels):
    """Undecodable bytes never take a server down: every server keeps serving."""
    for service, methods in RPCS.items():
        for method in methods:
            for payload in (b"\x0f", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x02\xff\xfe", bytes(range(256))):
                try:
                    _raw_unary(channels[service], method)(payload, timeout=TIMEOUT_S)
                except grpc.RpcError as error:
                    assert error.code() != grpc.StatusCode.UNAVAILABLE
    stream = channels["episode"].stream_stream(SESSION, request_serializer=None, response_deserializer=None)
    try:
        list(stream(iter([b"\x0f", bytes(range(256))]), timeout=TIMEOUT_S))
    except grpc.RpcError as error:
        assert error.code() != grpc.StatusCode.UNAVAILABLE
    assert_all_serving(channels)


def assert_all_serving(channels: dict[str, grpc.Channel]) -> None:
    for name, channel in channels.items():
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S).status
        assert status == health_pb2.HealthCheckResponse.SERVING, name


def test_zz_servers_healthy_after_the_run(channels, episode):
    """Runs last in this module: all three servers serve, and a normal episode plays."""
    assert_all_serving(channels)
    reset = episode.Reset(ep_pb.ResetRequest(task_id="medium", seed=3), timeout=TIMEOUT_S)
    step = episode.Step(ep_pb.StepRequest(episode_id=reset.episode_id, action=pb.Action(read_config=pb.ReadConfig())),
                        timeout=TIMEOUT_S)
    assert step.observation.step_count == 1
    episode.CloseEpisode(ep_pb.CloseEpisodeRequest(episode_id=reset.episode_id), timeout=TIMEOUT_S)
