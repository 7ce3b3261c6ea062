"""The generator and grader services over real gRPC, through their clients (sync and asyncio) and raw stubs."""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest
from answers import gold_diagnosis, open_key

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug_client import (
    AsyncGeneratorClient,
    AsyncGraderClient,
    ClientConfig,
    GeneratorClient,
    GraderClient,
    InvalidArgumentError,
    build_diagnosis,
    grade_to_dict,
)
from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.convert import sealed_key_to_pb
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASKS


@pytest.fixture
def generator(cluster):
    with GeneratorClient(cluster.address("generator")) as g:
        yield g


@pytest.fixture
def grader(cluster):
    with GraderClient(cluster.address("grader")) as g:
        yield g


class TestGenerator:
    def test_list_tasks(self, generator):
        """ListTasks describes the three task families first (newest versions), then the pinned versions."""
        response = generator.list_tasks()
        assert [(t.task_id, t.max_steps) for t in response.tasks][:3] == [("easy", 20), ("medium", 30), ("hard", 40)]
        assert [t.task_id for t in response.tasks][3:6] == ["easy-v1", "medium-v1", "hard-v1"]
        assert response.tasks[3].version == 1 and not response.tasks[3].has_heldout_split
        assert response.tasks[2].asymmetric_penalty and response.generator_version
        assert len(response.tasks) == len(TASKS)

    def test_scenario_shape(self, generator):
        """A scenario has the six artifacts and eight checks in order, and a sealed key."""
        scenario = generator.generate_scenario("medium", 11).scenario
        assert [a.name for a in scenario.artifacts] == list(range(1, 7))
        assert [c.check for c in scenario.sanity_checks] == list(range(1, 9))
        assert scenario.seed == 11 and scenario.task_id == "medium"
        assert scenario.answer_key.ciphertext and scenario.answer_key.scenario_id == scenario.scenario_id

    def test_scenarios_are_deterministic(self, generator):
        """The same task and seed give byte-identical scenarios; another seed does not."""
        first = generator.generate_scenario("medium", 77).scenario
        again = generator.generate_scenario("medium", 77).scenario
        other = generator.generate_scenario("medium", 78).scenario
        assert first.SerializeToString(deterministic=True) == again.SerializeToString(deterministic=True)
        assert first.scenario_id != other.scenario_id

    @pytest.mark.parametrize("task,seed,reason,field", [("bogus", 1, "UNKNOWN_TASK", "task_id"),
                                                        ("easy", -5, "INVALID_SEED", "seed"),
                                                        ("easy", 2**53, "INVALID_SEED", "seed")])
    def test_bad_input(self, generator, task, seed, reason, field):
        """Unknown tasks and out-of-range seeds are INVALID_ARGUMENT naming the field."""
        with pytest.raises(InvalidArgumentError) as info:
            generator.generate_scenario(task, seed)
        assert info.value.reason == reason
        assert info.value.field_violations[0].field == field

    def test_concurrent_generation_is_deterministic(self, cluster, generator):
        """Scenarios generated concurrently, in shuffled order, equal those generated one by one."""
        cases = [(t, s) for t in ("easy", "medium", "hard") for s in range(12)]
        serial = {c: generator.generate_scenario(*c).scenario.SerializeToString(deterministic=True) for c in cases}

        async def concurrent():
            client = AsyncGeneratorClient(cluster.address("generator"), config=ClientConfig(timeout_s=30))
            try:
                order = cases[::-1] + cases
                replies = await asyncio.gather(*(client.generate_scenario(*c) for c in order))
                return list(zip(order, replies, strict=True))
            finally:
                await client.close()

        for case, reply in asyncio.run(concurrent()):
            assert reply.scenario.SerializeToString(deterministic=True) == serial[case]


class TestGrader:
    def test_gold_diagnosis_scores_high_and_is_explained(self, cluster, generator, grader):
        """The correct diagnosis scores >= 0.95 with four explained components."""
        sealed = generator.generate_scenario("easy", 2).scenario.answer_key
        key = open_key(cluster.secret, sealed)
        grade = grader.grade(sealed, gold_diagnosis(key)).grade
        assert grade.score >= 0.95 and len(grade.components) == 4
        assert all(c.reason for c in grade.components)
        assert not grade.HasField("answer")

    def test_a_revealing_grader_shows_the_answer(self, make_cluster):
        """A grader configured to reveal (training) puts the fault, file and field in every grade."""
        training = make_cluster(reveal_answers=True)
        with GeneratorClient(training.address("generator")) as generator, \
                GraderClient(training.address("grader")) as grader:
            sealed = generator.generate_scenario("hard-v1", 2).scenario.answer_key
            key = open_key(training.secret, sealed)
            grade = grader.grade(sealed, gold_diagnosis(key)).grade
        assert (grade.answer.fault_id, grade.answer.file, grade.answer.field) == (key.fault_id, key.file, key.field)

    def test_the_request_cannot_make_the_grader_reveal(self, cluster, generator):
        """GradeRequest.reveal_answer is ignored: a grader that does not reveal never does, whoever asks."""
        from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
        from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc

        sealed = generator.generate_scenario("hard", 2).scenario.answer_key
        key = open_key(cluster.secret, sealed)
        wrong = build_diagnosis("config_error", "config.yaml", "optimizer.lr", "", "lower it")
        with grpc.insecure_channel(cluster.address("grader")) as channel:
            stub = grader_grpc.GraderServiceStub(channel)
            for diagnosis in (gold_diagnosis(key), wrong):
                asked = stub.Grade(grader_pb.GradeRequest(answer_key=sealed, diagnosis=diagnosis, reveal_answer=True),
                                   timeout=10).grade
                plain = stub.Grade(grader_pb.GradeRequest(answer_key=sealed, diagnosis=diagnosis), timeout=10).grade
                assert not asked.HasField("answer")
                assert asked.SerializeToString(deterministic=True) == plain.SerializeToString(deterministic=True)

    def test_revealed_answer_earns_full_location_credit(self, make_cluster, generator, grader):
        """Naming the category, file and field that a revealing (training) grader shows earns those three
        components in full from a grader that does not reveal (scenarios do not depend on the secret)."""
        training = make_cluster(reveal_answers=True, salt=b"")  # the session cluster's salt: the same scenarios
        key = generator.generate_scenario("easy-v1", 12).scenario.answer_key
        blank = build_diagnosis("architecture_bug", "model_card.json", "none", "", "nothing")
        with GeneratorClient(training.address("generator")) as training_generator, \
                GraderClient(training.address("grader")) as revealing:
            training_key = training_generator.generate_scenario("easy-v1", 12).scenario.answer_key
            answer = revealing.grade(training_key, blank).grade.answer
        assert answer.file and answer.field
        right = build_diagnosis(answer.category, answer.file, answer.field, "", "nothing")
        grade = grader.grade(key, right).grade
        credits = {c["kind"]: c["credit"] for c in grade_to_dict(grade)["components"]}
        assert credits["category"] == credits["file"] == credits["field"] == 1.0
        assert not grade.HasField("answer")

    def test_grading_is_deterministic(self, generator, grader):
        """The same key and diagnosis always get the same grade."""
        key = generator.generate_scenario("hard", 13).scenario.answer_key
        diagnosis = build_diagnosis("evaluation_bug", "eval_results.json", "metrics", "swapped", "fix it")
        assert grader.grade(key, diagnosis) == grader.grade(key, diagnosis)

    def test_tampered_key_is_rejected(self, generator, grader):
        """A key whose ciphertext was altered fails authentication: INVALID_ARGUMENT on answer_key."""
        sealed = generator.generate_scenario("easy", 3).scenario.answer_key
        sealed.ciphertext = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
        with pytest.raises(InvalidArgumentError) as info:
            grader.grade(sealed, build_diagnosis("config_error", "config.yaml", "lr", "", "lower it"))
        assert info.value.reason == "ANSWER_KEY_INVALID"
        assert info.value.field_violations[0].field == "answer_key"

    def test_key_moved_to_another_scenario_is_rejected(self, generator, grader):
        """A valid key presented for another scenario id fails authentication."""
        sealed = generator.generate_scenario("easy", 3).scenario.answer_key
        sealed.scenario_id = generator.generate_scenario("easy", 4).scenario.scenario_id
        with pytest.raises(InvalidArgumentError):
            grader.grade(sealed, build_diagnosis("config_error", "config.yaml", "lr", "", "lower it"))

    def test_foreign_key_is_rejected(self, grader):
        """A key sealed under another secret (a forged answer) is refused."""
        forged = Sealer(os.urandom(32)).seal(
            AnswerKey("exploding_lr", "config_error", "config.yaml", "lr", (), {"bad_value": 1.0, "safe_max": 0.01},
                      "easy", 1, "sc-forged", "2.0.0")
        )
        with pytest.raises(InvalidArgumentError) as info:
            grader.grade(sealed_key_to_pb(forged), build_diagnosis("config_error", "config.yaml", "lr", "", "x"))
        assert info.value.reason == "ANSWER_KEY_INVALID"

    @pytest.mark.parametrize("field,cap", [("root_cause_field", 200), ("root_cause_file", 200),
                                           ("diagnosis", 4000), ("proposed_fix", 4000)])
    def test_oversized_text_names_the_field(self, generator, grader, field, cap):
        """Text over its cap is INVALID_ARGUMENT naming the field."""
        sealed = generator.generate_scenario("easy", 3).scenario.answer_key
        values = {"root_cause_file": "config.yaml", "root_cause_field": "lr", "diagnosis": "", "proposed_fix": "x"}
        values[field] = "z" * (cap + 1)
        diagnosis = pb.Diagnosis(failure_category=pb.FAILURE_CATEGORY_CONFIG_ERROR, **values)
        with pytest.raises(InvalidArgumentError) as info:
            grader.grade(sealed, diagnosis)
        assert any(field in v.field for v in info.value.field_violations)

    def test_missing_key(self, grader):
        """A request without a key is INVALID_ARGUMENT."""
        with pytest.raises(InvalidArgumentError):
            grader.grade(pb.SealedAnswerKey(), build_diagnosis("config_error", "config.yaml", "lr", "", "x"))


class TestAsyncClients:
    async def test_generate_then_grade(self, cluster):
        """The aio clients generate a scenario and grade a diagnosis against its key."""
        async with (
            AsyncGeneratorClient(cluster.address("generator")) as generator,
            AsyncGraderClient(cluster.address("grader")) as grader,
        ):
            assert len((await generator.list_tasks()).tasks) == len(TASKS)
            scenario = (await generator.generate_scenario("medium", 15)).scenario
            diagnosis = build_diagnosis("data_leakage", "preprocessing.py", "scaler", "", "split first")
            grade = (await grader.grade(scenario.answer_key, diagnosis)).grade
            assert 0.0 <= grade.score <= 1.0 and len(grade.components) == 4
            with pytest.raises(InvalidArgumentError):
                await generator.generate_scenario("medium", 2**53)


class TestEpisodeSideOfGrading:
    def test_grader_refusals_keep_their_reason_across_the_hop(self, cluster):
        """The episode service's grader adapter reports a refused diagnosis as INVALID_ARGUMENT with its reason."""
        from mlopsdebug_common.convert import sealed_key_from_pb
        from mlopsdebug_common.domain import Diagnosis
        from mlopsdebug_common.errors import InvalidArgument
        from mlopsdebug_common.tasks import TASKS
        from mlopsdebug_episode.remote import RemoteGrader

        with GeneratorClient(cluster.address("generator")) as generator:
            sealed = sealed_key_from_pb(generator.generate_scenario("easy", 3).scenario.answer_key)
        too_long = Diagnosis("config_error", "config.yaml", "lr", "", "x" * 5000)

        async def attempt():
            grader = RemoteGrader(cluster.address("grader"), timeout_s=5)
            try:
                await grader.grade(sealed, too_long, task=TASKS["easy"])
            finally:
                await grader.close()

        with pytest.raises(InvalidArgument) as info:
            asyncio.run(attempt())
        assert info.value.reason == "DIAGNOSIS_TOO_LONG"
