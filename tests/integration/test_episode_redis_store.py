"""The Redis episode store with real components: a redis-server process started on a free port, episode
replicas (real gRPC servers on port 0) sharing it, and one generator and grader behind them all.

The single-process reference is the cluster's own episode service (memory store) on the same generator,
so a scenario is the same on every replica and observations can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import time

import grpc
import pytest
import redis
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from redisserver import RedisServer

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_client.actions import as_action
from mlopsdebug_common.domain import Diagnosis, Grade, GradeComponent
from mlopsdebug_common.errors import Aborted
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import EpisodeConfig, EpisodeManager
from mlopsdebug_episode.redis_store import RedisEpisodeStore

SUBMISSION = {
    "action_type": "submit_diagnosis",
    "failure_category": "evaluation_bug",
    "root_cause_file": "eval_results.json",
    "root_cause_field": "metrics",
    "diagnosis": "the split metrics share a key",
    "proposed_fix": "write each split's metrics under its own key",
}
# Every kind of action, a repeated read (its penalty depends on what was read before), then a submission.
PLAY = (
    {"action_type": "read_config"},
    {"action_type": "read_logs", "log_filter": "epoch:1-2"},
    {"action_type": "read_config"},
    {"action_type": "run_sanity_check", "sanity_check_type": "data_leakage"},
    {"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "optimizer"},
    {"action_type": "check_dataset_stats"},
    {"action_type": "run_sanity_check", "sanity_check_type": "data_leakage"},
    {"action_type": "read_logs", "log_filter": "warning"},
    {"action_type": "read_eval_results"},
    SUBMISSION,
)


def token(name: str) -> tuple[tuple[str, str], ...]:
    return (("x-mlopsdebug-client-token", f"{name}-{secrets.token_hex(8)}"),)


class Replica:
    """Sync calls to one episode server, as one client (a client token, so every replica sees one owner)."""

    def __init__(self, port: int, metadata: tuple[tuple[str, str], ...]) -> None:
        self.port = port
        self.metadata = metadata
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = ep_grpc.EpisodeServiceStub(self._channel)

    def reset(self, episode_id: str, seed: int = 11, task: str = "easy", **fields) -> ep_pb.ResetResponse:
        request = ep_pb.ResetRequest(task_id=task, seed=seed, episode_id=episode_id, **fields)
        return self.stub.Reset(request, metadata=self.metadata, timeout=20)

    def step(self, episode_id: str, action: dict) -> ep_pb.StepResponse:
        request = ep_pb.StepRequest(episode_id=episode_id, action=as_action(action))
        return self.stub.Step(request, metadata=self.metadata, timeout=20)

    def state(self, episode_id: str) -> ep_pb.EpisodeStateInfo:
        return self.stub.GetState(ep_pb.GetStateRequest(episode_id=episode_id), metadata=self.metadata, timeout=20).state

    def close(self, episode_id: str) -> ep_pb.EpisodeStateInfo:
        request = ep_pb.CloseEpisodeRequest(episode_id=episode_id)
        return self.stub.CloseEpisode(request, metadata=self.metadata, timeout=20).state

    def as_client(self, metadata: tuple[tuple[str, str], ...]) -> Replica:
        return Replica(self.port, metadata)


def reason(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def wire(message) -> bytes:
    return message.SerializeToString(deterministic=True)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def durable_redis(tmp_path):
    """Redis that loses nothing it acknowledged (AOF, fsync on every write): it can be killed and restarted."""
    server = RedisServer(tmp_path, durable=True).start()
    yield server
    server.stop()


def replicas(cluster, url: str, metadata, n: int = 2, **overrides) -> list[Replica]:
    return [Replica(cluster.start_episode_replica(redis_url=url, **overrides), metadata) for _ in range(n)]


def reference_run(cluster, metadata, episode_id: str, seed: int) -> list[bytes]:
    """The play on one process with the memory store: reset, then every step's response on the wire."""
    memory = Replica(cluster.ports["episode"], metadata)
    return [wire(memory.reset(episode_id, seed))] + [wire(memory.step(episode_id, action)) for action in PLAY]


def test_any_replica_serves_any_step_and_the_play_is_identical_to_one_process(make_cluster, redis_server):
    """Reset on A, then steps alternating between A and B, then A stops and B plays on: every response is
    byte-identical to the same play on one process, and the final state agrees."""
    cluster = make_cluster()
    me = token("turns")
    expected = reference_run(cluster, me, "ep-turns", 11)
    a, b = replicas(cluster, redis_server.url, me)
    got = [wire(a.reset("ep-turns", 11))]
    for index, action in enumerate(PLAY):
        if index == 6:
            cluster.stop_episode_replica(a.port)  # mid-episode: A is gone, B holds nothing of it locally
        replica = b if index >= 6 or index % 2 else a
        got.append(wire(replica.step("ep-turns", action)))
    assert got == expected
    final = b.state("ep-turns")
    reference = Replica(cluster.ports["episode"], me).state("ep-turns")
    final.ClearField("created_at")
    reference.ClearField("created_at")
    assert wire(final) == wire(reference) and final.step_count == len(PLAY)


def test_concurrent_steps_from_two_replicas_apply_exactly_one_per_version(make_cluster, redis_server):
    """Many steps sent at once through both replicas: the applied ones hold distinct, consecutive step
    counts (no version advanced twice), every other one is ABORTED with EPISODE_CONFLICT, and the
    stored step count is the number applied."""
    cluster = make_cluster()
    me = token("race")
    a, b = replicas(cluster, redis_server.url, me)
    a.reset("ep-race", 3, task="hard")
    b.state("ep-race")  # both replicas hold the episode now

    def one(index: int):
        try:
            return (a, b)[index % 2].step("ep-race", {"action_type": "read_config"}).observation.step_count
        except grpc.RpcError as err:
            return err

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(one, range(32)))
    applied = sorted(o for o in outcomes if isinstance(o, int))
    refused = [o for o in outcomes if not isinstance(o, int)]
    assert applied == list(range(1, len(applied) + 1))
    assert all(err.code() == grpc.StatusCode.ABORTED and reason(err) == "EPISODE_CONFLICT" for err in refused)
    assert a.state("ep-race").step_count == b.state("ep-race").step_count == len(applied)


class _GatedGrader:
    """Holds every grade until released, so two replicas' submissions both compute before either commits."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = 0

    async def grade(self, key, diagnosis, *, task):
        self.waiting += 1
        await self.gate.wait()
        return Grade(0.5, 0.5, False, (GradeComponent("category", 0.15, 1.0, "ok"),), "test")


def test_two_replicas_racing_on_one_version_apply_one_step_and_refuse_the_other(redis_server):
    """Two episode cores, each with its own connection to the same Redis, both compute a submission on
    the same version: exactly one is applied; the other is refused (Aborted) and changes nothing, and a
    replay of that stale step is refused the same way."""
    from mlopsdebug_generator import core as generator

    sealer = Sealer(secrets.token_bytes(32))

    class Scenarios:
        async def get(self, task_id, seed, split="all"):
            return generator.generate_scenario(task_id, seed, sealer=sealer, salt=b"")

    async def race():
        config = EpisodeConfig()
        grader = _GatedGrader()
        stores = [RedisEpisodeStore.from_url(redis_server.url, config) for _ in range(2)]
        first, second = (EpisodeManager(Scenarios(), grader, config, store=store) for store in stores)
        try:
            episode = await first.reset("easy", 5, owner="o")
            await second.step(episode.episode_id, Action("read_config"), owner="o")
            submit = Action("submit_diagnosis", diagnosis=Diagnosis(
                "evaluation_bug", "eval_results.json", "metrics", "shared key", "separate keys"))
            racing = [asyncio.ensure_future(m.step(episode.episode_id, submit, owner="o")) for m in (first, second)]
            while grader.waiting < 2:
                await asyncio.sleep(0.01)
            grader.gate.set()
            outcomes = await asyncio.gather(*racing, return_exceptions=True)
            stored = await first.get(episode.episode_id, owner="o")
            stale = await second.get(episode.episode_id, owner="o")
            return outcomes, stored, stale
        finally:
            for store in stores:
                await store.close()

    outcomes, stored, stale = asyncio.run(race())
    applied = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(applied) == 1 and len(refused) == 1 and isinstance(refused[0], Aborted)
    assert refused[0].reason == "EPISODE_CONFLICT"
    assert (stored.step_count, stored.terminated, stored.version) == (2, True, 3)
    assert (stale.step_count, stale.version) == (2, 3)  # the loser's replica reads the winner's state


def test_idle_episodes_expire_by_ttl_and_give_back_their_quota(make_cluster, redis_server):
    """The idle timeout is the record's TTL, renewed by every write; an expired episode is NOT_FOUND
    everywhere and no longer counts against its owner's quota."""
    cluster = make_cluster()
    me = token("ttl")
    a, b = replicas(cluster, redis_server.url, me, idle_timeout_s=3.0, max_episodes_per_principal=1)
    a.reset("ep-idle", 1)
    client = redis.Redis.from_url(redis_server.url)
    [key] = client.keys("mlopsdebug:ep:*")
    time.sleep(0.5)
    aged = client.pttl(key)
    b.step("ep-idle", {"action_type": "read_config"})
    assert 0 < aged <= 2500 < client.pttl(key) <= 3000  # the write renewed the TTL
    with pytest.raises(grpc.RpcError) as quota:
        b.reset("ep-other", 2)
    assert quota.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(quota.value) == "EPISODE_QUOTA"
    deadline = time.monotonic() + 30
    while client.exists(key) and time.monotonic() < deadline:
        time.sleep(0.2)
    for replica in (a, b):
        with pytest.raises(grpc.RpcError) as gone:
            replica.state("ep-idle")
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    b.reset("ep-other", 2)  # the expired episode's quota slot is free again


def test_redis_down_is_unavailable_and_nothing_is_lost_or_changed(make_cluster, durable_redis):
    """With Redis killed every call is UNAVAILABLE; once it is back (AOF, fsync always: nothing
    acknowledged was lost) the episode is exactly where it was and the play goes on identically."""
    cluster = make_cluster()
    me = token("down")
    expected = reference_run(cluster, me, "ep-down", 13)
    a, b = replicas(cluster, durable_redis.url, me)
    got = [wire(a.reset("ep-down", 13))]
    got += [wire(a.step("ep-down", action)) for action in PLAY[:3]]
    durable_redis.stop()
    calls = [
        lambda: a.step("ep-down", PLAY[3]),
        lambda: b.step("ep-down", PLAY[3]),
        lambda: b.state("ep-down"),
        lambda: b.close("ep-down"),
        lambda: a.reset("ep-new", 1),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as down:
            call()
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE and reason(down.value) == "STORE_UNAVAILABLE"
    durable_redis.start()
    assert b.state("ep-down").step_count == 3
    got += [wire((a, b)[i % 2].step("ep-down", action)) for i, action in enumerate(PLAY[3:])]
    assert got == expected


def test_quotas_and_capacity_hold_across_replicas(make_cluster, redis_server):
    """Per-principal quota and overall capacity count running episodes in Redis, whichever replica
    started them; closing one on another replica frees its slot."""
    cluster = make_cluster()
    x, y, z = token("x"), token("y"), token("z")
    a, b = replicas(cluster, redis_server.url, x, max_episodes=3, max_episodes_per_principal=2)
    a.reset("ep-x1", 1)
    b.reset("ep-x2", 2)
    for replica in (a, b):
        with pytest.raises(grpc.RpcError) as quota:
            replica.reset("ep-x3", 3)
        assert quota.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(quota.value) == "EPISODE_QUOTA"
    b.as_client(y).reset("ep-y1", 4)
    with pytest.raises(grpc.RpcError) as full:
        a.as_client(z).reset("ep-z1", 5)
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(full.value) == "EPISODE_CAPACITY"
    b.close("ep-x1")  # started on A, closed on B
    a.as_client(z).reset("ep-z1", 5)
    with pytest.raises(grpc.RpcError) as taken:
        b.reset("ep-x2", 6)  # a client-chosen id is unique across replicas
    assert taken.value.code() == grpc.StatusCode.ALREADY_EXISTS


def sealed_play(replicas_in_turn: list[Replica], stop_first=None) -> tuple[list[bytes], ep_pb.EvaluationReport]:
    """A sealed evaluation played over the given replicas in turn (one replica: the reference): three
    episodes (one graded after every kind of action, one cut short, one never started), then the
    operator's report. Returns every reply the agent got, on the wire, and the report (id cleared)."""
    first = replicas_in_turn[0]
    me = first.metadata
    created = first.stub.CreateEvaluation(
        ep_pb.CreateEvaluationRequest(tasks=[ep_pb.EvaluationTask(task_id="easy", episodes=3)],
                                      scenario_stream_key=b"s" * 32),
        metadata=me, timeout=20,
    )  # fmt: skip
    turn = iter(range(10_000))

    def next_replica() -> Replica:
        index = next(turn)
        if stop_first is not None and index == 8:
            stop_first()  # mid-play: the replica that created the evaluation is gone
        alive = replicas_in_turn[1:] if stop_first is not None and index >= 8 else replicas_in_turn
        return alive[index % len(alive)]

    seen: list[bytes] = []
    for episode_id, actions in (("sealed-0", PLAY), ("sealed-1", PLAY[:2])):
        reset = next_replica().stub.Reset(
            ep_pb.ResetRequest(task_id="easy", episode_id=episode_id, evaluation_id=created.evaluation_id),
            metadata=me, timeout=20,
        )  # fmt: skip
        assert reset.seed == 0 and reset.sealed  # the agent never learns its scenario
        seen.append(wire(reset.observation))
        for action in actions:
            seen.append(wire(next_replica().step(episode_id, action)))
        state = next_replica().state(episode_id)
        assert state.sealed and state.seed == 0 and not state.scenario_id
    progress = next_replica().stub.GetEvaluation(
        ep_pb.GetEvaluationRequest(evaluation_id=created.evaluation_id), metadata=me, timeout=20
    ).progress
    assert [(t.started, t.ended) for t in progress.tasks] == [(2, 1)]
    report = next_replica().stub.CloseEvaluation(
        ep_pb.CloseEvaluationRequest(evaluation_id=created.evaluation_id, operator_token=created.operator_token),
        metadata=me, timeout=20,
    ).report
    report.evaluation_id = ""
    return seen, report


def test_any_replica_serves_any_call_of_a_sealed_evaluation(make_cluster, redis_server):
    """Create on A; resets, steps, progress and close spread over A, B and C, and A stopped mid-play: the
    agent's replies and the operator's report are byte-identical to the same play on one process, and
    no reply showed a seed or scenario id. Then every replica refuses the closed evaluation."""
    cluster = make_cluster()
    me = token("sealed")
    expected_seen, expected_report = sealed_play([Replica(cluster.ports["episode"], me)])
    a, b, c = replicas(cluster, redis_server.url, me, n=3)
    seen, report = sealed_play([a, b, c], stop_first=lambda: cluster.stop_episode_replica(a.port))
    assert seen == expected_seen
    assert wire(report) == wire(expected_report)
    assert [e.status for e in report.episodes] == [
        ep_pb.EVALUATION_EPISODE_STATUS_GRADED, ep_pb.EVALUATION_EPISODE_STATUS_UNFINISHED,
        ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED,
    ]  # fmt: skip
    assert len(report.episodes[0].grade.components) > 0 and report.episodes[0].seed != 0
    for replica in (b, c):
        with pytest.raises(grpc.RpcError) as closed:
            replica.step("sealed-1", {"action_type": "read_config"})
        assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason(closed.value) == "EVALUATION_CLOSED"


def test_a_sealed_evaluation_survives_redis_going_down_and_a_replica_going(make_cluster, durable_redis):
    """Redis killed mid-evaluation: the evaluation's calls are UNAVAILABLE and change nothing; once it is
    back (AOF, fsync always) another replica continues the play and the report has every step."""
    cluster = make_cluster()
    me = token("sealed-down")
    a, b = replicas(cluster, durable_redis.url, me)
    created = a.stub.CreateEvaluation(
        ep_pb.CreateEvaluationRequest(tasks=[ep_pb.EvaluationTask(task_id="easy", episodes=2)]), metadata=me, timeout=20
    )
    b.stub.Reset(ep_pb.ResetRequest(task_id="easy", episode_id="s", evaluation_id=created.evaluation_id),
                 metadata=me, timeout=20)  # fmt: skip
    a.step("s", PLAY[0])
    durable_redis.stop()
    calls = [
        lambda: b.step("s", PLAY[1]),
        lambda: a.stub.Reset(ep_pb.ResetRequest(task_id="easy", evaluation_id=created.evaluation_id),
                             metadata=me, timeout=20),  # fmt: skip
        lambda: b.stub.GetEvaluation(ep_pb.GetEvaluationRequest(evaluation_id=created.evaluation_id),
                                     metadata=me, timeout=20),  # fmt: skip
        lambda: a.stub.CreateEvaluation(
            ep_pb.CreateEvaluationRequest(tasks=[ep_pb.EvaluationTask(task_id="easy", episodes=1)]), metadata=me, timeout=20
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as down:
            call()
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE and reason(down.value) == "STORE_UNAVAILABLE"
    durable_redis.start()
    cluster.stop_episode_replica(a.port)
    for action in PLAY[1:]:
        b.step("s", action)
    report = b.stub.CloseEvaluation(
        ep_pb.CloseEvaluationRequest(evaluation_id=created.evaluation_id, operator_token=created.operator_token),
        metadata=me, timeout=20,
    ).report
    assert [(e.episode_id, e.status, e.step_count) for e in report.episodes] == [
        ("s", ep_pb.EVALUATION_EPISODE_STATUS_GRADED, len(PLAY)), ("", ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED, 0),
    ]  # fmt: skip


def test_a_session_stream_and_unary_calls_on_another_replica_share_one_episode(make_cluster, redis_server):
    """The Python client's Session on A and unary steps on B interleave on one episode, each replica
    seeing the other's steps, and the responses are byte-identical to one process's; ending the
    session (resumable: the client closes its episodes) closes it for every replica."""
    from mlopsdebug_client import ClientConfig, EpisodeClient

    cluster = make_cluster()
    me = token("session")
    expected = reference_run(cluster, me, "ep-session", 17)
    a, b = replicas(cluster, redis_server.url, me)
    config = ClientConfig(client_token=me[0][1])
    with EpisodeClient(f"127.0.0.1:{a.port}", config=config) as client:
        session = client.session()
        got = [wire(session.reset("easy", 17, "ep-session"))]
        for index, action in enumerate(PLAY):
            got.append(wire(session.step(action) if index % 2 == 0 else b.step("ep-session", action)))
        assert got == expected
        session.close()
    with pytest.raises(grpc.RpcError) as closed:
        b.state("ep-session")
    assert closed.value.code() == grpc.StatusCode.NOT_FOUND


def test_step_batches_on_a_replica_that_started_none_of_the_episodes_match_one_process(make_cluster, redis_server):
    """StepBatch on B over episodes reset on A (its items go to Redis together): every result, errors
    included, is byte-identical to the same batches on one process."""
    cluster = make_cluster()
    me = token("batch")
    memory = Replica(cluster.ports["episode"], me)
    a, b = replicas(cluster, redis_server.url, me)
    ids = [f"ep-batch-{seed}" for seed in (31, 32, 33, 34)]

    def play(starter: Replica, stepper: Replica) -> list[bytes]:
        out = [wire(starter.reset(episode_id, 31 + k)) for k, episode_id in enumerate(ids)]
        for action in PLAY:
            steps = [ep_pb.StepRequest(episode_id=episode_id, action=as_action(action)) for episode_id in ids]
            steps.append(ep_pb.StepRequest(episode_id="ep-never-started", action=as_action(PLAY[0])))
            response = stepper.stub.StepBatch(ep_pb.StepBatchRequest(steps=steps), metadata=me, timeout=20)
            out.append(wire(response))
        return out

    assert play(a, b) == play(memory, memory)


def test_scripts_that_redis_forgot_are_loaded_again_even_inside_a_pipeline(make_cluster, redis_server):
    """After SCRIPT FLUSH (as after a Redis restart) a batch's pipelined scripts come back NOSCRIPT,
    unrun; each then runs on its own and the batch succeeds."""
    cluster = make_cluster()
    me = token("noscript")
    [a] = replicas(cluster, redis_server.url, me, n=1)
    ids = [f"ep-noscript-{k}" for k in range(4)]
    for k, episode_id in enumerate(ids):
        a.reset(episode_id, 40 + k)
    redis.Redis.from_url(redis_server.url).script_flush()
    steps = [ep_pb.StepRequest(episode_id=episode_id, action=as_action(PLAY[0])) for episode_id in ids]
    response = a.stub.StepBatch(ep_pb.StepBatchRequest(steps=steps), metadata=me, timeout=20)
    assert [result.WhichOneof("result") for result in response.results] == ["step"] * len(ids)
    assert all(result.step.observation.step_count == 1 for result in response.results)
