"""Builders for the agent's actions, and `from_dict` for the original specification's action dicts.

Every builder returns a `common_pb2.Action` ready for `Step`. Enum arguments accept the short names
of the specification ("label_consistency", "config.yaml", "config_error"), the full enum value
names, or the enum numbers; an unknown name raises ValueError listing the accepted ones. Required
text fields are left for the server to validate so that its INVALID_ARGUMENT, with field
violations, stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from mlopsdebug.common.v1 import common_pb2

from . import _enums
from .convert import grade_to_dict, observation_to_dict
from .vocabulary import ACTION_TYPES

__all__ = [
    "ACTION_TYPES",
    "ActionLike",
    "as_action",
    "build_diagnosis",
    "check_dataset_stats",
    "from_dict",
    "grade_to_dict",
    "inspect_preprocessing",
    "observation_to_dict",
    "query_artifact",
    "read_config",
    "read_eval_results",
    "read_logs",
    "run_sanity_check",
    "submit_diagnosis",
    "to_dict",
]

ActionLike: TypeAlias = common_pb2.Action | Mapping[str, Any]
"""An `Action` message or a specification-style action dict (see `from_dict`)."""

# Enum arguments: a short or full value name, or the enum number (common_pb2.SanityCheckType.*, ...).
SanityCheckLike: TypeAlias = str | int
ArtifactLike: TypeAlias = str | int
CategoryLike: TypeAlias = str | int


_DICT_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "action_type",
        "log_filter",
        "sanity_check_type",
        "artifact_name",
        "field_path",
        "failure_category",
        "root_cause_file",
        "root_cause_field",
        "diagnosis",
        "proposed_fix",
        # OpenEnv's Action base class carries free-form metadata; it never reaches the service.
        "metadata",
    }
)


def read_config() -> common_pb2.Action:
    """Reads config.yaml."""
    return common_pb2.Action(read_config=common_pb2.ReadConfig())


def read_logs(log_filter: str = "") -> common_pb2.Action:
    """Reads train.log; `log_filter` is a keyword or "epoch:N-M" (empty for the whole log)."""
    return common_pb2.Action(read_logs=common_pb2.ReadLogs(log_filter=log_filter))


def check_dataset_stats() -> common_pb2.Action:
    """Reads dataset_stats.json."""
    return common_pb2.Action(check_dataset_stats=common_pb2.CheckDatasetStats())


def inspect_preprocessing() -> common_pb2.Action:
    """Reads preprocessing.py."""
    return common_pb2.Action(inspect_preprocessing=common_pb2.InspectPreprocessing())


def read_eval_results() -> common_pb2.Action:
    """Reads eval_results.json."""
    return common_pb2.Action(read_eval_results=common_pb2.ReadEvalResults())


def run_sanity_check(check: SanityCheckLike) -> common_pb2.Action:
    """Runs one sanity check, e.g. `run_sanity_check("data_leakage")`."""
    number = _enums.parse(common_pb2.SanityCheckType.DESCRIPTOR, check, "sanity check type")
    return common_pb2.Action(run_sanity_check=common_pb2.RunSanityCheck(check=number))  # type: ignore[arg-type]


def query_artifact(artifact: ArtifactLike, field_path: str) -> common_pb2.Action:
    """Fetches one field of a structured artifact, e.g. `query_artifact("config.yaml", "optimizer.lr")`."""
    number = _enums.parse(common_pb2.ArtifactName.DESCRIPTOR, artifact, "artifact name")
    return common_pb2.Action(
        query_artifact=common_pb2.QueryArtifact(artifact=number, field_path=field_path)  # type: ignore[arg-type]
    )


def build_diagnosis(
    failure_category: CategoryLike,
    root_cause_file: str,
    root_cause_field: str,
    diagnosis: str = "",
    proposed_fix: str = "",
) -> common_pb2.Diagnosis:
    """A `Diagnosis` message (what `submit_diagnosis` carries and the grader scores)."""
    category = _enums.parse(common_pb2.FailureCategory.DESCRIPTOR, failure_category, "failure category")
    return common_pb2.Diagnosis(
        failure_category=category,  # type: ignore[arg-type]
        root_cause_file=root_cause_file,
        root_cause_field=root_cause_field,
        diagnosis=diagnosis,
        proposed_fix=proposed_fix,
    )


def submit_diagnosis(
    failure_category: CategoryLike,
    root_cause_file: str,
    root_cause_field: str,
    diagnosis: str = "",
    proposed_fix: str = "",
) -> common_pb2.Action:
    """Submits the final diagnosis; the grade becomes the reward and the episode terminates."""
    built = build_diagnosis(failure_category, root_cause_file, root_cause_field, diagnosis, proposed_fix)
    return common_pb2.Action(submit_diagnosis=common_pb2.SubmitDiagnosis(diagnosis=built))


def _text(d: Mapping[str, Any], key: str) -> str:
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {type(value).__name__}")
    return value


def from_dict(d: Mapping[str, Any]) -> common_pb2.Action:
    """The `Action` for a specification-style action dict (the seed's `MLOpsAction` shape).

    `{"action_type": "run_sanity_check", "sanity_check_type": "data_leakage"}` and the like. Fields
    that the action type does not use are ignored, as in the specification; keys that are not
    fields of the shape at all raise ValueError, so typos do not pass silently. A missing required
    field is sent as unset and rejected by the server with a field violation.
    """
    if not isinstance(d, Mapping):
        raise ValueError(f"an action must be a mapping, not {type(d).__name__}")
    unknown = sorted(str(k) for k in d if k not in _DICT_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown action field(s) {', '.join(unknown)}; expected {', '.join(sorted(_DICT_FIELDS))}"
        )
    action_type = d.get("action_type")
    if action_type is None:
        raise ValueError(f"action_type is required; expected one of {', '.join(ACTION_TYPES)}")
    if not isinstance(action_type, str) or action_type.strip().lower() not in ACTION_TYPES:
        raise ValueError(f"unknown action_type {action_type!r}; expected one of {', '.join(ACTION_TYPES)}")
    kind = action_type.strip().lower()

    if kind == "read_config":
        return read_config()
    if kind == "read_logs":
        return read_logs(_text(d, "log_filter"))
    if kind == "check_dataset_stats":
        return check_dataset_stats()
    if kind == "inspect_preprocessing":
        return inspect_preprocessing()
    if kind == "read_eval_results":
        return read_eval_results()
    if kind == "run_sanity_check":
        check = d.get("sanity_check_type")
        if check is None:
            return common_pb2.Action(run_sanity_check=common_pb2.RunSanityCheck())
        return run_sanity_check(check)
    if kind == "query_artifact":
        artifact = d.get("artifact_name")
        field_path = _text(d, "field_path")
        if artifact is None:
            return common_pb2.Action(query_artifact=common_pb2.QueryArtifact(field_path=field_path))
        return query_artifact(artifact, field_path)
    # submit_diagnosis
    category = d.get("failure_category")
    texts = {k: _text(d, k) for k in ("root_cause_file", "root_cause_field", "diagnosis", "proposed_fix")}
    if category is None:
        return common_pb2.Action(
            submit_diagnosis=common_pb2.SubmitDiagnosis(diagnosis=common_pb2.Diagnosis(**texts))
        )
    return submit_diagnosis(category, **texts)


def as_action(action: ActionLike) -> common_pb2.Action:
    """An `Action` as is, or the `Action` for a specification-style dict."""
    if isinstance(action, common_pb2.Action):
        return action
    if isinstance(action, Mapping):
        return from_dict(action)
    raise TypeError(f"an action must be an Action message or a dict, not {type(action).__name__}")


def to_dict(action: common_pb2.Action) -> dict[str, Any]:
    """The specification-style dict for an `Action` (the inverse of `from_dict`)."""
    kind = action.WhichOneof("kind")
    if kind is None:
        raise ValueError("the action has no variant set")
    out: dict[str, Any] = {"action_type": kind}
    if kind == "read_logs":
        out["log_filter"] = action.read_logs.log_filter
    elif kind == "run_sanity_check":
        out["sanity_check_type"] = _enums.short_name(
            common_pb2.SanityCheckType.DESCRIPTOR, action.run_sanity_check.check
        )
    elif kind == "query_artifact":
        out["artifact_name"] = _enums.short_name(
            common_pb2.ArtifactName.DESCRIPTOR, action.query_artifact.artifact
        )
        out["field_path"] = action.query_artifact.field_path
    elif kind == "submit_diagnosis":
        d = action.submit_diagnosis.diagnosis
        out.update(
            failure_category=_enums.short_name(common_pb2.FailureCategory.DESCRIPTOR, d.failure_category),
            root_cause_file=d.root_cause_file,
            root_cause_field=d.root_cause_field,
            diagnosis=d.diagnosis,
            proposed_fix=d.proposed_fix,
        )
    return out
