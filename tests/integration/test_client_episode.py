"""The episode clients (sync and asyncio, unary and Session) against the real in-process services."""

from __future__ import annotations

import asyncio
import time

import pytest

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client import (
    AlreadyExistsError,
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    StatusCode,
    UnavailableError,
    actions,
    observation_to_dict,
)
from mlopsdebug_common.tasks import TASKS

DOMAIN = "episode.mlopsdebug"
# A well-formed diagnosis; whether it is right does not matter to these tests.
SUBMISSION = actions.submit_diagnosis(
    "config_error",
    "config.yaml",
    "optimizer.learning_rate",
    "the run diverged",
    "lower the learning rate to 1e-3",
)


@pytest.fixture
def client(cluster):
    with EpisodeClient(config=ClientConfig(target=cluster.episode_addr, timeout_s=20.0)) as c:
        yield c


def _wait_until_gone(client: EpisodeClient, episode_id: str, timeout_s: float = 5.0) -> bool:
    """Whether the episode disappears within timeout_s (closing after a stream ends is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client.get_state(episode_id)
        except NotFoundError:
            return True
        time.sleep(0.05)
    return False


class TestUnary:
    def test_list_tasks(self, client) -> None:
        """ListTasks returns easy, medium and hard with their step budgets, then the pinned versions."""
        tasks = client.list_tasks().tasks
        assert [(t.task_id, t.max_steps) for t in tasks][:3] == [("easy", 20), ("medium", 30), ("hard", 40)]
        assert len(tasks) == len(TASKS)

    def test_reset_returns_a_typed_first_observation(self, client) -> None:
        """Reset returns the episode id, the seed and an observation at step 0 with six artifacts."""
        response = client.reset("medium", seed=11)
        try:
            assert response.seed == 11 and response.episode_id
            obs = response.observation
            assert isinstance(obs, common_pb2.Observation)
            assert (obs.task_id, obs.step_count, obs.max_steps, obs.reward) == ("medium", 0, 30, 0.0)
            assert len(obs.available_artifacts) == 6
            assert obs.last_action_result.WhichOneof("result") is None
        finally:
            client.close_episode(response.episode_id)

    def test_reset_without_seed_reports_the_drawn_seed(self, client) -> None:
        """Without a seed the service draws one in [0, 2^53 - 1] and reports it."""
        response = client.reset("easy")
        client.close_episode(response.episode_id)
        assert 0 <= response.seed <= 2**53 - 1

    def test_same_seed_same_world(self, client) -> None:
        """Two resets with one seed see the same run."""
        first = client.reset("hard", seed=2024)
        second = client.reset("hard", seed=2024)
        for r in (first, second):
            client.close_episode(r.episode_id)
        assert first.observation.run_summary == second.observation.run_summary
        assert first.episode_id != second.episode_id

    def test_steps_with_messages_and_dicts(self, client) -> None:
        """A first read earns +0.02 and an identical repeat -0.02; dict actions work like messages."""
        episode_id = client.reset("easy", seed=3).episode_id
        try:
            first = client.step(episode_id, actions.read_config()).observation
            assert first.reward == pytest.approx(0.02)
            assert first.last_action_result.artifact.name == common_pb2.ARTIFACT_NAME_CONFIG_YAML
            assert first.last_action_result.artifact.content
            again = client.step(episode_id, {"action_type": "read_config"}).observation
            assert again.reward == pytest.approx(-0.02)
            assert again.step_count == 2
            check = client.step(episode_id, actions.run_sanity_check("loss_trajectory")).observation
            assert check.last_action_result.sanity_check.check == common_pb2.SANITY_CHECK_TYPE_LOSS_TRAJECTORY
            assert observation_to_dict(check)["last_action_result"]["type"] == "sanity_check"
        finally:
            client.close_episode(episode_id)

    def test_invalid_action_names_the_field(self, client) -> None:
        """A sanity check without its type is INVALID_ARGUMENT naming action.run_sanity_check.check."""
        episode_id = client.reset("easy", seed=4).episode_id
        try:
            with pytest.raises(InvalidArgumentError) as info:
                client.step(episode_id, {"action_type": "run_sanity_check"})
            assert info.value.domain == DOMAIN and info.value.reason
            assert [v.field for v in info.value.field_violations] == ["action.run_sanity_check.check"]
            with pytest.raises(InvalidArgumentError) as info:
                client.step(episode_id, actions.query_artifact("train.log", "epochs"))
            assert "action.query_artifact.artifact" in [v.field for v in info.value.field_violations]
            # A failed call changes nothing.
            assert client.get_state(episode_id).state.step_count == 0
        finally:
            client.close_episode(episode_id)

    def test_unknown_task_and_bad_episode_ids(self, client) -> None:
        """An unknown task and a malformed episode id are INVALID_ARGUMENT with the field named."""
        with pytest.raises(InvalidArgumentError) as info:
            client.reset("impossible")
        assert info.value.reason == "UNKNOWN_TASK" and info.value.field_violations[0].field == "task_id"
        with pytest.raises(InvalidArgumentError) as info:
            client.reset("easy", episode_id="has spaces")
        assert info.value.field_violations[0].field == "episode_id"

    def test_duplicate_episode_id(self, client) -> None:
        """Reusing an open episode id is ALREADY_EXISTS."""
        client.reset("easy", seed=1, episode_id="client-dup-1")
        try:
            with pytest.raises(AlreadyExistsError) as info:
                client.reset("easy", seed=1, episode_id="client-dup-1")
            assert info.value.domain == DOMAIN
        finally:
            client.close_episode("client-dup-1")

    def test_unknown_episode_is_not_found(self, client) -> None:
        """Step, GetState and CloseEpisode of an unknown id raise NotFoundError."""
        for call in (
            lambda: client.step("client-no-such", actions.read_config()),
            lambda: client.get_state("client-no-such"),
            lambda: client.close_episode("client-no-such"),
        ):
            with pytest.raises(NotFoundError) as info:
                call()
            assert info.value.reason == "EPISODE_NOT_FOUND"

    def test_submission_terminates_and_later_actions_are_refused(self, client) -> None:
        """A submission ends the episode with the grade as reward; a later step is FAILED_PRECONDITION."""
        episode_id = client.reset("easy", seed=5).episode_id
        try:
            obs = client.step(episode_id, SUBMISSION).observation
            assert obs.terminated and obs.done and not obs.truncated
            grade = obs.last_action_result.grade
            assert obs.reward == pytest.approx(grade.score)
            assert len(grade.components) == 4
            with pytest.raises(FailedPreconditionError) as info:
                client.step(episode_id, actions.read_config())
            assert info.value.reason == "EPISODE_ENDED"
            state = client.get_state(episode_id).state
            assert state.state == common_pb2.EPISODE_STATE_TERMINATED
            assert state.grade.score == pytest.approx(grade.score)
        finally:
            client.close_episode(episode_id)

    def test_close_returns_final_state_and_forgets_the_episode(self, client) -> None:
        """CloseEpisode returns the final state; the id is unknown afterwards."""
        episode_id = client.reset("easy", seed=6).episode_id
        client.step(episode_id, actions.read_logs("epoch:1-2"))
        state = client.close_episode(episode_id).state
        assert state.episode_id == episode_id and state.step_count == 1
        with pytest.raises(NotFoundError):
            client.get_state(episode_id)


class TestSession:
    def test_full_episode_over_one_stream(self, client) -> None:
        """Reset, steps, state and close on a Session default to the stream's latest episode."""
        with client.session() as session:
            reset = session.reset("easy", seed=21)
            assert session.episode_id == reset.episode_id
            step = session.step(actions.read_eval_results())
            assert step.observation.step_count == 1 and step.observation.reward == pytest.approx(0.02)
            assert session.get_state().state.artifacts_read == ["eval_results.json"]
            assert session.step(SUBMISSION).observation.terminated
            assert session.close_episode().state.state == common_pb2.EPISODE_STATE_TERMINATED

    def test_in_band_errors_keep_the_stream_open(self, client) -> None:
        """Errors come back typed and the same stream serves the next request."""
        with client.session() as session:
            with pytest.raises(NotFoundError):
                session.get_state("client-no-such")
            session.reset("medium", seed=22)
            with pytest.raises(InvalidArgumentError) as info:
                session.step({"action_type": "query_artifact", "artifact_name": "config.yaml"})
            assert "action.query_artifact.field_path" in [v.field for v in info.value.field_violations]
            assert not session.closed
            assert session.step(actions.check_dataset_stats()).observation.step_count == 1

    def test_stream_end_closes_its_episodes(self, client) -> None:
        """Episodes started on a stream are closed when the stream ends."""
        with client.session() as session:
            first = session.reset("easy", seed=23).episode_id
            second = session.reset("hard", seed=23).episode_id
            assert client.get_state(first).state.episode_id == first
        assert _wait_until_gone(client, first) and _wait_until_gone(client, second)

    def test_session_and_unary_calls_share_episodes(self, client) -> None:
        """An episode reset on a stream can be stepped by unary calls while the stream lives."""
        with client.session() as session:
            episode_id = session.reset("easy", seed=24).episode_id
            client.step(episode_id, actions.read_config())
            assert session.get_state().state.step_count == 1


class TestAsync:
    async def test_unary_calls_and_errors(self, cluster) -> None:
        """The aio client resets, steps and raises the same typed errors as the sync one."""
        async with AsyncEpisodeClient(cluster.episode_addr) as client:
            assert len((await client.list_tasks()).tasks) == len(TASKS)
            reset = await client.reset("hard", seed=31)
            step = await client.step(reset.episode_id, {"action_type": "inspect_preprocessing"})
            assert (
                step.observation.last_action_result.artifact.name == common_pb2.ARTIFACT_NAME_PREPROCESSING_PY
            )
            with pytest.raises(InvalidArgumentError):
                await client.step(reset.episode_id, common_pb2.Action())
            assert (await client.get_state(reset.episode_id)).state.step_count == 1
            await client.close_episode(reset.episode_id)
            with pytest.raises(NotFoundError):
                await client.get_state(reset.episode_id)

    async def test_sync_and_async_see_the_same_world(self, cluster, client) -> None:
        """The same seed gives the same first observation to both clients."""
        sync_reset = client.reset("medium", seed=32)
        client.close_episode(sync_reset.episode_id)
        async with AsyncEpisodeClient(cluster.episode_addr) as aclient:
            async_reset = await aclient.reset("medium", seed=32)
            await aclient.close_episode(async_reset.episode_id)
        assert async_reset.observation.run_summary == sync_reset.observation.run_summary

    async def test_parallel_sessions_are_isolated(self, cluster) -> None:
        """Many concurrent sessions each play their own episode without crosstalk."""
        async with AsyncEpisodeClient(cluster.episode_addr) as client:

            async def play(index: int) -> tuple[str, int, list[str]]:
                async with client.session() as session:
                    reset = await session.reset("easy", seed=100 + index)
                    for _ in range(index % 3 + 1):
                        await session.step(actions.read_logs(f"epoch:{index % 3 + 1}"))
                    state = (await session.get_state()).state
                    return reset.episode_id, state.step_count, list(state.artifacts_read)

            results = await asyncio.gather(*(play(i) for i in range(12)))
        assert len({episode_id for episode_id, _, _ in results}) == 12
        for index, (_, steps, read) in enumerate(results):
            assert steps == index % 3 + 1 and read == ["train.log"]

    async def test_async_session_full_episode(self, cluster) -> None:
        """An aio Session plays an episode to termination and closes it at the end."""
        async with AsyncEpisodeClient(cluster.episode_addr) as client:
            async with client.session() as session:
                episode_id = (await session.reset("easy", seed=33)).episode_id
                await session.step(actions.read_config())
                done = await session.step(SUBMISSION)
                assert done.observation.terminated
                with pytest.raises(FailedPreconditionError):
                    await session.step(actions.read_config())
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    await client.get_state(episode_id)
                except NotFoundError:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the episode outlived its stream")


class TestLimitsAndOutages:
    def test_capacity_is_resource_exhausted(self, make_cluster) -> None:
        """Beyond max_episodes a reset raises ResourceExhaustedError; closing frees the slot."""
        small = make_cluster(max_episodes=1)
        with EpisodeClient(small.episode_addr) as client:
            first = client.reset("easy", seed=1)
            with pytest.raises(ResourceExhaustedError) as info:
                client.reset("easy", seed=2)
            assert info.value.domain == DOMAIN
            client.close_episode(first.episode_id)
            client.close_episode(client.reset("easy", seed=2).episode_id)

    def test_grader_outage_is_unavailable_and_changes_nothing(self, make_cluster) -> None:
        """With the grader down a submission raises UnavailableError; the retry after recovery succeeds."""
        private = make_cluster()
        with EpisodeClient(private.episode_addr) as client:
            episode_id = client.reset("easy", seed=8).episode_id
            client.step(episode_id, actions.read_config())
            private.stop_service("grader")
            with pytest.raises(UnavailableError):
                client.step(episode_id, SUBMISSION)
            assert client.get_state(episode_id).state.step_count == 1
            private.start_service("grader")
            # The episode service reconnects with backoff; the caller retries the same submission.
            deadline = time.monotonic() + 10
            while True:
                try:
                    obs = client.step(episode_id, SUBMISSION).observation
                    break
                except UnavailableError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            assert obs.terminated and obs.step_count == 2

    def test_dead_episode_service_is_unavailable(self, make_cluster) -> None:
        """With the episode service gone calls raise UnavailableError, not a grpc exception."""
        private = make_cluster()
        address = private.episode_addr
        private.stop_service("episode")
        config = ClientConfig(target=address, timeout_s=5.0, max_retries=1, retry_initial_backoff_s=0.01)
        with EpisodeClient(config=config) as client:
            with pytest.raises(UnavailableError) as info:
                client.list_tasks()
            assert info.value.code is StatusCode.UNAVAILABLE
            with client.session() as session, pytest.raises(UnavailableError):
                session.reset("easy")
