"""The scaled cluster under load and faults, real processes: Redis, Envoy (ring hash on `x-episode-id`)
and three episode replicas (LocalCluster with `episodes=3`), a generator and a grader.

- 300 episodes in progress at once (unary calls and Session streams) while one replica is killed with
  SIGKILL: none is lost, and each plays exactly like an undisturbed run of the same seeds.
- Two replicas, called directly, race to step one episode: one step is applied, the other is ABORTED.
- The Redis process stops: calls are UNAVAILABLE and change nothing; Redis restarts on the same data
  (AOF) and the same calls succeed at once (none refused), the episode going on as if nothing happened.

The tests run in this order on one cluster (the last one kills a replica).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import hashlib
import os
import pathlib
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import (
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeClient,
    MLOpsDebugError,
    NotFoundError,
    ResponseLostError,
    StatusCode,
    actions,
)
from mlopsdebug_client.actions import as_action

pytestmark = pytest.mark.cluster
PATIENCE_S = 90.0  # generous: a deadline under load, never a speed assertion
PLAY = [actions.read_config(), actions.read_logs("epoch:1-2"), actions.check_dataset_stats()]
VERDICT = actions.submit_diagnosis("config_error", "config.yaml", "optimizer.lr", "too high", "lower it")
EPISODES = 300
SESSIONS, PER_SESSION = 20, 5  # 100 episodes on Session streams, the other 200 on unary calls
CONCURRENCY = 32  # calls in flight at once
T = TypeVar("T")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    """Nothing restarts a killed process (restart=None): the two survivors carry every episode."""
    options = ClusterOptions.ephemeral(
        episodes=3, services=("generator", "grader", "episode"), public=True, restart=None,
        log_dir=str(tmp_path_factory.mktemp("replicas")),
        extra_env={"MLOPSDEBUG_MAX_EPISODES_PER_PRINCIPAL": "1000", "MLOPSDEBUG_LOG_LEVEL": "warning"},
    )  # fmt: skip
    with LocalCluster(options) as running:
        yield running


def replica_address(cluster: LocalCluster, index: int) -> str:
    return f"{cluster.options.host}:{cluster.replica_ports['episode'][index]}"


def reason(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def wire(message) -> bytes:
    return message.SerializeToString(deterministic=True)


def test_two_replicas_racing_on_one_episode_apply_one_step_and_abort_the_other(cluster):
    """Both replicas get a step of the same episode at the same moment, round after round. When both
    computed on the same version, exactly one is applied and the other is ABORTED (EPISODE_CONFLICT, a
    message naming the step it lost to); the episode's step count is exactly the number applied.
    Rounds go on (new episodes when one runs out of steps) until such a conflict has happened."""
    metadata = (("x-mlopsdebug-client-token", "race-through-processes"),)
    channels = [grpc.insecure_channel(replica_address(cluster, index)) for index in (0, 1)]
    stubs = [ep_grpc.EpisodeServiceStub(channel) for channel in channels]
    step = ep_pb.StepRequest(action=as_action(actions.read_config()))
    conflicts: list[grpc.RpcError] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for attempt in range(40):
                episode_id = f"ep-race-{attempt}"
                reset = stubs[0].Reset(ep_pb.ResetRequest(task_id="hard", seed=attempt, episode_id=episode_id),
                                       metadata=metadata, timeout=PATIENCE_S)  # fmt: skip
                stubs[1].GetState(
                    ep_pb.GetStateRequest(episode_id=episode_id), metadata=metadata, timeout=PATIENCE_S
                )
                applied: list[int] = []
                for _ in range(reset.observation.max_steps // 2 - 1):
                    barrier = threading.Barrier(2)
                    request = ep_pb.StepRequest(episode_id=episode_id, action=step.action)
                    outcomes = list(pool.map(lambda stub: race(stub, barrier, request, metadata), stubs))  # noqa: B023
                    counts = sorted(o for o in outcomes if isinstance(o, int))
                    refused = [o for o in outcomes if not isinstance(o, int)]
                    assert counts == list(range(len(applied) + 1, len(applied) + 1 + len(counts))), outcomes
                    applied += counts
                    for err in refused:
                        assert err.code() == grpc.StatusCode.ABORTED and reason(err) == "EPISODE_CONFLICT", (
                            err
                        )
                        assert "was advanced by another call" in (err.details() or "")
                        assert "this step was not applied" in (err.details() or "")
                    if refused:
                        assert len(counts) == 1  # a round of two: one applied, one refused
                        conflicts += refused
                    for stub in stubs:
                        state = stub.GetState(
                            ep_pb.GetStateRequest(episode_id=episode_id),
                            metadata=metadata,
                            timeout=PATIENCE_S,
                        )
                        assert state.state.step_count == len(applied)
                stubs[0].CloseEpisode(
                    ep_pb.CloseEpisodeRequest(episode_id=episode_id), metadata=metadata, timeout=PATIENCE_S
                )
                if conflicts:
                    break
    finally:
        for channel in channels:
            channel.close()
    assert conflicts, "40 episodes of simultaneous steps and the two replicas never computed on one version"


def test_redis_stopping_makes_calls_unavailable_and_its_restart_resumes_the_episode(cluster):
    """Redis (AOF) stopped under a running scaled cluster: every call, through Envoy or direct to a
    replica, is UNAVAILABLE and changes nothing; Redis restarted on the same data directory, the same
    calls succeed and the episode plays on exactly like an undisturbed one of the same seed."""
    config = ClientConfig(client_token="redis-stops", max_retries=0)
    envoy = cluster.address("episode")
    with EpisodeClient(envoy, config=config) as client:
        twin = client.reset("easy", 41, "ep-redis-twin").episode_id
        expected = [wire(client.step(twin, action).observation) for action in [*PLAY, VERDICT]]
        expected_state = client.get_state(twin).state
        episode_id = client.reset("easy", 41, "ep-redis-stops").episode_id
        got = [wire(client.step(episode_id, action).observation) for action in PLAY[:2]]
        [redis_name] = cluster.process_names("redis")
        cluster.stop_process(redis_name)
        with EpisodeClient(replica_address(cluster, 0), config=config) as direct:
            calls: list[Callable[[], object]] = [
                lambda: client.step(episode_id, PLAY[2]),
                lambda: client.get_state(episode_id),
                lambda: client.reset("easy", 42, "ep-redis-new"),
                lambda: direct.step(episode_id, PLAY[2]),
                lambda: direct.get_state(episode_id),
                lambda: direct.close_episode(episode_id),
            ]
            for call in calls:
                with pytest.raises(MLOpsDebugError) as down:
                    call()
                assert down.value.code == StatusCode.UNAVAILABLE, down.value
            # Direct to a replica the reason says which part is down.
            with pytest.raises(MLOpsDebugError) as direct_down:
                direct.get_state(episode_id)
            assert direct_down.value.reason == "STORE_UNAVAILABLE", direct_down.value
            cluster.start_service("redis")
            # The same calls again, writes first. A replica's connections died with the old Redis: the
            # store replaces them, and a write that still meets one is sent again on a new connection
            # (its token makes that safe), so no call is refused; the identical play below proves each
            # step was applied once.
            refusals: list[int] = []
            got.append(wire(until_back(lambda: direct.step(episode_id, PLAY[2]), refusals).observation))
        got.append(wire(until_back(lambda: client.step(episode_id, VERDICT), refusals).observation))
        state = until_back(lambda: client.get_state(episode_id), refusals).state
        # Refused while Redis was down, so the id is still free.
        until_back(lambda: client.reset("easy", 42, "ep-redis-new"), refusals)
        for done in (twin, episode_id, "ep-redis-new"):
            until_back(lambda: client.close_episode(done), refusals)  # noqa: B023 - called at once
        # Every replica, including those no call reached while Redis was down (they still held
        # connections to the old Redis): no call is refused.
        for index in range(3):
            with EpisodeClient(replica_address(cluster, index), config=config) as replica:
                fresh = f"ep-redis-after-{index}"
                until_back(lambda: replica.reset("easy", 43, fresh), refusals)  # noqa: B023
                assert replica.step(fresh, PLAY[0]).observation.step_count == 1
                replica.close_episode(fresh)
                with pytest.raises(NotFoundError):
                    replica.get_state(episode_id)  # closed through Envoy, gone for every replica
        assert refusals == [0] * len(refusals), refusals  # no call refused once Redis is back
    assert got == expected
    assert (state.step_count, state.cumulative_reward, wire(state.grade)) == (
        expected_state.step_count, expected_state.cumulative_reward, wire(expected_state.grade),
    )  # fmt: skip


def until_back(call: Callable[[], T], refusals: list[int]) -> T:
    """The call's result once Redis is back: asked again while refused STORE_UNAVAILABLE; appends to
    `refusals` how many times it was."""
    refused = 0
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            result = call()
        except MLOpsDebugError as exc:
            if exc.reason != "STORE_UNAVAILABLE" or time.monotonic() > deadline:
                raise
            refused += 1
            time.sleep(0.2)
            continue
        refusals.append(refused)
        return result


def race(
    stub: ep_grpc.EpisodeServiceStub, barrier: threading.Barrier, request, metadata
) -> int | grpc.RpcError:
    """One racer: waits for the other at the barrier, then steps; the step count, or the refusal."""
    barrier.wait()
    try:
        return stub.Step(request, metadata=metadata, timeout=PATIENCE_S).observation.step_count
    except grpc.RpcError as err:
        return err


def eventually(call: Callable[[], T]) -> T:
    """The call's result once it stops failing with UNAVAILABLE (a process coming back)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return call()
        except MLOpsDebugError as exc:
            if exc.code != StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclasses.dataclass
class Played:
    """One episode as its client saw it: a digest per observation (None: applied, answer lost with the
    killed replica) and its final state's score."""

    seed: int
    digests: list[str | None] = dataclasses.field(default_factory=list)
    final: tuple[int, float, bytes] = (0, 0.0, b"")


def digest(message) -> str:
    return hashlib.sha256(wire(message)).hexdigest()


def breaks(exc: MLOpsDebugError) -> bool:
    """A failure a killed replica causes (as the client's Session treats it): the call may be asked again."""
    return exc.code == StatusCode.UNAVAILABLE or (
        exc.code in (StatusCode.CANCELLED, StatusCode.INTERNAL) and not exc.domain
    )


async def until_reachable(call: Callable[[], Awaitable[T]]) -> T:
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return await call()
        except MLOpsDebugError as exc:
            if not breaks(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def unary_step(
    client: AsyncEpisodeClient, episode_id: str, action, known_count: int
) -> ep_pb.StepResponse | None:
    """A step that survives its replica's death like a Session's does: asked again only if the
    episode's step count shows it was not applied; None when it was applied and its answer lost."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return await client.step(episode_id, action)
        except MLOpsDebugError as exc:
            if not breaks(exc) or time.monotonic() > deadline:
                raise
        count = (await until_reachable(lambda: client.get_state(episode_id))).state.step_count
        if count == known_count + 1:
            return None
        assert count == known_count, f"{episode_id} at step {count}, expected {known_count}"
        await asyncio.sleep(0.1)


async def play_all(
    address: str, label: str, kill: Callable[[], None] | None
) -> tuple[dict[str, Played], int]:
    """300 episodes at once: each reset (all before any goes on), then PLAY and VERDICT, `CONCURRENCY`
    calls in flight at most. With `kill`, it is called once a third of the steps are done. Returns the
    episodes and how many times the Session streams were reopened."""
    config = ClientConfig(client_token=f"load-{label}")
    played = {f"ep-{label}-{index:03d}": Played(seed=1000 + index) for index in range(EPISODES)}
    ids = list(played)
    unary_ids, session_ids = (
        ids[: EPISODES - SESSIONS * PER_SESSION],
        ids[EPISODES - SESSIONS * PER_SESSION :],
    )
    gate = asyncio.Semaphore(CONCURRENCY)
    all_reset = asyncio.Event()
    reset_count = 0
    steps_done = 0
    kill_at = EPISODES * (len(PLAY) + 1) // 3

    async def limited(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    def count_reset() -> None:
        nonlocal reset_count
        reset_count += 1
        if reset_count == EPISODES:
            all_reset.set()

    def count_step() -> None:
        nonlocal steps_done
        steps_done += 1
        if kill is not None and steps_done == kill_at:
            kill()

    async def unary_episode(client: AsyncEpisodeClient, episode_id: str) -> None:
        episode = played[episode_id]
        reset = await limited(lambda: client.reset("easy", episode.seed, episode_id))
        episode.digests.append(digest(reset.observation))
        count_reset()
        await all_reset.wait()
        for count, action in enumerate([*PLAY, VERDICT]):
            response = await limited(lambda: unary_step(client, episode_id, action, count))  # noqa: B023 - awaited at once
            episode.digests.append(None if response is None else digest(response.observation))
            count_step()

    reconnects = 0

    async def session_episodes(client: AsyncEpisodeClient, episode_ids: list[str]) -> None:
        nonlocal reconnects
        async with client.session() as session:
            for episode_id in episode_ids:
                reset = await limited(lambda: session.reset("easy", played[episode_id].seed, episode_id))  # noqa: B023
                played[episode_id].digests.append(digest(reset.observation))
                count_reset()
            await all_reset.wait()
            for action in [*PLAY, VERDICT]:
                for episode_id in episode_ids:
                    try:
                        response = await limited(lambda: session.step(action, episode_id))  # noqa: B023
                        played[episode_id].digests.append(digest(response.observation))
                    except ResponseLostError as lost:
                        assert lost.applied, lost  # the session knew the step count: it can tell
                        played[episode_id].digests.append(None)
                    count_step()
            for episode_id in episode_ids:  # read before the session ends: ending it closes its episodes
                state = (await limited(lambda: session.get_state(episode_id))).state  # noqa: B023
                played[episode_id].final = (state.step_count, state.cumulative_reward, wire(state.grade))
            reconnects += session.reconnects

    async with AsyncEpisodeClient(address, config=config) as client:
        groups = [session_ids[k * PER_SESSION : (k + 1) * PER_SESSION] for k in range(SESSIONS)]
        await asyncio.gather(
            *(unary_episode(client, episode_id) for episode_id in unary_ids),
            *(session_episodes(client, group) for group in groups),
        )
        for episode_id in unary_ids:
            state = (await limited(lambda: until_reachable(lambda: client.get_state(episode_id)))).state  # noqa: B023
            played[episode_id].final = (state.step_count, state.cumulative_reward, wire(state.grade))
            await limited(lambda: until_reachable(lambda: client.close_episode(episode_id)))  # noqa: B023
    return played, reconnects


def served_by(cluster: LocalCluster, episode_ids: set[str]) -> dict[str, set[str]]:
    """Episode id -> the replicas Envoy's access log shows serving calls naming it."""
    seen: dict[str, set[str]] = collections.defaultdict(set)
    deadline = time.monotonic() + PATIENCE_S
    while True:
        for line in pathlib.Path(cluster.envoy_access_log or "").read_text().splitlines():
            episode_id, upstream, *_ = line.split()
            if episode_id in episode_ids:
                seen[episode_id].add(cluster.episode_replica_of(upstream))
        if set(seen) == episode_ids or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def test_300_episodes_in_progress_lose_nothing_when_a_replica_is_killed(cluster):
    """An undisturbed run first, then the same seeds again with one replica killed (SIGKILL) a third of
    the way through. Every episode finishes; every observation its client received equals the
    undisturbed one at that step, and the final state (step count, cumulative reward, grade) is
    identical. A step whose answer died with the replica (applied, as its step count shows) is the
    only observation not compared."""
    address = cluster.address("episode")
    undisturbed, _ = asyncio.run(play_all(address, "calm", None))
    victim = "episode-2"
    killed_at: list[float] = []

    def kill() -> None:
        os.kill(cluster.processes[victim].pid, signal.SIGKILL)
        killed_at.append(time.monotonic())

    disturbed, reconnects = asyncio.run(play_all(address, "kill", kill))
    assert killed_at, "the replica was never killed"
    assert cluster.processes[victim].poll() is not None
    assert len(disturbed) == len(undisturbed) == EPISODES
    lost_answers = 0
    for (calm_id, calm), (kill_id, seen) in zip(undisturbed.items(), disturbed.items(), strict=True):
        assert calm.seed == seen.seed and len(seen.digests) == len(calm.digests) == len(PLAY) + 2, kill_id
        assert None not in calm.digests, calm_id
        for index, (expected, got) in enumerate(zip(calm.digests, seen.digests, strict=True)):
            if got is None:
                lost_answers += 1
                continue
            assert got == expected, f"{kill_id}: observation {index} differs from the undisturbed run"
        assert seen.final == calm.final, f"{kill_id}: final state differs"
    assert lost_answers <= CONCURRENCY  # only calls in flight at the kill
    # The kill mattered: episodes the victim served before it died were carried on by another replica.
    unary_ids = {
        episode_id
        for episode_id in disturbed
        if int(episode_id.rsplit("-", 1)[1]) < EPISODES - SESSIONS * PER_SESSION
    }
    moved = [ids for ids in served_by(cluster, unary_ids).values() if victim in ids and len(ids) > 1]
    assert moved, "no episode served by the killed replica went on elsewhere"
    # Envoy puts a stream that names no episode on a random replica: 20 streams miss the victim with
    # probability (2/3)^20, about 3 in 10,000.
    assert reconnects >= 1, "no Session stream was on the killed replica"
