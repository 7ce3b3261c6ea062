"""Unit tests of the pure episode core, with a handmade scenario and a scripted grader."""

from __future__ import annotations

import asyncio
import json

import pytest

from mlopsdebug_common.domain import (
    ARTIFACT_FILES,
    SANITY_CHECKS,
    ArtifactDoc,
    Diagnosis,
    Grade,
    GradeComponent,
    RunSummary,
    SanityCheckResult,
    Scenario,
)
from mlopsdebug_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from mlopsdebug_common.sealing import SealedKey
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import EpisodeConfig, EpisodeManager

LOG = "\n".join(
    [
        "2026-03-01 10:00:00 INFO config loaded lr=0.001",
        "2026-03-01 10:00:01 INFO Epoch 1/3 started",
        "2026-03-01 10:00:05 INFO step 10 loss=2.1",
        "2026-03-01 10:00:09 WARNING dataloader worker slow",
        "2026-03-01 10:00:10 INFO Epoch 2/3 started",
        "2026-03-01 10:00:15 INFO step 20 loss=1.7",
        "2026-03-01 10:00:20 INFO Epoch 3/3 started",
        "2026-03-01 10:00:25 INFO step 30 loss=1.4",
    ]
)
CONTENT = {
    "config.yaml": "optimizer:\n  name: adam\n  learning_rate: 0.001\ntraining:\n  batch_size: 64\n  epochs: 3\n",
    "train.log": LOG + "\n",
    "dataset_stats.json": json.dumps({"splits": {"train": 1000, "val": 200}, "classes": ["a", "b"]}),
    "preprocessing.py": "import numpy as np\n\ndef load():\n    return np.zeros(3)\n",
    "eval_results.json": json.dumps({"metrics": {"val": {"accuracy": 0.9}, "test": {"accuracy": 0.88}}}),
    "model_card.json": json.dumps({"model": "mlp", "version": 1}),
}


def make_scenario(task_id: str = "easy", seed: int = 1) -> Scenario:
    return Scenario(
        scenario_id=f"sc-{task_id}-{seed}",
        task_id=task_id,
        seed=seed,
        generator_version="test",
        run_summary=RunSummary(
            "run-1", "mlp", "iris", "tabular", "completed", 3, 3, 1.4, 1.5, "accuracy", 0.9, 0.88, 30.0, "2026-03-01T10:00:00Z"
        ),
        artifacts=tuple(ArtifactDoc(n, CONTENT[n], f"the {n}", "2026-03-01T10:00:30Z") for n in ARTIFACT_FILES),
        sanity_checks=tuple(SanityCheckResult(c, "pass", f"{c} ok", {"value": 1.0}) for c in SANITY_CHECKS),
        answer_key=SealedKey("kid", b"n" * 12, b"cipher", f"sc-{task_id}-{seed}"),
    )


class FakeScenarios:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def get(self, task_id: str, seed: int, split: str = "all") -> Scenario:
        self.calls += 1
        if self.fail:
            raise Unavailable("generator down")
        return make_scenario(task_id, seed)


class FakeGrader:
    def __init__(self, score: float = 0.8) -> None:
        self.score = score
        self.fail = False
        self.calls: list[Diagnosis] = []

    async def grade(self, key, diagnosis, *, task):
        self.calls.append(diagnosis)
        if self.fail:
            raise Unavailable("grader down")
        return Grade(self.score, self.score, False, (GradeComponent("category", 0.15, 1.0, "ok"),), "test")


DIAG = Diagnosis("config_error", "config.yaml", "optimizer.learning_rate", "lr too high", "set lr to 1e-3")


def run(coro):
    return asyncio.run(coro)


def manager(**config) -> tuple[EpisodeManager, FakeScenarios, FakeGrader]:
    scenarios, grader = FakeScenarios(), FakeGrader()
    return EpisodeManager(scenarios, grader, EpisodeConfig(**config)), scenarios, grader


async def steps(m: EpisodeManager, episode_id: str, *actions: Action):
    return [await m.step(episode_id, a) for a in actions]


class TestReset:
    def test_reset_starts_at_step_zero_with_the_given_seed(self):
        """A reset yields a running episode at step 0 with the requested seed."""
        m, _, _ = manager()
        ep = run(m.reset("easy", 7))
        assert (ep.step_count, ep.seed, ep.state, ep.task.max_steps) == (0, 7, "running", 20)

    def test_reset_without_seed_draws_one_in_range(self):
        """A seedless reset draws a seed in [0, 2^53 - 1] and reports it."""
        m, _, _ = manager()
        ep = run(m.reset("hard"))
        assert 0 <= ep.seed <= 2**53 - 1

    @pytest.mark.parametrize("task,seed", [("nope", 1), ("", 1), ("easy", -1), ("easy", 2**53)])
    def test_bad_task_or_seed_is_invalid_argument(self, task, seed):
        """Unknown tasks and out-of-range seeds are refused before anything is created."""
        m, scenarios, _ = manager()
        with pytest.raises(InvalidArgument):
            run(m.reset(task, seed))
        assert len(m) == 0 and scenarios.calls == 0

    def test_client_chosen_ids_are_validated_and_unique(self):
        """A caller-chosen id must be well formed and not in use."""
        m, _, _ = manager()

        async def go():
            await m.reset("easy", 1, "my-episode")
            with pytest.raises(AlreadyExists):
                await m.reset("easy", 2, "my-episode")
            with pytest.raises(InvalidArgument):
                await m.reset("easy", 2, "bad id with spaces")

        run(go())
        assert len(m) == 1

    def test_capacity_is_resource_exhausted_and_frees_on_close(self):
        """At capacity a reset fails; closing an episode frees its slot."""
        m, _, _ = manager(max_episodes=2)

        async def go():
            a = await m.reset("easy", 1)
            await m.reset("easy", 2)
            with pytest.raises(ResourceExhausted):
                await m.reset("easy", 3)
            await m.close(a.episode_id)
            await m.reset("easy", 3)

        run(go())
        assert len(m) == 2

    def test_generator_outage_creates_nothing(self):
        """If the scenario cannot be fetched, no episode exists and no slot is held."""
        m, scenarios, _ = manager(max_episodes=1)
        scenarios.fail = True
        with pytest.raises(Unavailable):
            run(m.reset("easy", 1))
        scenarios.fail = False
        assert run(m.reset("easy", 1)).step_count == 0


class TestRewards:
    def test_first_read_repeat_and_variant(self):
        """First read +0.02, identical repeat -0.02, a different filter on a read file 0."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("medium", 1)
            return await steps(
                m, ep.episode_id, Action("read_logs"), Action("read_logs"), Action("read_logs", log_filter="loss")
            )

        rewards = [r.reward for r in run(go())]
        assert rewards == [0.02, -0.02, 0.0]

    def test_sanity_checks_reward_once_per_type(self):
        """Each sanity check type earns +0.01 the first time only."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            return await steps(
                m,
                ep.episode_id,
                Action("run_sanity_check", check="data_leakage"),
                Action("run_sanity_check", check="data_leakage"),
                Action("run_sanity_check", check="class_balance"),
            )

        results = run(go())
        assert [r.reward for r in results] == [0.01, 0.0, 0.01]
        assert results[-1].episode.sanity_checks_run == ["data_leakage", "class_balance"]

    def test_query_counts_as_reading_the_artifact(self):
        """A first query of an artifact is a first read; the same query again is a repeat."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            q = Action("query_artifact", artifact="config.yaml", field_path="optimizer.learning_rate")
            return await steps(m, ep.episode_id, q, q, Action("read_config"))

        results = run(go())
        assert [r.reward for r in results] == [0.02, -0.02, 0.0]
        assert results[0].outcome.found and results[0].outcome.value_json == "0.001"
        assert results[-1].episode.duplicate_reads == 1

    def test_cumulative_reward_sums_step_rewards(self):
        """The cumulative reward is the sum of all step rewards, including the grade."""
        m, _, grader = manager()
        grader.score = 0.7

        async def go():
            ep = await m.reset("easy", 1)
            await steps(m, ep.episode_id, Action("read_config"), Action("read_config"))
            return await m.step(ep.episode_id, Action("submit_diagnosis", diagnosis=DIAG))

        result = run(go())
        assert result.episode.cumulative_reward == pytest.approx(0.02 - 0.02 + 0.7)
        assert result.episode.terminated and result.reward == 0.7


class TestBudget:
    def test_last_step_is_executed_then_truncated(self):
        """The action that reaches max_steps runs and the episode is truncated."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            results = await steps(m, ep.episode_id, *[Action("read_config")] * 20)
            with pytest.raises(FailedPrecondition):
                await m.step(ep.episode_id, Action("read_config"))
            return results

        results = run(go())
        last = results[-1]
        assert last.episode.truncated and not last.episode.terminated and last.episode.step_count == 20
        assert isinstance(last.outcome.content, str)
        assert any("truncated" in msg for msg in last.messages)

    def test_submission_on_the_last_step_is_graded(self):
        """A diagnosis submitted with the last step terminates rather than truncates."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            await steps(m, ep.episode_id, *[Action("read_config")] * 19)
            return await m.step(ep.episode_id, Action("submit_diagnosis", diagnosis=DIAG))

        ep = run(go()).episode
        assert ep.terminated and not ep.truncated and ep.step_count == 20


class TestRefusals:
    @pytest.mark.parametrize(
        "action,field",
        [
            (Action(""), "action"),
            (Action("run_sanity_check"), "action.run_sanity_check.check"),
            (Action("query_artifact", artifact="train.log", field_path="x"), "action.query_artifact.artifact"),
            (Action("query_artifact", artifact="config.yaml"), "action.query_artifact.field_path"),
            (Action("read_logs", log_filter="epoch:5-2"), "action.read_logs.log_filter"),
            (Action("read_logs", log_filter="x" * 201), "action.read_logs.log_filter"),
            (Action("submit_diagnosis"), "action.submit_diagnosis.diagnosis"),
            (
                Action("submit_diagnosis", diagnosis=Diagnosis("config_error", "config.yaml", "x" * 201, "", "fix")),
                "action.submit_diagnosis.diagnosis.root_cause_field",
            ),
            (
                Action("submit_diagnosis", diagnosis=Diagnosis("nonsense", "config.yaml", "lr", "", "fix")),
                "action.submit_diagnosis.diagnosis.failure_category",
            ),
        ],
    )
    def test_bad_actions_name_the_field_and_change_nothing(self, action, field):
        """A malformed action is INVALID_ARGUMENT naming the field; the episode is untouched."""
        m, _, grader = manager()

        async def go():
            ep = await m.reset("easy", 1)
            await m.step(ep.episode_id, Action("read_config"))
            with pytest.raises(InvalidArgument) as info:
                await m.step(ep.episode_id, action)
            return ep, info.value

        ep, err = run(go())
        assert field in [v.field for v in err.violations]
        assert (ep.step_count, ep.artifacts_read, ep.cumulative_reward) == (1, ["config.yaml"], 0.02)
        assert grader.calls == []

    def test_unknown_and_closed_episodes_are_not_found(self):
        """Steps on unknown or closed episodes are NOT_FOUND."""
        m, _, _ = manager()

        async def go():
            with pytest.raises(NotFound):
                await m.step("ep-missing", Action("read_config"))
            ep = await m.reset("easy", 1)
            await m.close(ep.episode_id)
            with pytest.raises(NotFound):
                await m.step(ep.episode_id, Action("read_config"))
            with pytest.raises(NotFound):
                await m.close(ep.episode_id)

        run(go())

    def test_grader_outage_leaves_the_episode_open_and_retry_succeeds(self):
        """A submission the grader cannot score changes nothing; the same submission works later."""
        m, _, grader = manager()

        async def go():
            ep = await m.reset("hard", 1)
            await m.step(ep.episode_id, Action("read_config"))
            grader.fail = True
            with pytest.raises(Unavailable):
                await m.step(ep.episode_id, Action("submit_diagnosis", diagnosis=DIAG))
            assert (ep.step_count, ep.done, ep.cumulative_reward) == (1, False, 0.02)
            grader.fail = False
            return await m.step(ep.episode_id, Action("submit_diagnosis", diagnosis=DIAG))

        result = run(go())
        assert result.episode.terminated and result.episode.step_count == 2

    def test_the_submitted_diagnosis_reaches_the_grader(self):
        """The grader receives the diagnosis as submitted (whether it reveals the answer is its own setting)."""
        m, _, grader = manager()

        async def go():
            ep = await m.reset("easy", 1)
            await m.step(ep.episode_id, Action("submit_diagnosis", diagnosis=DIAG))

        run(go())
        assert grader.calls == [DIAG]


class TestLogsAndQueries:
    def test_epoch_filter_keeps_whole_epochs(self):
        """epoch:2-3 keeps every line from the start of epoch 2 to the end of epoch 3."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            return await m.step(ep.episode_id, Action("read_logs", log_filter="epoch:2-3"))

        excerpt = run(go()).outcome
        assert excerpt.matched_lines == 4 and excerpt.total_lines == 8
        assert "Epoch 1/3" not in excerpt.content and "step 30" in excerpt.content

    def test_keyword_filter_is_case_insensitive(self):
        """A keyword filter keeps the lines containing it, ignoring case."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            return await m.step(ep.episode_id, Action("read_logs", log_filter="WARNING"))

        assert run(go()).outcome.matched_lines == 1

    def test_missing_path_lists_available_keys(self):
        """A path that does not exist is a result, not an error, and lists the keys there."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            return await m.step(ep.episode_id, Action("query_artifact", artifact="config.yaml", field_path="optimizer.lr"))

        lookup = run(go()).outcome
        assert not lookup.found and lookup.available_keys == ("learning_rate", "name")


class TestIdle:
    def test_idle_episodes_are_reaped(self):
        """Episodes idle past the timeout are closed by the reaper."""
        now = [0.0]
        scenarios, grader = FakeScenarios(), FakeGrader()
        m = EpisodeManager(scenarios, grader, EpisodeConfig(idle_timeout_s=10), clock=lambda: now[0])

        async def go():
            a = await m.reset("easy", 1)
            now[0] = 5.0
            b = await m.reset("easy", 2)
            now[0] = 12.0
            return a, b, m.reap_idle()

        a, b, expired = run(go())
        assert expired == [a.episode_id] and m.has(b.episode_id)


class TestStepBatch:
    def test_a_batch_equals_the_same_steps_taken_one_by_one(self):
        """Each item's result, reward and episode state match a plain step of the same action."""
        plan = [
            Action("read_config"),
            Action("run_sanity_check", check="data_leakage"),
            Action("read_logs", log_filter="warning"),
        ]

        async def one_by_one():
            m, _, _ = manager()
            eps = [await m.reset("easy", s) for s in (1, 2, 3)]
            return [await m.step(ep.episode_id, a) for ep, a in zip(eps, plan, strict=True)]

        async def batched():
            m, _, _ = manager()
            eps = [await m.reset("easy", s) for s in (1, 2, 3)]
            return await m.step_batch([(ep.episode_id, a) for ep, a in zip(eps, plan, strict=True)])

        for single, batch in zip(run(one_by_one()), run(batched()), strict=True):
            assert (batch.outcome, batch.reward, batch.messages) == (single.outcome, single.reward, single.messages)
            assert (batch.episode.step_count, batch.episode.artifacts_read) == (
                single.episode.step_count,
                single.episode.artifacts_read,
            )

    def test_item_errors_stay_in_their_place_and_change_nothing(self):
        """A bad action, an unknown episode, a missing action and an ended episode fail alone."""
        m, _, _ = manager()

        async def go():
            eps = [await m.reset("easy", s) for s in range(5)]
            await m.step(eps[4].episode_id, Action("submit_diagnosis", diagnosis=DIAG))
            results = await m.step_batch(
                [
                    (eps[0].episode_id, Action("read_config")),
                    (eps[1].episode_id, Action("run_sanity_check")),
                    ("ep-missing", Action("read_config")),
                    (eps[2].episode_id, None),
                    (eps[4].episode_id, Action("read_config")),
                    (eps[3].episode_id, Action("read_eval_results")),
                ]
            )
            return eps, results

        eps, results = run(go())
        assert [type(r).__name__ for r in results] == [
            "StepResult",
            "InvalidArgument",
            "NotFound",
            "InvalidArgument",
            "FailedPrecondition",
            "StepResult",
        ]
        assert results[3].violations[0].field == "action" and results[3].reason == "ACTION_MISSING"
        assert [ep.step_count for ep in eps] == [1, 0, 0, 1, 1]
        assert eps[1].artifacts_read == [] and eps[2].artifacts_read == []

    @pytest.mark.parametrize("size", [0, 65])
    def test_batch_size_is_bounded(self, size):
        """An empty batch or one over 64 steps is refused whole."""
        m, _, _ = manager()
        with pytest.raises(InvalidArgument) as info:
            run(m.step_batch([(f"ep-{i}", Action("read_config")) for i in range(size)]))
        assert info.value.reason == "BATCH_SIZE"

    def test_two_steps_on_one_episode_refuse_the_whole_batch(self):
        """One step per episode per batch; a duplicate refuses the batch before any item runs."""
        m, _, _ = manager()

        async def go():
            ep = await m.reset("easy", 1)
            other = await m.reset("easy", 2)
            with pytest.raises(InvalidArgument) as info:
                await m.step_batch(
                    [(other.episode_id, Action("read_config")), (ep.episode_id, Action("read_config")),
                     (ep.episode_id, Action("read_logs"))]
                )  # fmt: skip
            return ep, other, info.value

        ep, other, err = run(go())
        assert err.reason == "BATCH_DUPLICATE" and err.violations[0].field == "steps"
        assert ep.step_count == 0 and other.step_count == 0

    def test_submissions_are_graded_concurrently_and_a_grader_outage_fails_only_them(self):
        """Submissions of one batch wait on the grader together; an outage leaves their episodes open."""
        m, _, grader = manager()
        in_flight = {"now": 0, "peak": 0}
        grade = grader.grade

        async def slow_grade(*args, **kwargs):
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
            await asyncio.sleep(0.01)
            in_flight["now"] -= 1
            return await grade(*args, **kwargs)

        grader.grade = slow_grade

        async def go():
            eps = [await m.reset("hard", s) for s in range(4)]
            submit = Action("submit_diagnosis", diagnosis=DIAG)
            graded = await m.step_batch(
                [(ep.episode_id, submit) for ep in eps[:3]] + [(eps[3].episode_id, Action("read_config"))]
            )
            grader.fail = True
            more = [await m.reset("hard", s) for s in range(4, 6)]
            failed = await m.step_batch(
                [(more[0].episode_id, submit), (more[1].episode_id, Action("read_config"))]
            )
            return eps, graded, more, failed

        eps, graded, more, failed = run(go())
        assert in_flight["peak"] == 3
        assert all(r.episode.terminated for r in graded[:3]) and graded[3].reward == 0.02
        assert isinstance(failed[0], Unavailable) and not more[0].done and more[0].step_count == 0
        assert failed[1].episode.step_count == 1


class TestObservationTemplates:
    """The servicer's conversion layer (no server): the static part of observations is built once per
    scenario, shared by its episodes, bounded, and never changes what an observation says."""

    @staticmethod
    def servicer():
        from mlopsdebug_episode.server import EpisodeServicer

        m, _, _ = manager()
        return EpisodeServicer(m)

    @staticmethod
    async def reset(servicer, task_id: str, seed: int):
        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb

        _, response = await servicer._reset(ep_pb.ResetRequest(task_id=task_id, seed=seed), "")
        return response

    def test_episodes_on_one_scenario_share_its_template_and_observe_alike(self):
        servicer = self.servicer()

        async def scenario():
            first = await self.reset(servicer, "easy", 1)
            second = await self.reset(servicer, "easy", 1)
            other = await self.reset(servicer, "medium", 1)
            return first, second, other

        first, second, other = run(scenario())
        assert len(servicer._templates) == 2
        assert first.observation == second.observation
        assert other.observation.task_id == "medium" and first.observation.task_id == "easy"
        assert [a.size_hint for a in first.observation.available_artifacts][0] == "6 lines"

    def test_the_cache_is_bounded_and_a_dropped_template_is_rebuilt_identically(self, monkeypatch):
        from mlopsdebug_episode import server

        monkeypatch.setattr(server, "TEMPLATE_CACHE_SIZE", 2)
        servicer = self.servicer()

        async def scenario():
            first = await self.reset(servicer, "easy", 1)
            for seed in (2, 3, 4):
                await self.reset(servicer, "easy", seed)
            assert len(servicer._templates) == 2 and "sc-easy-1" not in servicer._templates
            return first, await self.reset(servicer, "easy", 1)

        first, again = run(scenario())
        assert first.observation == again.observation

    def test_pre_encoded_observations_are_byte_for_byte_the_messages_encoding(self):
        """Step and Session send the cached static bytes plus the step's own fields: every kind of
        outcome, message, reward and end must encode exactly as the whole message would."""
        from mlopsdebug_episode import convert

        m, _, _ = manager()
        reads = [
            Action("read_config"),
            Action("read_logs", log_filter="epoch:2"),
            Action("read_logs"),
            Action("run_sanity_check", check=SANITY_CHECKS[0]),
            Action("query_artifact", artifact="config.yaml", field_path="optimizer.learning_rate"),
            Action("query_artifact", artifact="eval_results.json", field_path="metrics.nope"),
            Action("read_config"),  # repeated: a negative reward and a message
        ]

        async def play():
            pairs = []
            for task_id, last in (("easy", Action("submit_diagnosis", diagnosis=DIAG)), ("hard", None)):
                episode = await m.reset(task_id, 7)
                parts = convert.ObservationParts.of(episode)
                pairs.append((convert.observation_bytes(parts, episode),
                              convert.fill_observation(parts.template, episode).SerializeToString()))
                actions = [*reads, last] if last is not None else reads * 10  # "hard" runs out of steps
                for action in actions:
                    if episode.done:
                        break
                    result = await m.step(episode.episode_id, action)
                    pairs.append((convert.observation_bytes(parts, episode, result),
                                  convert.fill_observation(parts.template, episode, result).SerializeToString()))
            return pairs, episode

        pairs, hard = run(play())
        assert hard.truncated and len(pairs) > 20
        for encoded, expected in pairs:
            assert encoded == expected

    def test_cached_action_results_are_per_scenario(self):
        """Step's encoded result is cached by (scenario, action): the same read or query on another
        scenario answers from that scenario's artifact, and asking again hits the cache."""
        import dataclasses

        from mlopsdebug.common.v1 import common_pb2 as pb
        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
        from mlopsdebug_episode.server import EpisodeServicer

        class VaryingScenarios(FakeScenarios):
            async def get(self, task_id: str, seed: int, split: str = "all") -> Scenario:
                base = make_scenario(task_id, seed)
                docs = tuple(
                    dataclasses.replace(doc, content=f"seed: {seed}\n{doc.content}") if doc.name == "config.yaml" else doc
                    for doc in base.artifacts
                )
                return dataclasses.replace(base, artifacts=docs)

        m = EpisodeManager(VaryingScenarios(), FakeGrader(), EpisodeConfig())
        servicer = EpisodeServicer(m)
        read = pb.Action(read_config=pb.ReadConfig())
        query = pb.Action(query_artifact=pb.QueryArtifact(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="seed"))

        async def play():
            seen = []
            for seed in (1, 2, 1):
                episode = await m.reset("easy", seed)
                for action in (read, query, read):
                    request = ep_pb.StepRequest(episode_id=episode.episode_id, action=action)
                    encoded = await servicer._step(request, "")
                    seen.append((seed, pb.Observation.FromString(encoded).last_action_result))
            return seen

        seen = run(play())
        assert len(seen) == 9
        for seed, result in seen:
            if result.WhichOneof("result") == "artifact":
                assert result.artifact.content.startswith(f"seed: {seed}\n")
            else:
                assert result.field.found and result.field.value_json == str(seed)
        assert len(servicer._results) == 4  # two actions on each of two scenarios

    def test_an_encoded_batch_carries_each_items_observation_or_error(self):
        from mlopsdebug.common.v1 import common_pb2 as pb
        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
        from mlopsdebug_episode import convert

        servicer = self.servicer()
        m = servicer._manager

        async def play():
            episode, other = await m.reset("easy", 3), await m.reset("easy", 4)
            await m.step(episode.episode_id, Action("read_config"))
            request = ep_pb.StepBatchRequest(steps=[
                ep_pb.StepRequest(episode_id=other.episode_id, action=pb.Action(read_config=pb.ReadConfig())),
                ep_pb.StepRequest(episode_id="ep-nobody", action=pb.Action(read_config=pb.ReadConfig())),
                ep_pb.StepRequest(action=pb.Action(read_logs=pb.ReadLogs(log_filter="epoch:1"))),
            ])
            encoded = await servicer._step_batch(request, "", episode.episode_id)
            return episode, ep_pb.StepBatchResponse.FromString(encoded)

        episode, response = run(play())
        assert [r.WhichOneof("result") for r in response.results] == ["step", "error", "step"]
        assert response.results[1].error.code == 5  # NOT_FOUND
        last = response.results[2].step.observation
        assert last.step_count == 2 and last.last_action_result.logs.matched_lines == 3
        expected = convert.fill_observation(convert.observation_template(episode), episode)
        assert last.run_summary == expected.run_summary and list(last.artifacts_read) == ["config.yaml", "train.log"]


class TestHandEncodedFields:
    """The servicer writes an observation's changing fields and the envelopes around it by hand; each
    must be byte for byte what protobuf writes, at the edges where the encodings differ."""

    @pytest.mark.parametrize("reward", [0.0, -0.0, 0.02, -0.02, 1e-300, float("inf"), float("-inf")])
    @pytest.mark.parametrize("cumulative", [0.0, -0.0, 0.7, -3.25])
    def test_changing_fields_match_the_message(self, reward, cumulative):
        from types import SimpleNamespace

        from mlopsdebug.common.v1 import common_pb2 as pb
        from mlopsdebug_episode import convert

        messages = ("Identical to an earlier read; repeated reads cost reward.", "1 step left. é✓")
        for step_count, max_steps in ((0, 0), (1, 40), (127, 128), (300, 20_000), (-1, 5)):
            for terminated, truncated in ((False, False), (True, False), (False, True), (True, True)):
                for with_result in (False, True):
                    episode = SimpleNamespace(
                        step_count=step_count, task=SimpleNamespace(max_steps=max_steps), terminated=terminated,
                        truncated=truncated, cumulative_reward=cumulative,
                    )
                    result = SimpleNamespace(reward=reward, messages=messages) if with_result else None
                    expected = pb.Observation(
                        step_count=step_count, max_steps=max_steps, terminated=terminated, truncated=truncated,
                        done=terminated or truncated, cumulative_reward=cumulative,
                    )
                    if result is not None:
                        expected.reward = reward
                        expected.messages.extend(messages)
                    assert convert._changing_fields(episode, result) == expected.SerializeToString()  # type: ignore[arg-type]

    @pytest.mark.parametrize("size", [0, 1, 127, 128, 16_383, 16_384, 70_000])
    def test_nested_fields_match_the_message(self, size):
        from mlopsdebug.common.v1 import common_pb2 as pb
        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
        from mlopsdebug_episode import convert

        observation = pb.Observation(task_description="x" * size)
        encoded = observation.SerializeToString()
        request_id = convert.length_delimited(1, b"request-7")
        session = ep_pb.SessionResponse(request_id="request-7", step=ep_pb.StepResponse(observation=observation))
        assert convert.nested((3, 1), encoded, request_id) == session.SerializeToString()
        batch = ep_pb.StepBatchResponse(results=[ep_pb.StepBatchResult(step=ep_pb.StepResponse(observation=observation))])
        assert convert.nested((1, 1, 1), encoded) == batch.SerializeToString()

    def test_shared_actions_equal_freshly_converted_ones(self):
        from mlopsdebug.common.v1 import common_pb2 as pb
        from mlopsdebug_common.convert import CHECK_TO_PB
        from mlopsdebug_episode import convert

        assert convert.action_from_pb(pb.Action(read_config=pb.ReadConfig())) == Action("read_config")
        for check, number in CHECK_TO_PB.items():
            action = convert.action_from_pb(pb.Action(run_sanity_check=pb.RunSanityCheck(check=number)))
            assert action == Action("run_sanity_check", check=check)
        assert convert.action_from_pb(pb.Action(run_sanity_check=pb.RunSanityCheck(check=999))) == Action(  # type: ignore[arg-type]
            "run_sanity_check", check=""
        )

    def test_a_negative_varint_is_refused_not_read_from_the_table_backwards(self):
        from mlopsdebug_episode import convert

        with pytest.raises(ValueError):
            convert._varint(-1)
        assert convert._int32(-1) == b"\xff" * 9 + b"\x01"
