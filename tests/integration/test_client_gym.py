"""The Gymnasium-style wrappers against the real in-process services."""

from __future__ import annotations

import pytest

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client import (
    AsyncMLOpsDebugGymEnv,
    EpisodeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    MLOpsDebugGymEnv,
    NotFoundError,
    actions,
)
from mlopsdebug_common.tasks import TASKS

SUBMISSION = {
    "action_type": "submit_diagnosis",
    "failure_category": "config_error",
    "root_cause_file": "config.yaml",
    "root_cause_field": "optimizer.learning_rate",
    "diagnosis": "the run diverged",
    "proposed_fix": "lower the learning rate to 1e-3",
}


class TestSyncEnv:
    def test_reset_and_step_shapes(self, cluster) -> None:
        """reset gives (observation, info); step gives the five-tuple with typed values."""
        with MLOpsDebugGymEnv(cluster.episode_addr) as env:
            obs, info = env.reset("easy", seed=41)
            assert isinstance(obs, common_pb2.Observation) and obs.step_count == 0
            assert info == {
                "episode_id": env.episode_id, "seed": 41, "task_id": "easy", "max_steps": 20, "sealed": False
            }  # fmt: skip
            obs, reward, terminated, truncated, info = env.step({"action_type": "read_config"})
            assert reward == pytest.approx(0.02) and not terminated and not truncated
            assert info["step_count"] == 1 and info["episode_id"] == env.episode_id and "grade" not in info
            assert env.state().artifacts_read == ["config.yaml"]

    def test_termination_puts_the_grade_in_info(self, cluster) -> None:
        """A submission terminates with reward = score and the grade as a dict in info."""
        with MLOpsDebugGymEnv(cluster.episode_addr) as env:
            env.reset("medium", seed=42)
            _, reward, terminated, truncated, info = env.step(SUBMISSION)
            assert terminated and not truncated
            grade = info["grade"]
            assert reward == pytest.approx(grade["score"])
            assert [c["kind"] for c in grade["components"]] == ["category", "file", "field", "fix"]
            assert grade["answer"] is None  # evaluation deployments withhold the answer
            with pytest.raises(FailedPreconditionError):
                env.step(actions.read_config())

    def test_budget_exhaustion_truncates(self, cluster) -> None:
        """The 20th easy action truncates the episode with no grade; it is still executed."""
        with MLOpsDebugGymEnv(cluster.episode_addr) as env:
            env.reset("easy", seed=43)
            for step in range(1, 21):
                obs, _, terminated, truncated, info = env.step(actions.read_logs(f"epoch:{step % 3 + 1}"))
                assert not terminated
                assert truncated == (step == 20)
            assert obs.step_count == 20 and obs.last_action_result.WhichOneof("result") == "logs"
            assert "grade" not in info

    def test_reset_closes_the_previous_episode(self, cluster) -> None:
        """A new reset closes the episode the wrapper was playing."""
        with EpisodeClient(cluster.episode_addr) as client, MLOpsDebugGymEnv(client=client) as env:
            _, first = env.reset("easy", seed=44)
            _, second = env.reset("easy", seed=44)
            assert first["episode_id"] != second["episode_id"]
            with pytest.raises(NotFoundError):
                client.get_state(first["episode_id"])
            assert client.get_state(second["episode_id"]).state.seed == 44

    def test_step_before_reset_is_refused(self, cluster) -> None:
        """step() without an episode raises FailedPreconditionError without a server call."""
        with MLOpsDebugGymEnv(cluster.episode_addr) as env, pytest.raises(FailedPreconditionError) as info:
            env.step(actions.read_config())
        assert info.value.reason == "NO_EPISODE"

    def test_bad_actions_raise_and_the_episode_goes_on(self, cluster) -> None:
        """An invalid action raises InvalidArgumentError and leaves the episode playable."""
        with MLOpsDebugGymEnv(cluster.episode_addr) as env:
            env.reset("hard", seed=45)
            with pytest.raises(InvalidArgumentError):
                env.step({"action_type": "run_sanity_check"})
            with pytest.raises(ValueError):
                env.step({"action_type": "teleport"})
            _, _, _, _, info = env.step(actions.run_sanity_check("metric_gap_analysis"))
            assert info["step_count"] == 1

    def test_revealing_deployment_shows_the_answer(self, make_cluster) -> None:
        """Where answers are revealed, the grade in info carries the answer."""
        training = make_cluster(reveal_answers=True)
        with MLOpsDebugGymEnv(training.episode_addr) as env:
            env.reset("easy-v1", seed=46)
            info = env.step(SUBMISSION)[4]
            answer = info["grade"]["answer"]
            assert answer is not None and answer["category"] == "config_error" and answer["file"]

    def test_a_wrapper_given_a_client_leaves_it_open(self, cluster) -> None:
        """close() does not close a client the caller passed in."""
        with EpisodeClient(cluster.episode_addr) as client:
            env = MLOpsDebugGymEnv(client=client)
            env.reset("easy", seed=47)
            env.close()
            assert len(client.list_tasks().tasks) == len(TASKS)


class TestAsyncEnv:
    async def test_episode_to_termination(self, cluster) -> None:
        """The async wrapper resets, steps and terminates like the sync one."""
        async with AsyncMLOpsDebugGymEnv(cluster.episode_addr) as env:
            obs, info = await env.reset("hard", seed=48)
            assert obs.max_steps == 40 and info["seed"] == 48
            _, reward, terminated, _, info = await env.step(actions.read_eval_results())
            assert reward == pytest.approx(0.02) and not terminated
            assert (await env.state()).step_count == 1
            _, reward, terminated, truncated, info = await env.step(SUBMISSION)
            assert terminated and not truncated and reward == pytest.approx(info["grade"]["score"])

    async def test_reset_draws_a_seed_and_replaces_the_episode(self, cluster) -> None:
        """A seedless reset reports the drawn seed; a second reset starts a fresh episode."""
        async with AsyncMLOpsDebugGymEnv(cluster.episode_addr) as env:
            _, first = await env.reset()
            assert first["task_id"] == "easy" and env.seed == first["seed"]
            await env.step(actions.read_config())
            obs, second = await env.reset("medium")
            assert second["episode_id"] != first["episode_id"] and obs.step_count == 0

    async def test_step_before_reset(self, cluster) -> None:
        """step() before reset() raises FailedPreconditionError."""
        async with AsyncMLOpsDebugGymEnv(cluster.episode_addr) as env:
            with pytest.raises(FailedPreconditionError):
                await env.step(actions.read_config())
