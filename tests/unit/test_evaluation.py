"""Unit tests of sealed evaluations (services/episode/src/mlopsdebug_episode/evaluation.py) through the pure episode core."""

from __future__ import annotations

import asyncio

import pytest

from mlopsdebug_common.domain import (
    ARTIFACT_FILES,
    SANITY_CHECKS,
    ArtifactDoc,
    Diagnosis,
    Grade,
    GradeComponent,
    RevealedAnswer,
    RunSummary,
    SanityCheckResult,
    Scenario,
)
from mlopsdebug_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from mlopsdebug_common.sealing import SealedKey
from mlopsdebug_episode import convert
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import EpisodeManager
from mlopsdebug_episode.evaluation import (
    GRADED,
    NOT_STARTED,
    TRUNCATED,
    UNFINISHED,
    EvaluationBook,
    MemoryEvaluationStore,
    score_only,
    stream_seed,
)

KEY = b"k" * 32
DIAG = Diagnosis("config_error", "config.yaml", "optimizer.learning_rate", "lr too high", "set lr to 1e-3")
READ = Action("read_config")
SUBMIT = Action("submit_diagnosis", diagnosis=DIAG)


def make_scenario(task_id: str, seed: int) -> Scenario:
    return Scenario(
        scenario_id=f"scn-{task_id}-{seed}",
        task_id=task_id,
        seed=seed,
        generator_version="test",
        run_summary=RunSummary(
            "run-1",
            "mlp",
            "iris",
            "tabular",
            "completed",
            3,
            3,
            1.4,
            1.5,
            "accuracy",
            0.9,
            0.88,
            30.0,
            "2026-03-01T10:00:00Z",
        ),
        artifacts=tuple(ArtifactDoc(n, "{}", f"the {n}", "2026-03-01T10:00:30Z") for n in ARTIFACT_FILES),
        sanity_checks=tuple(SanityCheckResult(c, "pass", f"{c} ok", {"value": 1.0}) for c in SANITY_CHECKS),
        answer_key=SealedKey("kid", b"n" * 12, b"cipher", f"scn-{task_id}-{seed}"),
    )


class Scenarios:
    def __init__(self) -> None:
        self.fail = False
        self.requested: list[tuple[str, int]] = []

    async def get(self, task_id: str, seed: int, split: str = "all") -> Scenario:
        if self.fail:
            raise Unavailable("generator down")
        self.requested.append((task_id, seed))
        return make_scenario(task_id, seed)


def full_grade(score: float = 0.55) -> Grade:
    return Grade(
        score,
        score,
        False,
        (
            GradeComponent("category", 0.15, 0.0, "the category is wrong"),
            GradeComponent("file", 0.25, 1.0, "the file is right"),
            GradeComponent("field", 0.30, 1.0, "the field is right"),
            GradeComponent("fix", 0.30, 0.0, "the fix does not change the parameter"),
        ),
        "2.0.0",
        RevealedAnswer("exploding_lr", "config_error", "config.yaml", "optimizer.learning_rate", (), "rule"),
    )


class Grader:
    def __init__(self) -> None:
        self.gate: asyncio.Event | None = None
        self.calls = 0

    async def grade(self, key, diagnosis, *, task):
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return full_grade()


def make(**book) -> tuple[EpisodeManager, Scenarios, Grader]:
    scenarios, grader = Scenarios(), Grader()
    return EpisodeManager(scenarios, grader, evaluations=EvaluationBook(**book)), scenarios, grader


def book_of(m: EpisodeManager) -> EvaluationBook:
    """The memory store's book, whose evaluations these tests inspect directly."""
    assert isinstance(m.evaluations, MemoryEvaluationStore)
    return m.evaluations.book


def run(coro):
    return asyncio.run(coro)


class TestCreate:
    @pytest.mark.parametrize(
        "plan,key,field",
        [
            ([], b"", "tasks"),
            ([("nope", 1)], b"", "tasks[0].task_id"),
            ([("easy", 1), ("easy", 2)], b"", "tasks[1].task_id"),
            ([("easy", 0)], b"", "tasks[0].episodes"),
            ([("easy", 2_001)], b"", "tasks[0].episodes"),
            ([("easy", 1_000), ("hard", 1_001)], b"", "tasks"),
            ([("easy", 1)], b"short", "scenario_stream_key"),
            ([("easy", 1)], b"x" * 65, "scenario_stream_key"),
        ],
    )
    def test_bad_plans_are_invalid_argument_naming_the_field(self, plan, key, field):
        """Each malformed request names its field, and nothing is created."""
        book = EvaluationBook()
        with pytest.raises(InvalidArgument) as err:
            book.create(plan, key)
        assert err.value.violations[0].field == field
        assert len(book) == 0

    def test_seeds_are_distinct_and_a_pure_function_of_the_key(self):
        """The same key plans the same seeds; another key others; no seed twice in a task."""
        first, _ = EvaluationBook().create([("easy", 50), ("hard", 5)], KEY)
        again, _ = EvaluationBook().create([("easy", 50), ("hard", 5)], KEY)
        other, _ = EvaluationBook().create([("easy", 50), ("hard", 5)], b"o" * 32)
        seeds = [s.seed for s in first.slots["easy"]]
        assert seeds == [s.seed for s in again.slots["easy"]]
        assert len(set(seeds)) == 50
        assert not set(seeds) & {s.seed for s in other.slots["easy"]}
        assert seeds[0] == stream_seed(KEY, "easy", 0)

    def test_ids_and_tokens_are_random_and_a_key_is_drawn_when_none_is_given(self):
        book = EvaluationBook()
        (a, token_a), (b, token_b) = book.create([("easy", 1)]), book.create([("easy", 1)])
        assert a.evaluation_id != b.evaluation_id and token_a != token_b
        assert len(a.stream_key) == 32 and a.stream_key != b.stream_key

    def test_capacity_evicts_closed_evaluations_then_refuses(self):
        """With every slot open a new evaluation is RESOURCE_EXHAUSTED; a closed one makes room."""
        book = EvaluationBook(max_evaluations=2)
        first, token = book.create([("easy", 1)])
        book.create([("easy", 1)])
        with pytest.raises(ResourceExhausted) as err:
            book.create([("easy", 1)])
        assert err.value.reason == "EVALUATION_CAPACITY"
        book.close(first.evaluation_id, token)
        book.create([("easy", 1)])
        with pytest.raises(NotFound):
            book.get(first.evaluation_id)

    def test_evaluations_idle_too_long_are_closed_when_room_is_needed(self):
        """An evaluation nobody uses cannot hold the capacity forever: when room is needed the service
        closes it (its episodes then refuse actions) and evicts it after the reports already closed."""
        now = [0.0]
        m, _, _ = make(max_evaluations=3, idle_timeout_s=100.0, clock=lambda: now[0])
        idle, idle_token = book_of(m).create([("easy", 2)], KEY)
        busy, _ = book_of(m).create([("easy", 2)], KEY)
        done, done_token = book_of(m).create([("easy", 1)], KEY)
        book_of(m).close(done.evaluation_id, done_token)
        episode = run(m.reset("easy", evaluation_id=idle.evaluation_id))
        now[0] = 90.0
        run(m.reset("easy", evaluation_id=busy.evaluation_id))
        now[0] = 150.0  # idle was last active at 0, busy at 90: only idle is past the timeout
        book_of(m).create([("easy", 1)])
        assert idle.closed and idle.expired and not busy.closed
        with pytest.raises(NotFound):
            book_of(m).get(done.evaluation_id)  # the report its operator already has went first
        with pytest.raises(FailedPrecondition) as err:
            run(m.step(episode.episode_id, READ))
        assert err.value.reason == "EVALUATION_CLOSED" and "idle" in err.value.message
        report = book_of(m).close(idle.evaluation_id, idle_token)
        assert [e.status for e in report.episodes] == [UNFINISHED, NOT_STARTED]
        book_of(m).create([("easy", 1)])
        with pytest.raises(NotFound):
            book_of(m).get(idle.evaluation_id)
        assert not busy.closed


class TestReset:
    def test_resets_take_the_planned_scenarios_in_order_and_withhold_them(self):
        """The service picks each scenario; the agent-facing messages carry neither seed nor scenario id."""
        m, scenarios, _ = make()
        evaluation, _ = book_of(m).create([("easy", 2), ("medium", 1)], KEY)

        async def go():
            return [await m.reset("", evaluation_id=evaluation.evaluation_id) for _ in range(3)]

        episodes = run(go())
        planned = [(s.task_id, s.seed) for t in ("easy", "medium") for s in evaluation.slots[t]]
        assert scenarios.requested == planned
        assert [e.task.task_id for e in episodes] == ["easy", "easy", "medium"]
        for episode in episodes:
            reset = convert.reset_to_pb(
                episode, convert.fill_observation(convert.observation_template(episode), episode)
            )
            state = convert.state_to_pb(episode)
            assert reset.sealed and reset.seed == 0
            assert state.sealed and state.seed == 0 and state.scenario_id == ""
            assert state.evaluation_id == evaluation.evaluation_id
            assert str(episode.seed) not in str(reset) + str(state)

    def test_a_named_task_takes_that_tasks_next_scenario(self):
        m, _, _ = make()
        evaluation, _ = book_of(m).create([("easy", 1), ("hard", 1)], KEY)
        episode = run(m.reset("hard", evaluation_id=evaluation.evaluation_id))
        assert (episode.task.task_id, episode.seed) == ("hard", evaluation.slots["hard"][0].seed)

    @pytest.mark.parametrize(
        "evaluation_id,task,seed,error,reason",
        [
            ("ev-unknown", "easy", None, NotFound, "EVALUATION_NOT_FOUND"),
            (None, "easy", 3, InvalidArgument, "SEED_IN_EVALUATION"),
            (None, "medium", None, InvalidArgument, "TASK_NOT_IN_EVALUATION"),
            (None, "nope", None, InvalidArgument, "TASK_NOT_IN_EVALUATION"),
        ],
    )
    def test_bad_resets_are_refused_and_take_nothing(self, evaluation_id, task, seed, error, reason):
        m, scenarios, _ = make()
        evaluation, _ = book_of(m).create([("easy", 1)], KEY)
        with pytest.raises(error) as err:
            run(m.reset(task, seed, evaluation_id=evaluation_id or evaluation.evaluation_id))
        assert err.value.reason == reason
        assert scenarios.requested == [] and evaluation.progress().tasks[0].started == 0

    def test_an_exhausted_evaluation_is_failed_precondition(self):
        """Each scenario is played by one episode: no reset can draw it again."""
        m, _, _ = make()
        evaluation, _ = book_of(m).create([("easy", 1)], KEY)

        async def go():
            await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            for task in ("easy", ""):
                with pytest.raises(FailedPrecondition) as err:
                    await m.reset(task, evaluation_id=evaluation.evaluation_id)
                assert err.value.reason == "EVALUATION_EXHAUSTED"

        run(go())

    def test_a_scenario_that_could_not_be_fetched_is_put_back(self):
        """A reset that fails on the generator consumes nothing: the next one gets the same scenario."""
        m, scenarios, _ = make()
        evaluation, _ = book_of(m).create([("easy", 1)], KEY)
        scenarios.fail = True
        with pytest.raises(Unavailable):
            run(m.reset("easy", evaluation_id=evaluation.evaluation_id))
        assert evaluation.progress().tasks[0].started == 0
        scenarios.fail = False
        episode = run(m.reset("easy", evaluation_id=evaluation.evaluation_id))
        assert episode.seed == evaluation.slots["easy"][0].seed

    def test_a_deployment_that_requires_evaluations_refuses_training_resets(self):
        m, scenarios, _ = make(require_evaluation=True)
        with pytest.raises(FailedPrecondition) as err:
            run(m.reset("easy", 1))
        assert err.value.reason == "EVALUATION_REQUIRED" and scenarios.requested == []
        evaluation, _ = book_of(m).create([("easy", 1)], KEY)
        assert run(m.reset("easy", evaluation_id=evaluation.evaluation_id)).sealed


class TestGrading:
    def test_the_agent_sees_only_the_score_and_the_report_keeps_the_full_grade(self):
        m, _, _ = make()
        evaluation, token = book_of(m).create([("easy", 1)], KEY)

        async def go():
            episode = await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            return episode, await m.step(episode.episode_id, SUBMIT)

        episode, result = run(go())
        assert result.outcome == episode.grade == score_only(full_grade())
        assert result.outcome.components == () and result.outcome.answer is None and result.reward == 0.55
        assert not convert.state_to_pb(episode).grade.components
        report = book_of(m).close(evaluation.evaluation_id, token)
        assert report.episodes[0].grade == full_grade() and report.episodes[0].status == GRADED

    def test_training_mode_keeps_the_detailed_grade(self):
        m, _, _ = make()

        async def go():
            episode = await m.reset("easy", 5)
            return await m.step(episode.episode_id, SUBMIT)

        assert run(go()).outcome == full_grade()

    def test_a_closed_evaluation_refuses_every_action_and_freezes_the_report(self):
        m, _, grader = make()
        evaluation, token = book_of(m).create([("easy", 1)], KEY)
        episode = run(m.reset("easy", evaluation_id=evaluation.evaluation_id))
        report = book_of(m).close(evaluation.evaluation_id, token)
        for action in (READ, SUBMIT):
            with pytest.raises(FailedPrecondition) as err:
                run(m.step(episode.episode_id, action))
            assert err.value.reason == "EVALUATION_CLOSED"
        assert grader.calls == 0 and episode.step_count == 0
        with pytest.raises(FailedPrecondition):
            run(m.reset("easy", evaluation_id=evaluation.evaluation_id))
        assert book_of(m).close(evaluation.evaluation_id, token) is report

    def test_a_submission_graded_while_the_evaluation_closes_is_refused_and_changes_nothing(self):
        """The grade that arrives after the report was made never reaches the agent."""
        m, _, grader = make()
        evaluation, token = book_of(m).create([("easy", 1)], KEY)

        async def go():
            episode = await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            grader.gate = asyncio.Event()
            submission = asyncio.create_task(m.step(episode.episode_id, SUBMIT))
            while grader.calls == 0:
                await asyncio.sleep(0)
            report = book_of(m).close(evaluation.evaluation_id, token)
            grader.gate.set()
            with pytest.raises(FailedPrecondition):
                await submission
            return episode, report

        episode, report = run(go())
        assert episode.grade is None and not episode.done and episode.step_count == 0
        assert report.episodes[0].status == UNFINISHED and report.episodes[0].grade is None

    def test_wrong_or_missing_operator_tokens_are_permission_denied(self):
        book = EvaluationBook()
        evaluation, token = book.create([("easy", 1)])
        other, _ = book.create([("easy", 1)])
        for wrong in ("", token + "x", book.create([("easy", 1)])[1]):
            with pytest.raises(PermissionDenied):
                book.close(evaluation.evaluation_id, wrong)
        with pytest.raises(PermissionDenied):
            book.close(other.evaluation_id, token)
        assert not evaluation.closed
        with pytest.raises(NotFound):
            book.close("ev-nope", token)


class TestReport:
    def test_the_report_lists_every_planned_episode_with_its_status(self):
        """Graded, truncated, unfinished and never started, in plan order; ungraded ones score 0."""
        m, _, _ = make()
        evaluation, token = book_of(m).create([("easy", 4)], KEY)

        async def go():
            graded = await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            await m.step(graded.episode_id, SUBMIT)
            truncated = await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            for _ in range(truncated.task.max_steps):
                await m.step(truncated.episode_id, READ)
            unfinished = await m.reset("easy", evaluation_id=evaluation.evaluation_id)
            await m.step(unfinished.episode_id, READ)
            await m.close(unfinished.episode_id)
            return graded, truncated, unfinished

        graded, truncated, unfinished = run(go())
        progress = evaluation.progress().tasks[0]
        assert (progress.started, progress.ended) == (3, 2)
        report = book_of(m).close(evaluation.evaluation_id, token)
        rows = [(e.index, e.status, e.episode_id, e.step_count, e.score) for e in report.episodes]
        assert rows == [
            (0, GRADED, graded.episode_id, 1, 0.55),
            (1, TRUNCATED, truncated.episode_id, 20, 0.0),
            (2, UNFINISHED, unfinished.episode_id, 1, 0.0),
            (3, NOT_STARTED, "", 0, 0.0),
        ]
        assert [e.seed for e in report.episodes] == [s.seed for s in evaluation.slots["easy"]]
        assert report.episodes[0].scenario_id == f"scn-easy-{report.episodes[0].seed}"
        assert (report.tasks[0].graded, report.tasks[0].mean_score) == (1, pytest.approx(0.55 / 4))
        assert report.stream_key == KEY

    def test_the_report_is_a_pure_function_of_the_key_and_the_play(self):
        """Two evaluations with one key, played alike, give the same report but for ids."""

        def play() -> tuple:
            m, _, _ = make()
            evaluation, token = book_of(m).create([("easy", 2), ("hard", 1)], KEY)

            async def go():
                episode = await m.reset("", evaluation_id=evaluation.evaluation_id)
                await m.step(episode.episode_id, SUBMIT)

            run(go())
            report = convert.report_to_pb(book_of(m).close(evaluation.evaluation_id, token))
            report.evaluation_id = ""
            for episode in report.episodes:
                episode.episode_id = ""
            return report.SerializeToString(deterministic=True)

        assert play() == play()
