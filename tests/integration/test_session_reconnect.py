"""Sessions survive their stream breaking: reopened, episodes resumed, no request applied twice.

Real gRPC over real sockets, in-process servers on port 0:
- a restart that keeps the episodes (a new gRPC server around the same EpisodeManager, as a replica
  restart with a shared store): every session resumes where it was, observations unchanged;
- a restart that loses them (a new episode service): EpisodeLostError (NOT_FOUND), never a retry loop;
- a TCP proxy that breaks a stream at a chosen point (before a request reached the server, or after
  the server applied it and before the answer came back): steps, resets and closes are applied once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable

import pytest
from faultproxy import FaultProxy

from mlopsdebug_client import (
    AlreadyExistsError,
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeClient,
    EpisodeLostError,
    NotFoundError,
    ResponseLostError,
    StatusCode,
    actions,
)

READS = [
    actions.read_config(),
    actions.read_logs("warning"),
    actions.check_dataset_stats(),
    actions.run_sanity_check("data_leakage"),
    actions.query_artifact("config.yaml", "optimizer"),
    actions.read_config(),  # a repeated read: a negative reward
]
WORKERS = 8


# One client token for the sessions under test and the "direct" clients that inspect their episodes:
# without API keys an episode belongs to the token that created it.
TOKEN = "reconnect-tests-token"


def _direct(target: str) -> ClientConfig:
    return ClientConfig(target=target, client_token=TOKEN)


def _config(target: str) -> ClientConfig:
    """Short backoffs, so that the tests reconnect quickly; deadlines generous for a loaded machine."""
    return ClientConfig(
        target=target, timeout_s=30, retry_initial_backoff_s=0.02, retry_max_backoff_s=0.2, client_token=TOKEN
    )


def _bytes(observation) -> bytes:
    return observation.SerializeToString(deterministic=True)


def _reference(address: str, task_id: str, seed: int) -> list[bytes]:
    """Observations of the episode played without interruption (unary calls)."""
    with EpisodeClient(address) as client:
        episode_id = client.reset(task_id, seed).episode_id
        observations = [_bytes(client.step(episode_id, action).observation) for action in READS]
        client.close_episode(episode_id)
    return observations


def _wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def _warm_up(session) -> None:
    """One exchange, so the connection is up before the proxy holds anything (its handshake included)."""
    with pytest.raises(NotFoundError):
        session.get_state("warm-up")


@pytest.fixture
def restartable(make_cluster):
    return make_cluster()


@pytest.fixture
def proxied(make_cluster):
    """A private cluster and a fault proxy in front of its episode service."""
    cluster = make_cluster()
    proxy = FaultProxy(cluster.ports["episode"])
    yield cluster, proxy
    proxy.close()


def _open_episodes(cluster) -> int:
    return len(cluster.episode_servicer._manager)


class TestResumeAfterARestartThatKeepsEpisodes:
    def test_sync_session_resumes_its_episode_unchanged(self, restartable) -> None:
        """Steps after the restart go on from where the episode was, exactly as without it."""
        expected = _reference(restartable.episode_addr, "easy", 11)
        with EpisodeClient(config=_config(restartable.episode_addr)) as client, client.session() as session:
            session.reset("easy", 11)
            seen = [_bytes(session.step(action).observation) for action in READS[:3]]
            restartable.restart_episode_server()
            seen += [_bytes(session.step(action).observation) for action in READS[3:]]
            assert session.reconnects >= 1 and not session.closed
        assert seen == expected
        assert _open_episodes(restartable) == 0  # closing the session closed the episode of its first stream

    async def test_async_session_resumes_all_its_episodes(self, restartable) -> None:
        """Several episodes pipelined on one stream all resume after the restart."""
        seeds = list(range(20, 24))
        expected = [_reference(restartable.episode_addr, "medium", seed) for seed in seeds]
        async with AsyncEpisodeClient(config=_config(restartable.episode_addr)) as client:
            async with client.session() as session:
                ids = [(await session.reset("medium", seed)).episode_id for seed in seeds]
                seen: list[list[bytes]] = [[] for _ in seeds]
                for round_, action in enumerate(READS):
                    if round_ == 2:
                        await asyncio.to_thread(restartable.restart_episode_server)
                    answers = await asyncio.gather(*(session.step(action, episode_id) for episode_id in ids))
                    for run, answer in zip(seen, answers, strict=True):
                        run.append(_bytes(answer.observation))
                assert session.reconnects >= 1
        assert seen == expected
        assert _open_episodes(restartable) == 0

    async def test_batching_session_workers_all_resume_and_see_uninterrupted_play(self, restartable) -> None:
        """Workers sharing one batching session (steps batched, resets and submissions on side streams)
        all carry on after a restart in the middle of their play, with the observations of play
        without it; closing the session closes every episode."""
        seeds = list(range(30, 30 + WORKERS))
        expected = [_reference(restartable.episode_addr, "easy", seed) for seed in seeds]
        halfway = asyncio.Barrier(WORKERS + 1)
        resumed = asyncio.Event()

        async def worker(session, seed: int) -> list[bytes]:
            episode_id = (await session.reset("easy", seed)).episode_id
            seen = []
            for round_, action in enumerate(READS):
                if round_ == 3:
                    await halfway.wait()
                    await resumed.wait()
                seen.append(_bytes((await session.step(action, episode_id)).observation))
            return seen

        async with AsyncEpisodeClient(config=_config(restartable.episode_addr)) as client:
            async with client.batching_session() as session:
                workers = [asyncio.create_task(worker(session, seed)) for seed in seeds]
                await halfway.wait()
                await asyncio.to_thread(restartable.restart_episode_server)
                resumed.set()
                seen = await asyncio.gather(*workers)
                assert not session.closed
        assert seen == expected
        assert _open_episodes(restartable) == 0


class TestEpisodesLostWithTheProcess:
    def test_sync_session_raises_episode_lost_and_plays_on(self, restartable) -> None:
        """A restart that lost the episode: the step raises EpisodeLostError (a NOT_FOUND), not an
        endless retry, and the session serves a new episode."""
        with EpisodeClient(config=_config(restartable.episode_addr)) as client, client.session() as session:
            lost = session.reset("easy", 3).episode_id
            session.step(READS[0])
            restartable.stop_service("episode")
            restartable.start_service("episode")
            with pytest.raises(EpisodeLostError) as info:
                session.step(READS[1])
            assert info.value.code is StatusCode.NOT_FOUND and info.value.reason == "EPISODE_LOST"
            assert isinstance(info.value, NotFoundError) and info.value.metadata["episode_id"] == lost
            session.reset("easy", 3)
            assert session.step(READS[0]).observation.step_count == 1

    async def test_batching_session_workers_get_episode_lost_then_new_episodes_run(self, restartable) -> None:
        """Every worker whose episode was lost gets EpisodeLostError; new episodes then play normally."""
        async with AsyncEpisodeClient(config=_config(restartable.episode_addr)) as client:
            async with client.batching_session() as session:
                ids = [(await session.reset("easy", seed)).episode_id for seed in range(WORKERS)]
                await asyncio.gather(*(session.step(READS[0], episode_id) for episode_id in ids))
                await asyncio.to_thread(restartable.stop_service, "episode")
                await asyncio.to_thread(restartable.start_service, "episode")
                outcomes = await asyncio.gather(
                    *(session.step(READS[1], episode_id) for episode_id in ids), return_exceptions=True
                )
                assert all(isinstance(outcome, EpisodeLostError) for outcome in outcomes), outcomes
                fresh = [(await session.reset("easy", seed)).episode_id for seed in range(WORKERS)]
                answers = await asyncio.gather(*(session.step(READS[0], episode_id) for episode_id in fresh))
                assert [a.observation.step_count for a in answers] == [1] * WORKERS


class TestNothingAppliedTwice:
    def test_a_step_that_never_reached_the_server_is_sent_again(self, proxied) -> None:
        cluster, proxy = proxied
        with EpisodeClient(config=_config(proxy.address)) as client, client.session() as session:
            episode_id = session.reset("easy", 4).episode_id
            session.step(READS[0])
            proxy.hold_requests()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                step = pool.submit(session.step, READS[1])
                _wait_for(lambda: proxy.held > 0)
                proxy.cut()
                assert step.result(30).observation.step_count == 2
            assert session.reconnects >= 1
        with EpisodeClient(config=_direct(cluster.episode_addr)) as direct:
            with pytest.raises(NotFoundError):
                direct.get_state(episode_id)  # closed with the session, after 2 steps (checked above)

    def test_a_step_applied_before_the_break_is_not_sent_again(self, proxied) -> None:
        """The answer is lost after the server applied the step: ResponseLostError(applied), one step."""
        cluster, proxy = proxied
        with (
            EpisodeClient(config=_config(proxy.address)) as client,
            EpisodeClient(config=_direct(cluster.episode_addr)) as direct,
            client.session() as session,
        ):
            episode_id = session.reset("easy", 4).episode_id
            session.step(READS[0])
            proxy.hold_responses()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                step = pool.submit(session.step, READS[1])
                _wait_for(lambda: direct.get_state(episode_id).state.step_count == 2)
                proxy.cut()
                with pytest.raises(ResponseLostError) as info:
                    step.result(30)
            assert info.value.applied is True and info.value.code is StatusCode.ABORTED
            assert direct.get_state(episode_id).state.step_count == 2
            assert session.step(READS[2]).observation.step_count == 3  # the episode plays on

    def test_a_lost_submission_is_never_graded_twice(self, proxied) -> None:
        cluster, proxy = proxied
        with (
            EpisodeClient(config=_config(proxy.address)) as client,
            EpisodeClient(config=_direct(cluster.episode_addr)) as direct,
            client.session() as session,
        ):
            episode_id = session.reset("easy", 4).episode_id
            proxy.hold_responses()
            submission = actions.submit_diagnosis("config_error", "config.yaml", "learning_rate", "lr too high", "lower it")
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                step = pool.submit(session.step, submission)
                _wait_for(lambda: direct.get_state(episode_id).state.HasField("grade"))
                proxy.cut()
                with pytest.raises(ResponseLostError) as info:
                    step.result(30)
            assert info.value.applied is True
            state = direct.get_state(episode_id).state
            assert state.step_count == 1 and state.HasField("grade")

    def test_a_step_on_an_episode_the_session_did_not_start_is_reported_unknown(self, proxied) -> None:
        """Without the step count from before, nothing can tell: ResponseLostError(applied unknown)."""
        cluster, proxy = proxied
        with EpisodeClient(config=_config(proxy.address)) as client, client.session() as session:
            episode_id = client.reset("easy", 4).episode_id  # unary: unknown to the session
            proxy.hold_responses()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                step = pool.submit(session.step, READS[0], episode_id)
                _wait_for(lambda: proxy.held > 0)
                proxy.cut()
                with pytest.raises(ResponseLostError) as info:
                    step.result(30)
            assert info.value.applied is None
            client.close_episode(episode_id)

    @pytest.mark.parametrize("caller_id", ["", "mine-1"])
    def test_a_reset_whose_answer_was_lost_makes_one_episode(self, proxied, caller_id) -> None:
        """Re-sent under the same id: ALREADY_EXISTS shows it was applied, and the untouched episode
        is replaced, never duplicated."""
        cluster, proxy = proxied
        with EpisodeClient(config=_config(proxy.address)) as client, client.session() as session:
            _warm_up(session)
            proxy.hold_responses()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                reset = pool.submit(session.reset, "medium", 8, caller_id)
                _wait_for(lambda: _open_episodes(cluster) == 1)
                proxy.cut()
                response = reset.result(30)
            assert response.seed == 8 and response.observation.step_count == 0
            assert caller_id in ("", response.episode_id)
            assert _open_episodes(cluster) == 1
            assert session.step(READS[0]).observation.step_count == 1
        assert _open_episodes(cluster) == 0

    def test_a_reset_id_held_by_another_episode_still_raises(self, proxied) -> None:
        """A caller id already taken by an episode that has moved on is not mistaken for a lost reset."""
        cluster, proxy = proxied
        with (
            EpisodeClient(config=_config(proxy.address)) as client,
            EpisodeClient(config=_direct(cluster.episode_addr)) as direct,
            client.session() as session,
        ):
            direct.reset("easy", 1, "taken")
            direct.step("taken", READS[0])
            _warm_up(session)
            proxy.hold_requests()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                reset = pool.submit(session.reset, "easy", 1, "taken")
                _wait_for(lambda: proxy.held > 0)
                proxy.cut()
                with pytest.raises(AlreadyExistsError):
                    reset.result(30)
            assert direct.get_state("taken").state.step_count == 1

    def test_a_close_whose_answer_was_lost_reports_the_episode_gone(self, proxied) -> None:
        cluster, proxy = proxied
        with (
            EpisodeClient(config=_config(proxy.address)) as client,
            EpisodeClient(config=_direct(cluster.episode_addr)) as direct,
            client.session() as session,
        ):
            episode_id = session.reset("easy", 2).episode_id
            proxy.hold_responses()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                close = pool.submit(session.close_episode)
                _wait_for(lambda: _open_episodes(cluster) == 0)
                proxy.cut()
                with pytest.raises(EpisodeLostError):
                    close.result(30)
            with pytest.raises(NotFoundError):
                direct.get_state(episode_id)

    async def test_batched_steps_are_judged_one_by_one(self, proxied) -> None:
        """A batch cut after the server applied it: every step reports ResponseLostError(applied); a
        batch cut before it arrived is sent again: every episode advanced exactly once each time."""
        cluster, proxy = proxied
        async with (
            AsyncEpisodeClient(config=_config(proxy.address)) as client,
            AsyncEpisodeClient(config=_direct(cluster.episode_addr)) as direct,
            client.batching_session(max_in_flight=1) as session,
        ):
            ids = [(await session.reset("easy", seed)).episode_id for seed in range(4)]

            async def counts() -> list[int]:
                return [(await direct.get_state(e)).state.step_count for e in ids]

            proxy.hold_requests()
            steps = asyncio.gather(*(session.step(READS[0], e) for e in ids))
            while proxy.held == 0:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(proxy.cut)
            assert [a.observation.step_count for a in await steps] == [1] * 4
            assert await counts() == [1] * 4

            proxy.hold_responses()
            steps = asyncio.gather(*(session.step(READS[1], e) for e in ids), return_exceptions=True)
            while await counts() != [2] * 4:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(proxy.cut)
            outcomes = await steps
            assert all(isinstance(o, ResponseLostError) and o.applied for o in outcomes), outcomes
            assert await counts() == [2] * 4


class TestServiceSideOfResumableSessions:
    @pytest.mark.parametrize("resumable", [False, True])
    def test_episodes_of_a_cut_stream_stay_open_only_for_a_resumable_session(self, cluster, resumable) -> None:
        """Without the metadata the stream's end closes its episodes (as always); with it they stay,
        for the client to resume or close (or for the idle reaper)."""
        import grpc

        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
        from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc

        token = (("x-mlopsdebug-client-token", TOKEN),)  # the raw stream and the client share an owner
        metadata = token + ((("mlopsdebug-session-resumable", "1"),) if resumable else ())
        with (
            grpc.insecure_channel(cluster.episode_addr) as channel,
            EpisodeClient(config=_direct(cluster.episode_addr)) as client,
        ):
            requests = iter([ep_pb.SessionRequest(reset=ep_pb.ResetRequest(task_id="easy", seed=5))])
            call = ep_grpc.EpisodeServiceStub(channel).Session(requests, metadata=metadata)
            episode_id = next(call).reset.episode_id
            call.cancel()
            if resumable:
                time.sleep(0.2)  # give a wrong close the time to happen
                assert client.get_state(episode_id).state.step_count == 0
                client.close_episode(episode_id)
            else:
                _wait_for(lambda: _gone(client, episode_id))


def _gone(client: EpisodeClient, episode_id: str) -> bool:
    try:
        client.get_state(episode_id)
    except NotFoundError:
        return True
    return False
