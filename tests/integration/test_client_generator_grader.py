"""The generator and grader clients (sync and asyncio) against the real in-process services."""

from __future__ import annotations

import pytest

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client import (
    AsyncGeneratorClient,
    AsyncGraderClient,
    GeneratorClient,
    GraderClient,
    InvalidArgumentError,
    actions,
    grade_to_dict,
)
from mlopsdebug_common.tasks import TASKS


@pytest.fixture
def generator(cluster):
    with GeneratorClient(cluster.address("generator")) as client:
        yield client


@pytest.fixture
def grader(cluster):
    with GraderClient(cluster.address("grader")) as client:
        yield client


class TestGeneratorClient:
    def test_list_tasks_and_version(self, generator) -> None:
        """ListTasks names the three tasks and the generator version."""
        response = generator.list_tasks()
        assert [t.task_id for t in response.tasks][:3] == ["easy", "medium", "hard"]
        assert len(response.tasks) == len(TASKS)
        assert response.generator_version

    def test_scenarios_are_deterministic(self, generator) -> None:
        """The same task and seed give byte-identical scenarios; another seed does not."""
        first = generator.generate_scenario("medium", 77).scenario
        again = generator.generate_scenario("medium", 77).scenario
        other = generator.generate_scenario("medium", 78).scenario
        assert first.SerializeToString(deterministic=True) == again.SerializeToString(deterministic=True)
        assert first.scenario_id != other.scenario_id
        assert len(first.artifacts) == 6 and len(first.sanity_checks) == 8
        assert first.answer_key.ciphertext

    def test_bad_inputs_name_the_field(self, generator) -> None:
        """An unknown task or an out-of-range seed is INVALID_ARGUMENT naming the field."""
        with pytest.raises(InvalidArgumentError) as info:
            generator.generate_scenario("impossible", 1)
        assert info.value.field_violations[0].field == "task_id"
        with pytest.raises(InvalidArgumentError) as info:
            generator.generate_scenario("easy", -1)
        assert info.value.field_violations[0].field == "seed"


class TestGraderClient:
    def test_revealed_answer_earns_full_location_credit(self, make_cluster, generator, grader) -> None:
        """Naming the category, file and field that a revealing (training) grader shows earns those three
        components in full from a grader that does not reveal (scenarios do not depend on the secret)."""
        training = make_cluster(reveal_answers=True, salt=b"")  # the session cluster's salt: the same scenarios
        scenario = generator.generate_scenario("easy-v1", 12).scenario
        key = scenario.answer_key
        blank = actions.build_diagnosis("architecture_bug", "model_card.json", "none", "", "nothing")
        with GeneratorClient(training.address("generator")) as training_generator, \
                GraderClient(training.address("grader")) as revealing:
            training_key = training_generator.generate_scenario("easy-v1", 12).scenario.answer_key
            answer = revealing.grade(training_key, blank).grade.answer
        assert answer.file and answer.field
        right = actions.build_diagnosis(answer.category, answer.file, answer.field, "", "nothing")
        grade = grader.grade(key, right).grade
        credits = {c["kind"]: c["credit"] for c in grade_to_dict(grade)["components"]}
        assert credits["category"] == credits["file"] == credits["field"] == 1.0
        assert not grade.HasField("answer")

    def test_grading_is_deterministic(self, generator, grader) -> None:
        """The same key and diagnosis always get the same grade."""
        key = generator.generate_scenario("hard", 13).scenario.answer_key
        diagnosis = actions.build_diagnosis(
            "evaluation_bug", "eval_results.json", "metrics", "swapped", "fix it"
        )
        assert grader.grade(key, diagnosis) == grader.grade(key, diagnosis)

    def test_tampered_key_is_invalid(self, generator, grader) -> None:
        """A key whose ciphertext was altered is INVALID_ARGUMENT on answer_key."""
        key = common_pb2.SealedAnswerKey()
        key.CopyFrom(generator.generate_scenario("easy", 14).scenario.answer_key)
        key.ciphertext = bytes([key.ciphertext[0] ^ 1]) + key.ciphertext[1:]
        diagnosis = actions.build_diagnosis("config_error", "config.yaml", "x", "", "y")
        with pytest.raises(InvalidArgumentError) as info:
            grader.grade(key, diagnosis)
        assert info.value.field_violations[0].field == "answer_key"


class TestAsyncClients:
    async def test_generate_then_grade(self, cluster) -> None:
        """The aio clients generate a scenario and grade a diagnosis against its key."""
        async with (
            AsyncGeneratorClient(cluster.address("generator")) as generator,
            AsyncGraderClient(cluster.address("grader")) as grader,
        ):
            assert len((await generator.list_tasks()).tasks) == len(TASKS)
            scenario = (await generator.generate_scenario("medium", 15)).scenario
            diagnosis = actions.build_diagnosis(
                "data_leakage", "preprocessing.py", "scaler", "", "split first"
            )
            grade = (await grader.grade(scenario.answer_key, diagnosis)).grade
            assert 0.0 <= grade.score <= 1.0 and len(grade.components) == 4
            with pytest.raises(InvalidArgumentError):
                await generator.generate_scenario("medium", 2**53)
