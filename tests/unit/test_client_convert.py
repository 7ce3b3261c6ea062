"""Unit tests of the client's specification-style dict views of observations and grades."""

from __future__ import annotations

import json
import math

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_client import convert

# The observation fields of the specification's MLOpsObservation.
SPEC_OBSERVATION_FIELDS = {
    "task_id",
    "task_description",
    "run_id",
    "run_summary",
    "available_artifacts",
    "artifacts_read",
    "last_action_result",
    "step_count",
    "max_steps",
    "done",
    "messages",
}


def _grade() -> common_pb2.Grade:
    return common_pb2.Grade(
        score=0.7,
        raw_score=0.7,
        components=[
            common_pb2.GradeComponent(
                kind=common_pb2.GRADE_COMPONENT_KIND_CATEGORY, weight=0.15, credit=1.0, reason="a"
            ),
            common_pb2.GradeComponent(
                kind=common_pb2.GRADE_COMPONENT_KIND_FIX, weight=0.30, credit=0.0, reason="b"
            ),
        ],
        grader_version="2.0.0",
    )


def _observation(result: common_pb2.ActionResult | None = None) -> common_pb2.Observation:
    return common_pb2.Observation(
        task_id="easy",
        task_description="A training run misbehaved.",
        run_id="run-1",
        run_summary=common_pb2.RunSummary(
            run_id="run-1",
            model="resnet18",
            training_status=common_pb2.TRAINING_STATUS_DIVERGED,
            final_train_loss=math.nan,
        ),
        available_artifacts=[
            common_pb2.ArtifactMeta(
                name=common_pb2.ARTIFACT_NAME_TRAIN_LOG, file_name="train.log", size_hint="80 lines"
            )
        ],
        artifacts_read=["config.yaml"],
        last_action_result=result,
        step_count=3,
        max_steps=20,
        reward=0.02,
        cumulative_reward=0.05,
        messages=["17 steps left"],
    )


class TestObservationToDict:
    def test_has_every_specification_field_plus_ours(self) -> None:
        """The dict has the specification's fields plus terminated, truncated, reward, cumulative_reward."""
        d = convert.observation_to_dict(_observation())
        assert SPEC_OBSERVATION_FIELDS <= d.keys()
        assert {"terminated", "truncated", "reward", "cumulative_reward"} <= d.keys()
        assert d["step_count"] == 3 and d["max_steps"] == 20 and d["messages"] == ["17 steps left"]

    def test_enums_use_specification_names(self) -> None:
        """Artifact names are file names and statuses are short lower-case names."""
        d = convert.observation_to_dict(_observation())
        assert d["available_artifacts"][0]["name"] == "train.log"
        assert d["run_summary"]["training_status"] == "diverged"

    def test_nan_passes_through(self) -> None:
        """A diverged run's NaN loss stays NaN rather than becoming a number."""
        d = convert.observation_to_dict(_observation())
        assert math.isnan(d["run_summary"]["final_train_loss"])

    def test_no_result_after_reset_is_an_empty_dict(self) -> None:
        """Without a last action the result is {} as in the specification."""
        assert convert.observation_to_dict(_observation())["last_action_result"] == {}

    def test_unset_sub_message_is_none(self) -> None:
        """An unset run summary is None, not an empty dict of defaults."""
        assert convert.observation_to_dict(common_pb2.Observation())["run_summary"] is None

    def test_sanity_check_result_is_flattened(self) -> None:
        """A sanity-check result becomes {"type": "sanity_check", check, status, metrics, ...}."""
        result = common_pb2.ActionResult(
            sanity_check=common_pb2.SanityCheckResult(
                check=common_pb2.SANITY_CHECK_TYPE_LABEL_CONSISTENCY,
                status=common_pb2.CHECK_STATUS_PASS,
                summary="mappings identical",
                metrics={"mismatched_labels": 0.0},
                details=["10 classes"],
            )
        )
        d = convert.observation_to_dict(_observation(result))["last_action_result"]
        assert d == {
            "type": "sanity_check",
            "check": "label_consistency",
            "status": "pass",
            "summary": "mappings identical",
            "metrics": {"mismatched_labels": 0.0},
            "details": ["10 classes"],
        }

    def test_not_applicable_status_name(self) -> None:
        """Multi-word enum values keep their underscores."""
        result = common_pb2.ActionResult(
            sanity_check=common_pb2.SanityCheckResult(status=common_pb2.CHECK_STATUS_NOT_APPLICABLE)
        )
        assert convert.action_result_to_dict(result)["status"] == "not_applicable"

    def test_field_value_is_parsed(self) -> None:
        """A found field carries its parsed JSON value next to the raw text; a missing one None."""
        found = common_pb2.ActionResult(
            field=common_pb2.FieldValue(
                artifact=common_pb2.ARTIFACT_NAME_CONFIG_YAML,
                field_path="optimizer",
                found=True,
                value_json=json.dumps({"name": "adam", "lr": 0.5}),
            )
        )
        d = convert.action_result_to_dict(found)
        assert d["type"] == "field" and d["artifact"] == "config.yaml"
        assert d["value"] == {"name": "adam", "lr": 0.5}
        missing = common_pb2.ActionResult(
            field=common_pb2.FieldValue(field_path="nope", found=False, available_keys=["data", "optimizer"])
        )
        d = convert.action_result_to_dict(missing)
        assert d["value"] is None and d["available_keys"] == ["data", "optimizer"]

    def test_artifact_and_logs_results(self) -> None:
        """Artifact and log results keep their content and counts."""
        artifact = common_pb2.ActionResult(
            artifact=common_pb2.ArtifactContent(
                name=common_pb2.ARTIFACT_NAME_PREPROCESSING_PY, content="import x"
            )
        )
        assert convert.action_result_to_dict(artifact) == {
            "type": "artifact",
            "name": "preprocessing.py",
            "content": "import x",
        }
        logs = common_pb2.ActionResult(
            logs=common_pb2.LogExcerpt(log_filter="nan", content="l1", matched_lines=1, total_lines=80)
        )
        assert convert.action_result_to_dict(logs)["matched_lines"] == 1

    def test_grade_result(self) -> None:
        """A grade result is the grade's dict with type "grade"."""
        d = convert.action_result_to_dict(common_pb2.ActionResult(grade=_grade()))
        assert d["type"] == "grade" and d["score"] == 0.7

    def test_dict_is_json_serialisable_without_nan(self) -> None:
        """Apart from NaN floats the view is plain JSON data."""
        obs = _observation(common_pb2.ActionResult(grade=_grade()))
        obs.run_summary.final_train_loss = 1.5
        json.dumps(convert.observation_to_dict(obs), allow_nan=False)


class TestGradeToDict:
    def test_components_and_hidden_answer(self) -> None:
        """Components use short kind names; a withheld answer is None."""
        d = convert.grade_to_dict(_grade())
        assert [c["kind"] for c in d["components"]] == ["category", "fix"]
        assert d["components"][0] == {"kind": "category", "weight": 0.15, "credit": 1.0, "reason": "a"}
        assert d["answer"] is None
        assert d["grader_version"] == "2.0.0"

    def test_revealed_answer(self) -> None:
        """A revealed answer carries its category by short name and its aliases."""
        grade = _grade()
        grade.answer.CopyFrom(
            common_pb2.RevealedAnswer(
                category=common_pb2.FAILURE_CATEGORY_CONFIG_ERROR,
                file="config.yaml",
                field="optimizer.learning_rate",
                field_aliases=["lr"],
            )
        )
        answer = convert.grade_to_dict(grade)["answer"]
        assert answer["category"] == "config_error" and answer["field_aliases"] == ["lr"]


class TestMessageToDict:
    def test_unset_optional_scalar_is_none(self) -> None:
        """A proto3 optional field that is unset is None; a set one keeps its value (0 included)."""
        assert convert.message_to_dict(ep_pb.ResetRequest(task_id="easy"))["seed"] is None
        assert convert.message_to_dict(ep_pb.ResetRequest(task_id="easy", seed=0))["seed"] == 0

    def test_repeated_enums(self) -> None:
        """Repeated enum fields become lists of short names."""
        state = ep_pb.EpisodeStateInfo(
            state=common_pb2.EPISODE_STATE_RUNNING,
            sanity_checks_run=[
                common_pb2.SANITY_CHECK_TYPE_GRADIENT_NORMS,
                common_pb2.SANITY_CHECK_TYPE_CLASS_BALANCE,
            ],
        )
        d = convert.message_to_dict(state)
        assert d["state"] == "running"
        assert d["sanity_checks_run"] == ["gradient_norms", "class_balance"]
        assert d["grade"] is None

    def test_unknown_enum_number_does_not_fail(self) -> None:
        """An enum number from a newer server is kept as text instead of raising."""
        state = ep_pb.EpisodeStateInfo()
        state.state = 42  # type: ignore[assignment]
        assert convert.message_to_dict(state)["state"] == "42"

    def test_session_oneof_keeps_only_the_set_member(self) -> None:
        """Only the set member of a real oneof appears."""
        d = convert.message_to_dict(ep_pb.SessionResponse(request_id="1", step=ep_pb.StepResponse()))
        assert set(d) == {"request_id", "step"}
