"""Sealed evaluations over real gRPC: the grade-oracle attack of issue #15 (item 3) works in training
mode and gets nothing in a sealed evaluation; one grade per scenario; score-only grades for the agent;
a complete, deterministic operator report; the right status codes."""

from __future__ import annotations

import pytest
from answers import gold_diagnosis, open_key, seeds_by_fault

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_client import (
    ClientConfig,
    EpisodeClient,
    FailedPreconditionError,
    GeneratorClient,
    InvalidArgumentError,
    MLOpsDebugError,
    NotFoundError,
    ResourceExhaustedError,
    StatusCode,
    actions,
)
from mlopsdebug_common.faults import FAULTS

STREAM_KEY = b"sealed-evaluation-test-key-32byt"
COMPONENT_FIELDS = {
    pb.GRADE_COMPONENT_KIND_CATEGORY: "failure_category",
    pb.GRADE_COMPONENT_KIND_FILE: "root_cause_file",
    pb.GRADE_COMPONENT_KIND_FIELD: "root_cause_field",
    pb.GRADE_COMPONENT_KIND_FIX: "proposed_fix",
}


@pytest.fixture
def client(cluster):
    with EpisodeClient(cluster.episode_addr, config=ClientConfig(timeout_s=15)) as c:
        yield c


@pytest.fixture(scope="module")
def candidates(cluster) -> list[pb.Diagnosis]:
    """What an attacker with the public code can write: the gold answer of each easy fault at each place
    its root cause sat in some scenarios with that fault (values such as a safe learning rate come from
    that scenario; from version 3 a config fault's value may sit in config.yaml or in preprocessing.py's
    overrides dict, under one of a few names)."""
    # Enough seeds per fault that every (file, field) a scenario can name is among them (16 missed one on v4).
    seeds = seeds_by_fault(cluster.address("generator"), cluster.secret, per_fault=48)
    out, seen = [], set()
    with GeneratorClient(cluster.address("generator")) as generator:
        for fault, spec in FAULTS.items():
            if spec.task_id == "easy":
                for seed in seeds[fault]:
                    key = open_key(cluster.secret, generator.generate_scenario("easy", seed).scenario.answer_key)
                    if (fault, key.file, key.field) not in seen:
                        seen.add((fault, key.file, key.field))
                        out.append(gold_diagnosis(key))
    return out


def submit(client: EpisodeClient, episode_id: str, diagnosis: pb.Diagnosis) -> pb.Grade:
    response = client.step(episode_id, pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=diagnosis)))
    return response.observation.last_action_result.grade


def oracle_attack(grade_target, candidates: list[pb.Diagnosis]) -> tuple[float, int]:
    """Issue #15, item 3: grade candidates on one scenario, keep the best-credited value of each
    component, and submit the assembled answer; no artifact is ever read.

    `grade_target(diagnosis)` grades a diagnosis on the target scenario and returns the grade the agent
    sees, or None when the agent cannot get another grade of that scenario. Returns the best score
    obtained on the target and the number of grades obtained.
    """
    best: dict[int, tuple[float, str]] = {}
    scores: list[float] = []
    for candidate in candidates:
        grade = grade_target(candidate)
        if grade is None:
            break
        scores.append(grade.score)
        for component in grade.components:
            value = getattr(candidate, COMPONENT_FIELDS[component.kind])
            if component.credit > best.get(component.kind, (-1.0, ""))[0]:
                best[component.kind] = (component.credit, value)
    if len(best) == len(COMPONENT_FIELDS):
        assembled = pb.Diagnosis()
        assembled.CopyFrom(candidates[0])
        for kind, (_, value) in best.items():
            setattr(assembled, COMPONENT_FIELDS[kind], value)
        grade = grade_target(assembled)
        if grade is not None:
            scores.append(grade.score)
    return max(scores), len(scores)


class TestOracleAttack:
    def test_the_attack_finds_a_perfect_answer_in_training_mode(self, client, candidates):
        """Against detailed grades the attack reaches a perfect score without investigating."""
        for seed in range(3):

            def grade_target(diagnosis: pb.Diagnosis, seed: int = seed) -> pb.Grade:
                episode = client.reset("easy", seed)
                return submit(client, episode.episode_id, diagnosis)

            score, grades = oracle_attack(grade_target, candidates)
            assert score == 1.0 and grades <= len(candidates) + 1

    def test_the_attack_fails_to_beat_guessing_in_a_sealed_evaluation(self, client, candidates):
        """The attacker can get no second grade of a scenario and no component credit, so its graded
        scores are exactly those of a guesser that submits its first candidate on the same scenarios."""
        episodes = 6
        attacker = client.create_evaluation({"easy": episodes}, scenario_stream_key=STREAM_KEY)
        guesser = client.create_evaluation({"easy": episodes}, scenario_stream_key=STREAM_KEY)
        for _ in range(episodes):
            target = client.reset("easy", evaluation_id=attacker.evaluation_id)
            assert target.sealed and target.seed == 0
            run_id = target.observation.run_id
            used = [False]

            # Called within this iteration; the defaults bind this iteration's values all the same (B023).
            def grade_target(diagnosis: pb.Diagnosis, target=target, used=used, run_id=run_id) -> pb.Grade | None:
                if not used[0]:
                    used[0] = True
                    grade = submit(client, target.episode_id, diagnosis)
                    assert grade.score >= 0 and not grade.components and not grade.HasField("answer")
                    return grade
                # Every way to grade the target again: the same episode, a training reset with the
                # seed the service reported, and the evaluation's next scenario. None reaches it.
                with pytest.raises(FailedPreconditionError):
                    submit(client, target.episode_id, diagnosis)
                replay = client.reset("easy", target.seed)
                assert replay.observation.run_id != run_id
                client.close_episode(replay.episode_id)
                return None

            oracle_attack(grade_target, candidates)
            guess = client.reset("easy", evaluation_id=guesser.evaluation_id)
            assert guess.observation.run_id == run_id  # the same scenario, by the shared key
            submit(client, guess.episode_id, candidates[0])
        attacked = client.close_evaluation(attacker.evaluation_id, attacker.operator_token).report
        guessed = client.close_evaluation(guesser.evaluation_id, guesser.operator_token).report
        assert [e.score for e in attacked.episodes] == [e.score for e in guessed.episodes]
        assert [e.seed for e in attacked.episodes] == [e.seed for e in guessed.episodes]
        assert all(e.status == ep_pb.EVALUATION_EPISODE_STATUS_GRADED for e in attacked.episodes)
        # The same attack, given detailed grades of these very scenarios, beats the guesser.
        trained = []
        for episode in attacked.episodes:

            def grade_target(diagnosis: pb.Diagnosis, seed: int = episode.seed) -> pb.Grade:
                return submit(client, client.reset("easy", seed).episode_id, diagnosis)

            trained.append(oracle_attack(grade_target, candidates)[0])
        assert trained == [1.0] * episodes
        assert sum(trained) > sum(e.score for e in guessed.episodes)


class TestSealedEpisodes:
    def test_the_agent_sees_only_scores_and_the_operator_gets_the_full_report(self, client, candidates):
        created = client.create_evaluation([("easy", 2), ("medium", 1)])
        assert [(t.task_id, t.episodes, t.started) for t in created.progress.tasks] == [
            ("easy", 2, 0),
            ("medium", 1, 0),
        ]
        evaluation_id = created.evaluation_id
        played = []
        with client.session() as session:  # the Session stream takes evaluation resets too
            first = session.reset("", evaluation_id=evaluation_id)
            session.step(actions.read_config())
            graded = session.step(pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=candidates[0])))
            state = session.get_state().state
            played.append(first.episode_id)
        observation = graded.observation
        grade = observation.last_action_result.grade
        assert first.sealed and first.seed == 0
        assert observation.terminated and observation.reward == grade.score
        assert not grade.components and not grade.HasField("answer") and grade.raw_score == 0
        assert (
            state.sealed
            and state.seed == 0
            and state.scenario_id == ""
            and state.evaluation_id == evaluation_id
        )
        assert not state.grade.components and state.grade.score == grade.score
        second = client.reset("", evaluation_id=evaluation_id)
        for _ in range(20):
            last = client.step(second.episode_id, actions.read_logs())
        assert last.observation.truncated
        third = client.reset("", evaluation_id=evaluation_id)
        assert third.observation.task_id == "medium"
        progress = client.get_evaluation(evaluation_id).progress
        assert [(t.started, t.ended) for t in progress.tasks] == [(2, 2), (1, 0)]
        assert progress.state == ep_pb.EVALUATION_STATE_OPEN

        report = client.close_evaluation(evaluation_id, created.operator_token).report
        assert client.get_evaluation(evaluation_id).progress.state == ep_pb.EVALUATION_STATE_CLOSED
        rows = [(e.task_id, e.index, e.episode_id, e.status, e.step_count) for e in report.episodes]
        assert rows == [
            ("easy", 0, first.episode_id, ep_pb.EVALUATION_EPISODE_STATUS_GRADED, 2),
            ("easy", 1, second.episode_id, ep_pb.EVALUATION_EPISODE_STATUS_TRUNCATED, 20),
            ("medium", 0, third.episode_id, ep_pb.EVALUATION_EPISODE_STATUS_UNFINISHED, 0),
        ]
        seen = "".join(str(m) for m in (first, graded, state, second, last, third))  # all the agent got
        for episode in report.episodes:
            assert str(episode.seed) not in seen and episode.scenario_id not in seen
        full = report.episodes[0].grade
        assert len(full.components) == 4 and all(c.reason for c in full.components)
        assert full.score == grade.score == report.episodes[0].score
        # The report's grade is exactly the detailed grade of that scenario in training mode.
        replay = client.reset("easy", report.episodes[0].seed)
        assert replay.observation.run_id == first.observation.run_id
        assert submit(client, replay.episode_id, candidates[0]) == full
        assert report.episodes[0].scenario_id == client.get_state(replay.episode_id).state.scenario_id
        assert [(t.task_id, t.graded, t.mean_score) for t in report.tasks] == [
            ("easy", 1, pytest.approx(full.score / 2)),
            ("medium", 0, 0.0),
        ]
        # Closing is final: the running episode refuses actions, no episode starts, the report stays.
        with pytest.raises(FailedPreconditionError):
            client.step(third.episode_id, actions.read_config())
        with pytest.raises(FailedPreconditionError):
            client.reset("medium", evaluation_id=evaluation_id)
        assert client.close_evaluation(evaluation_id, created.operator_token).report == report

    def test_the_report_is_deterministic(self, client, candidates):
        """Two evaluations on one key, played alike, report the same seeds, scenarios and grades."""

        def play() -> ep_pb.EvaluationReport:
            created = client.create_evaluation({"easy": 2, "hard": 1}, scenario_stream_key=STREAM_KEY)
            for _ in range(2):
                episode = client.reset("easy", evaluation_id=created.evaluation_id)
                submit(client, episode.episode_id, candidates[1])
            report = client.close_evaluation(created.evaluation_id, created.operator_token).report
            assert report.scenario_stream_key == STREAM_KEY
            report.evaluation_id = ""
            for episode in report.episodes:
                episode.episode_id = ""
            return report

        first, second = play(), play()
        assert first == second
        assert [e.status for e in first.episodes][-1] == ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED


class TestStatusCodes:
    def test_unknown_evaluations_are_not_found(self, client):
        for call in (
            lambda: client.reset("easy", evaluation_id="ev-nope"),
            lambda: client.get_evaluation("ev-nope"),
            lambda: client.close_evaluation("ev-nope", "token"),
        ):
            with pytest.raises(NotFoundError) as err:
                call()
            assert err.value.reason == "EVALUATION_NOT_FOUND"

    def test_a_wrong_operator_token_is_permission_denied_and_closes_nothing(self, client):
        created = client.create_evaluation({"easy": 1})
        other = client.create_evaluation({"easy": 1})
        for token in ("", "guess", other.operator_token):
            with pytest.raises(MLOpsDebugError) as err:
                client.close_evaluation(created.evaluation_id, token)
            assert err.value.code == StatusCode.PERMISSION_DENIED
        assert client.get_evaluation(created.evaluation_id).progress.state == ep_pb.EVALUATION_STATE_OPEN
        client.reset("easy", evaluation_id=created.evaluation_id)

    def test_exhausted_and_closed_evaluations_are_failed_precondition(self, client):
        created = client.create_evaluation({"easy": 1})
        client.reset("easy", evaluation_id=created.evaluation_id)
        with pytest.raises(FailedPreconditionError) as err:
            client.reset("easy", evaluation_id=created.evaluation_id)
        assert err.value.reason == "EVALUATION_EXHAUSTED"
        client.close_evaluation(created.evaluation_id, created.operator_token)
        with pytest.raises(FailedPreconditionError) as err:
            client.reset("easy", evaluation_id=created.evaluation_id)
        assert err.value.reason == "EVALUATION_CLOSED"

    @pytest.mark.parametrize(
        "tasks,key,field",
        [
            ({}, b"", "tasks"),
            ({"nope": 1}, b"", "tasks[0].task_id"),
            ({"easy": 0}, b"", "tasks[0].episodes"),
            ({"easy": 1}, b"short", "scenario_stream_key"),
        ],
    )
    def test_bad_evaluations_are_invalid_argument(self, client, tasks, key, field):
        with pytest.raises(InvalidArgumentError) as err:
            client.create_evaluation(tasks, scenario_stream_key=key)
        assert [v.field for v in err.value.field_violations] == [field]

    def test_a_seed_or_a_foreign_task_in_an_evaluation_is_invalid_argument(self, client):
        created = client.create_evaluation({"easy": 1})
        for task, seed, field in (("easy", 3, "seed"), ("hard", None, "task_id")):
            with pytest.raises(InvalidArgumentError) as err:
                client.reset(task, seed, evaluation_id=created.evaluation_id)
            assert [v.field for v in err.value.field_violations] == [field]
        assert client.get_evaluation(created.evaluation_id).progress.tasks[0].started == 0

    def test_too_many_open_evaluations_are_resource_exhausted(self, make_cluster):
        cluster = make_cluster(max_evaluations=1)
        with EpisodeClient(cluster.episode_addr, config=ClientConfig(timeout_s=15)) as client:
            created = client.create_evaluation({"easy": 1})
            with pytest.raises(ResourceExhaustedError) as err:
                client.create_evaluation({"easy": 1})
            assert err.value.reason == "EVALUATION_CAPACITY"
            client.close_evaluation(created.evaluation_id, created.operator_token)
            client.create_evaluation({"easy": 1})  # the closed one made room

    def test_a_held_out_deployment_refuses_training_resets(self, make_cluster):
        cluster = make_cluster(require_evaluation=True)
        with EpisodeClient(cluster.episode_addr, config=ClientConfig(timeout_s=15)) as client:
            with pytest.raises(FailedPreconditionError) as err:
                client.reset("easy", 1)
            assert err.value.reason == "EVALUATION_REQUIRED"
            created = client.create_evaluation({"easy": 1})
            assert client.reset("easy", evaluation_id=created.evaluation_id).sealed


def test_the_gym_wrapper_plays_a_sealed_evaluation(cluster, candidates):
    """`reset(evaluation_id=...)` on the Gymnasium-style wrapper: no seed in info, a bare score."""
    from mlopsdebug_client import MLOpsDebugGymEnv

    with EpisodeClient(cluster.episode_addr) as client:
        created = client.create_evaluation({"medium": 1})
        with MLOpsDebugGymEnv(cluster.episode_addr) as env:
            _, info = env.reset("medium", evaluation_id=created.evaluation_id)
            assert info["sealed"] and info["seed"] is None and env.seed is None
            _, reward, terminated, _, info = env.step(
                pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=candidates[0]))
            )
            assert terminated and info["grade"]["components"] == [] and info["grade"]["score"] == reward
        report = client.close_evaluation(created.evaluation_id, created.operator_token).report
        assert report.episodes[0].score == reward and len(report.episodes[0].grade.components) == 4
