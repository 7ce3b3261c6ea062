"""Unit tests of the client's action builders and of `from_dict` for specification-style dicts."""

from __future__ import annotations

import pytest

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client import actions, vocabulary

# The specification's names, which the vocabulary derives from the contract (tests/unit/test_vocabulary.py
# holds them against the seed's spelling).
SPEC_CHECKS = vocabulary.SANITY_CHECKS
SPEC_ARTIFACTS = vocabulary.ARTIFACTS
SPEC_CATEGORIES = vocabulary.CATEGORIES


class TestBuilders:
    def test_parameterless_builders_set_their_variant(self) -> None:
        """Each parameterless builder sets exactly its own oneof variant."""
        built = {
            "read_config": actions.read_config(),
            "check_dataset_stats": actions.check_dataset_stats(),
            "inspect_preprocessing": actions.inspect_preprocessing(),
            "read_eval_results": actions.read_eval_results(),
        }
        for kind, action in built.items():
            assert action.WhichOneof("kind") == kind

    def test_read_logs_carries_the_filter(self) -> None:
        """read_logs passes its filter through and defaults to the whole log."""
        assert actions.read_logs("epoch:2-4").read_logs.log_filter == "epoch:2-4"
        assert actions.read_logs().WhichOneof("kind") == "read_logs"
        assert actions.read_logs().read_logs.log_filter == ""

    def test_every_specification_check_name_is_accepted(self) -> None:
        """The eight sanity-check names of the specification map to the eight enum values in order."""
        numbers = [actions.run_sanity_check(name).run_sanity_check.check for name in SPEC_CHECKS]
        assert numbers == list(range(1, 9))

    def test_check_accepts_enum_values_and_full_names(self) -> None:
        """A sanity check may be given as the enum number or its full value name, any case."""
        by_enum = actions.run_sanity_check(common_pb2.SANITY_CHECK_TYPE_DATA_LEAKAGE)
        by_full = actions.run_sanity_check("sanity_check_type_data_leakage")
        assert by_enum == by_full == actions.run_sanity_check("Data_Leakage")

    def test_every_specification_artifact_name_is_accepted(self) -> None:
        """Artifact file names map to the six ArtifactName values in order."""
        numbers = [actions.query_artifact(name, "x").query_artifact.artifact for name in SPEC_ARTIFACTS]
        assert numbers == list(range(1, 7))

    def test_query_artifact_keeps_the_path(self) -> None:
        """query_artifact sends the dot path as given."""
        action = actions.query_artifact(common_pb2.ARTIFACT_NAME_CONFIG_YAML, "optimizer.learning_rate")
        assert action.query_artifact.field_path == "optimizer.learning_rate"
        assert action.query_artifact.artifact == common_pb2.ARTIFACT_NAME_CONFIG_YAML

    def test_submit_diagnosis_fills_every_field(self) -> None:
        """submit_diagnosis carries category, file, field, diagnosis and fix."""
        action = actions.submit_diagnosis(
            "config_error", "config.yaml", "optimizer.learning_rate", "lr too high", "set lr to 1e-3"
        )
        d = action.submit_diagnosis.diagnosis
        assert d.failure_category == common_pb2.FAILURE_CATEGORY_CONFIG_ERROR
        assert (d.root_cause_file, d.root_cause_field) == ("config.yaml", "optimizer.learning_rate")
        assert (d.diagnosis, d.proposed_fix) == ("lr too high", "set lr to 1e-3")

    def test_every_specification_category_is_accepted(self) -> None:
        """The six failure categories of the specification map to the six enum values in order."""
        numbers = [actions.build_diagnosis(c, "f", "x").failure_category for c in SPEC_CATEGORIES]
        assert numbers == list(range(1, 7))

    @pytest.mark.parametrize(
        ("build", "fragment"),
        [
            (lambda: actions.run_sanity_check("label_check"), "sanity check type"),
            (lambda: actions.run_sanity_check(0), "sanity check type"),
            (lambda: actions.run_sanity_check(99), "sanity check type"),
            (lambda: actions.query_artifact("config.yml", "a"), "artifact name"),
            (lambda: actions.query_artifact("ARTIFACT_NAME_UNSPECIFIED", "a"), "artifact name"),
            (lambda: actions.submit_diagnosis("config", "f", "x"), "failure category"),
        ],
    )
    def test_unknown_names_raise_value_error_listing_choices(self, build, fragment) -> None:
        """Unknown or unset enum names raise ValueError that names the argument and the choices."""
        with pytest.raises(ValueError, match=fragment) as info:
            build()
        assert "expected one of" in str(info.value)

    def test_booleans_are_not_enum_values(self) -> None:
        """True is not accepted as enum value 1."""
        with pytest.raises(ValueError):
            actions.run_sanity_check(True)


class TestFromDict:
    def test_read_actions(self) -> None:
        """Reads without parameters convert, with unused null fields ignored as in the specification."""
        d = {"action_type": "read_config", "log_filter": None, "sanity_check_type": None}
        assert actions.from_dict(d) == actions.read_config()
        assert actions.from_dict({"action_type": "read_eval_results"}) == actions.read_eval_results()

    def test_read_logs_with_and_without_filter(self) -> None:
        """read_logs takes log_filter; a null filter means the whole log."""
        assert actions.from_dict({"action_type": "read_logs", "log_filter": "nan"}) == actions.read_logs(
            "nan"
        )
        assert actions.from_dict({"action_type": "read_logs", "log_filter": None}) == actions.read_logs()

    def test_sanity_check(self) -> None:
        """run_sanity_check takes sanity_check_type."""
        d = {"action_type": "run_sanity_check", "sanity_check_type": "metric_gap_analysis"}
        assert actions.from_dict(d) == actions.run_sanity_check("metric_gap_analysis")

    def test_query_artifact(self) -> None:
        """query_artifact takes artifact_name and field_path."""
        d = {
            "action_type": "query_artifact",
            "artifact_name": "eval_results.json",
            "field_path": "metrics.val",
        }
        assert actions.from_dict(d) == actions.query_artifact("eval_results.json", "metrics.val")

    def test_submit_diagnosis(self) -> None:
        """submit_diagnosis takes the five diagnosis fields."""
        d = {
            "action_type": "submit_diagnosis",
            "failure_category": "data_leakage",
            "root_cause_file": "preprocessing.py",
            "root_cause_field": "scaler.fit",
            "diagnosis": "scaler fitted on all data",
            "proposed_fix": "fit the scaler on the training split only",
        }
        expected = actions.submit_diagnosis(
            "data_leakage",
            "preprocessing.py",
            "scaler.fit",
            "scaler fitted on all data",
            "fit the scaler on the training split only",
        )
        assert actions.from_dict(d) == expected

    def test_missing_required_fields_are_left_for_the_server(self) -> None:
        """A missing enum field is sent unset, so the server answers with its field violation."""
        check = actions.from_dict({"action_type": "run_sanity_check"})
        assert check.WhichOneof("kind") == "run_sanity_check"
        assert check.run_sanity_check.check == common_pb2.SANITY_CHECK_TYPE_UNSPECIFIED
        query = actions.from_dict({"action_type": "query_artifact", "field_path": "a"})
        assert query.query_artifact.artifact == common_pb2.ARTIFACT_NAME_UNSPECIFIED
        submit = actions.from_dict({"action_type": "submit_diagnosis", "root_cause_file": "config.yaml"})
        assert submit.submit_diagnosis.diagnosis.failure_category == common_pb2.FAILURE_CATEGORY_UNSPECIFIED
        assert submit.submit_diagnosis.diagnosis.root_cause_file == "config.yaml"

    @pytest.mark.parametrize(
        ("d", "fragment"),
        [
            ({"action_type": "read_everything"}, "unknown action_type 'read_everything'"),
            ({}, "action_type is required"),
            ({"action_type": 3}, "unknown action_type 3"),
            ({"action_type": "read_logs", "filter": "nan"}, "unknown action field"),
            (
                {"action_type": "run_sanity_check", "sanity_check_type": "overfitting"},
                "unknown sanity check type",
            ),
            ({"action_type": "query_artifact", "artifact_name": "weights.bin"}, "unknown artifact name"),
            ({"action_type": "submit_diagnosis", "failure_category": "bug"}, "unknown failure category"),
            ({"action_type": "read_logs", "log_filter": 5}, "log_filter must be a string"),
        ],
    )
    def test_bad_dicts_raise_clear_value_errors(self, d, fragment) -> None:
        """Unknown action types, keys and names raise ValueError saying what was wrong."""
        with pytest.raises(ValueError, match=fragment):
            actions.from_dict(d)

    def test_non_mapping_is_rejected(self) -> None:
        """A list is not an action."""
        with pytest.raises(ValueError, match="mapping"):
            actions.from_dict(["read_config"])  # type: ignore[arg-type]

    def test_openenv_metadata_key_is_tolerated(self) -> None:
        """OpenEnv's free-form `metadata` key does not make a dict invalid."""
        assert actions.from_dict({"action_type": "read_config", "metadata": {}}) == actions.read_config()


class TestRoundTrip:
    @pytest.mark.parametrize(
        "action",
        [
            actions.read_config(),
            actions.read_logs("warning"),
            actions.check_dataset_stats(),
            actions.inspect_preprocessing(),
            actions.read_eval_results(),
            actions.run_sanity_check("class_balance"),
            actions.query_artifact("model_card.json", "metrics.0"),
            actions.submit_diagnosis(
                "evaluation_bug", "eval_results.json", "metrics", "swap", "fix the keys"
            ),
        ],
    )
    def test_to_dict_inverts_from_dict(self, action) -> None:
        """Every action survives to_dict then from_dict unchanged."""
        assert actions.from_dict(actions.to_dict(action)) == action

    def test_to_dict_uses_specification_names(self) -> None:
        """to_dict spells enums the specification's way."""
        assert actions.to_dict(actions.query_artifact("dataset_stats.json", "a"))["artifact_name"] == (
            "dataset_stats.json"
        )
        assert actions.to_dict(actions.run_sanity_check(2))["sanity_check_type"] == "data_leakage"

    def test_as_action_passes_messages_and_converts_dicts(self) -> None:
        """as_action returns messages unchanged, converts dicts and rejects anything else."""
        action = actions.read_config()
        assert actions.as_action(action) is action
        assert actions.as_action({"action_type": "read_config"}) == action
        with pytest.raises(TypeError):
            actions.as_action("read_config")  # type: ignore[arg-type]
