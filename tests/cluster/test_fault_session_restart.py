"""Fault injection with real processes: the episode service restarts under 32 busy workers.

The process crashes (SIGKILL) or is stopped (SIGTERM: drain, exit), then starts again on the same
port, so every open episode goes with it. Every worker must make progress again with new episodes, each lost episode
must surface as EpisodeLostError (NOT_FOUND), and nothing may stall: on one batching session (as
`mlopsdebug eval` plays) and on a plain session per worker.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import (
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeLostError,
    MLOpsDebugError,
    NotFoundError,
    ResponseLostError,
    StatusCode,
    actions,
)

pytestmark = pytest.mark.cluster

WORKERS = 32
READS = [actions.read_config(), actions.read_logs(), actions.check_dataset_stats(), actions.read_eval_results()]
# A bound on waiting, never an assertion on speed: a restart takes a few seconds, on a loaded machine more.
PATIENCE_S = 120.0
DRAIN_CODES = (StatusCode.UNAVAILABLE, StatusCode.INTERNAL)


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(ClusterOptions.ephemeral(services=("generator", "grader", "episode"))).start()
    yield c
    c.stop()


class Workers:
    """32 workers, each playing short episodes in a loop and counting steps and lost episodes."""

    def __init__(self) -> None:
        self.steps = [0] * WORKERS
        self.lost: list[list[Exception]] = [[] for _ in range(WORKERS)]
        self.refused: list[MLOpsDebugError] = []
        self.stop = asyncio.Event()
        # Half the workers park in the middle of an episode for the restart, so that it surely loses
        # theirs; the other half keep playing through it (steps and resets in flight at the break).
        self.park = asyncio.Event()
        self.parked: set[int] = set()
        self.unpark = asyncio.Event()

    async def play(self, index: int, session) -> None:
        seed = index
        while not self.stop.is_set():
            try:
                episode_id = (await session.reset("easy", seed)).episode_id
            except MLOpsDebugError as refused:
                # The draining service's answer, not a broken stream: a reset waiting on the generator
                # while the service closes its peer channels (drain order, issue 15 item 5).
                if refused.domain != "episode.mlopsdebug" or refused.code not in DRAIN_CODES:
                    raise
                self.refused.append(refused)
                await asyncio.sleep(0.1)
                continue
            try:
                for action in READS:
                    await session.step(action, episode_id)
                    self.steps[index] += 1
                    if index % 2 == 0 and self.park.is_set() and not self.unpark.is_set():
                        self.parked.add(index)
                        await self.unpark.wait()
                await session.close_episode(episode_id)
            except (EpisodeLostError, ResponseLostError) as lost:
                self.lost[index].append(lost)
            seed += WORKERS

    async def until(self, condition, what: str) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while not condition():
            assert time.monotonic() < deadline, f"stalled: {what} (steps {self.steps})"
            await asyncio.sleep(0.05)


async def _restart_under_load(cluster: LocalCluster, sessions: list, crash: bool) -> Workers:
    workers = Workers()
    tasks = [asyncio.create_task(workers.play(i, sessions[i])) for i in range(WORKERS)]
    try:
        await workers.until(lambda: all(workers.steps), "every worker's first step")
        workers.park.set()
        await workers.until(lambda: len(workers.parked) == WORKERS // 2, "half the workers parked")

        def restart() -> None:
            cluster.stop_process("episode", grace_s=0.0 if crash else 5.0)  # 0: SIGKILL at once
            cluster.start_service("episode")

        await asyncio.to_thread(restart)
        workers.unpark.set()
        before = list(workers.steps)
        await workers.until(
            lambda: all(now > then for now, then in zip(workers.steps, before, strict=True)),
            "every worker's progress after the restart",
        )
    finally:
        workers.stop.set()
        done, _ = await asyncio.wait(tasks, timeout=PATIENCE_S)
    assert len(done) == WORKERS, "a worker stalled"
    for task in tasks:
        task.result()  # a worker that failed otherwise than by a lost episode fails the test
    return workers


def _check_lost_episodes(workers: Workers) -> None:
    for index in sorted(workers.parked):  # their episodes surely went with the process
        assert workers.lost[index], f"worker {index} never learnt its episode was lost"
    for error in (error for errors in workers.lost for error in errors):
        if isinstance(error, EpisodeLostError):
            assert isinstance(error, NotFoundError) and error.code is StatusCode.NOT_FOUND


def _config() -> ClientConfig:
    return ClientConfig(timeout_s=60.0)


@pytest.mark.parametrize("crash", [True, False], ids=["crash", "sigterm"])
async def test_32_workers_on_one_batching_session_recover(cluster, crash) -> None:
    async with AsyncEpisodeClient(cluster.address("episode"), config=_config()) as client:
        async with client.batching_session() as session:
            workers = await _restart_under_load(cluster, [session] * WORKERS, crash)
            assert not session.closed
    _check_lost_episodes(workers)


@pytest.mark.parametrize("crash", [True, False], ids=["crash", "sigterm"])
async def test_32_workers_on_their_own_sessions_recover(cluster, crash) -> None:
    async with AsyncEpisodeClient(cluster.address("episode"), config=_config()) as client:
        sessions = [client.session() for _ in range(WORKERS)]
        try:
            workers = await _restart_under_load(cluster, sessions, crash)
            assert all(session.reconnects >= 1 and not session.closed for session in sessions)
        finally:
            await asyncio.gather(*(session.close() for session in sessions))
    _check_lost_episodes(workers)
