"""The gateway's wire models: the seed's action, observation and state, and the HTTP request bodies.

Pure pydantic (no grpc, no protobuf). Request models are strict: JSON types are taken as sent, so a seed
of `true` or `"12"` is a validation error naming the field, never silently 1 or 12. The action keeps the seed's MLOpsAction shape and forbids unknown
fields, as an OpenEnv server does. `parse_action` adds the per-action requirements (a sanity check
needs its type, a query its artifact and path, a submission its diagnosis) as field-level errors, so
a bad action is answered with pydantic-style errors whose `loc` names the action's field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails

from mlopsdebug_common.domain import (
    ACTION_TYPES,
    ARTIFACT_FILES,
    CATEGORIES,
    SANITY_CHECKS,
    STRUCTURED_ARTIFACTS,
)
from mlopsdebug_common.tasks import MAX_SEED, TASK_IDS
from mlopsdebug_common.validation import (
    EPISODE_ID_PATTERN,
    FIELD_MAX_CHARS,
    FIELD_PATH_MAX_CHARS,
    FILE_MAX_CHARS,
    LOG_FILTER_MAX_CHARS,
    TEXT_MAX_CHARS,
)

# Fields each action type needs beyond action_type; other fields are ignored, as in the seed.
REQUIRED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "run_sanity_check": ("sanity_check_type",),
    "query_artifact": ("artifact_name", "field_path"),
    "submit_diagnosis": ("failure_category", "root_cause_file", "root_cause_field", "proposed_fix"),
}
RESET_FIELDS: Final[tuple[str, ...]] = ("task_id", "seed", "episode_id", "split")

# Literals built from the word lists at run time (pydantic validates and documents them); a static checker
# cannot expand a tuple into a Literal, so it sees plain str.
if TYPE_CHECKING:
    ActionType = SanityCheckType = ArtifactName = FailureCategory = str
else:
    ActionType = Literal[ACTION_TYPES]
    SanityCheckType = Literal[SANITY_CHECKS]
    ArtifactName = Literal[ARTIFACT_FILES]
    FailureCategory = Literal[CATEGORIES]


def _conditional_requirements(schema: dict[str, Any]) -> None:
    """Adds the per-action requirements to the JSON schema, so tools that read /schema see them."""
    schema["allOf"] = [
        {
            "if": {"properties": {"action_type": {"const": action}}, "required": ["action_type"]},
            "then": {"required": list(fields)},
        }
        for action, fields in REQUIRED_FIELDS.items()
    ]


class MLOpsAction(BaseModel):
    """One action of the agent per step; `action_type` decides which other fields are used."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_conditional_requirements)

    action_type: ActionType = Field(description="Which action to perform")
    log_filter: str | None = Field(
        None,
        max_length=LOG_FILTER_MAX_CHARS,
        description="read_logs: a keyword (case-insensitive) or an epoch range 'epoch:N-M'",
    )
    sanity_check_type: SanityCheckType | None = Field(None, description="run_sanity_check: which check to run")
    artifact_name: ArtifactName | None = Field(
        None, description=f"query_artifact: one of {', '.join(STRUCTURED_ARTIFACTS)}"
    )
    field_path: str | None = Field(
        None,
        min_length=1,
        max_length=FIELD_PATH_MAX_CHARS,
        description="query_artifact: dot path, e.g. 'optimizer.learning_rate' or 'splits.0'",
    )
    failure_category: FailureCategory | None = Field(None, description="submit_diagnosis: category of the failure")
    root_cause_file: str | None = Field(
        None, min_length=1, max_length=FILE_MAX_CHARS, description="submit_diagnosis: artifact holding the root cause"
    )
    root_cause_field: str | None = Field(
        None,
        min_length=1,
        max_length=FIELD_MAX_CHARS,
        description="submit_diagnosis: the single parameter, function or variable that is wrong",
    )
    diagnosis: str | None = Field(
        None, max_length=TEXT_MAX_CHARS, description="submit_diagnosis: what went wrong and why"
    )
    proposed_fix: str | None = Field(
        None, min_length=1, max_length=TEXT_MAX_CHARS, description="submit_diagnosis: the concrete change that fixes it"
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Ignored; accepted because OpenEnv's base Action carries it"
    )


# MLOpsAction's fields after action_type, as convert.checked_action_to_pb checks them without pydantic:
# the allowed values of an enumeration, a string's (min, max) length in characters, or `dict` (not null).
# A unit test holds this table to the model's own validation.
ACTION_KINDS: Final[frozenset[str]] = frozenset(ACTION_TYPES)
ACTION_FIELD_RULES: Final[dict[str, frozenset[str] | tuple[int, int] | type[dict]]] = {
    "log_filter": (0, LOG_FILTER_MAX_CHARS),
    "sanity_check_type": frozenset(SANITY_CHECKS),
    "artifact_name": frozenset(ARTIFACT_FILES),
    "field_path": (1, FIELD_PATH_MAX_CHARS),
    "failure_category": frozenset(CATEGORIES),
    "root_cause_file": (1, FILE_MAX_CHARS),
    "root_cause_field": (1, FIELD_MAX_CHARS),
    "diagnosis": (0, TEXT_MAX_CHARS),
    "proposed_fix": (1, TEXT_MAX_CHARS),
    "metadata": dict,
}


def parse_action(data: Any) -> MLOpsAction:
    """Validates an action dict: field types first, then the fields its action type requires."""
    action = MLOpsAction.model_validate(data)
    missing = [
        InitErrorDetails(type="missing", loc=(name,), input=data)
        for name in REQUIRED_FIELDS.get(action.action_type, ())
        if getattr(action, name) is None
    ]
    if missing:
        raise ValidationError.from_exception_data(MLOpsAction.__name__, missing)
    return action


class ArtifactInfo(BaseModel):
    """One artifact the agent can inspect (the seed's ArtifactMeta)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    size_hint: str
    last_modified: str


class RunSummaryInfo(BaseModel):
    """The always-visible summary of the run. Losses are null when training diverged."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    model: str
    dataset: str
    modality: str
    training_status: str
    epochs_planned: int
    epochs_completed: int
    final_train_loss: float | None
    final_val_loss: float | None
    primary_metric: str
    val_metric: float | None
    test_metric: float | None
    wall_clock_seconds: float | None
    started_at: str


class MLOpsObservation(BaseModel):
    """Everything the agent sees after a reset or a step: the seed's fields plus the episode's lifecycle.

    On the wire, as in OpenEnv, `reward` travels beside the observation rather than inside it; it is
    declared here so that the observation with its reward and done flag validates against this schema.
    """

    model_config = ConfigDict(extra="forbid")

    task_id: str
    task_description: str
    run_id: str
    run_summary: RunSummaryInfo
    available_artifacts: list[ArtifactInfo]
    artifacts_read: list[str]
    last_action_result: dict[str, Any] = Field(
        description="Result of the most recent action, tagged by `kind`: artifact, logs, sanity_check, field, "
        "grade; empty after a reset"
    )
    step_count: int = Field(ge=0)
    max_steps: int = Field(ge=1)
    done: bool
    messages: list[str]
    terminated: bool = Field(description="A diagnosis was graded")
    truncated: bool = Field(description="The step budget ran out without a submission")
    episode_id: str
    cumulative_reward: float
    reward: float | None = Field(None, description="Reward of the action; null after a reset")


class MLOpsState(BaseModel):
    """The episode's state for harnesses; never the answer while the episode runs."""

    model_config = ConfigDict(extra="forbid")

    episode_id: str | None = Field(None, description="Null before the first reset on this session")
    step_count: int = Field(0, ge=0)
    task_id: str | None = None
    seed: int | None = None
    state: Literal["running", "terminated", "truncated"] | None = None
    episode_done: bool | None = None
    max_steps: int | None = None
    artifacts_read: list[str] | None = None
    sanity_checks_run: list[str] | None = None
    duplicate_reads: int | None = None
    cumulative_reward: float | None = None
    grade: dict[str, Any] | None = Field(None, description="Present once a diagnosis has been graded")
    scenario_id: str | None = None
    created_at: str | None = None


class ResetRequest(BaseModel):
    """Body of POST /reset (and data of a WebSocket reset). Other keys are ignored, as OpenEnv does."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        json_schema_extra={"examples": [{"task_id": "hard", "seed": 1}, {}]},
    )

    task_id: Literal[TASK_IDS] | None = Field(  # type: ignore[valid-type]
        None, description="Task to play; the gateway's default task when absent"
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Scenario seed; drawn and reported when absent")
    episode_id: str | None = Field(
        None, pattern=EPISODE_ID_PATTERN, description="Caller-chosen episode id; assigned when absent"
    )
    split: Literal["all", "train", "heldout"] | None = Field(
        None, description="Which of the task's faults to draw from: all (default), train, or heldout"
    )

    def ignored_keys(self) -> list[str]:
        return sorted(self.model_extra or {})


class StepRequest(BaseModel):
    """Body of POST /step: the episode to act in and the action (the seed's MLOpsAction)."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
        json_schema_extra={
            "examples": [{"episode_id": "ep-1", "action": {"action_type": "read_config"}}],
        },
    )

    episode_id: str = Field(min_length=1, max_length=128, description="Id returned by POST /reset")
    action: dict[str, Any] = Field(description="The action; see MLOpsAction in GET /schema")
    timeout_s: float | None = Field(None, gt=0, description="Deadline of this step in seconds")
    request_id: str | None = Field(None, max_length=255, description="Caller's tracking id; ignored")


class CloseRequest(BaseModel):
    """Body of POST /close: the episode to end and free."""

    model_config = ConfigDict(extra="forbid", strict=True)

    episode_id: str = Field(min_length=1, max_length=128)


class StepResponse(BaseModel):
    """Answer of POST /reset and POST /step: OpenEnv's envelope plus the episode id."""

    observation: MLOpsObservation
    reward: float | None
    done: bool
    episode_id: str


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy", "degraded"]


class MetadataResponse(BaseModel):
    name: str
    description: str
    readme_content: str | None = None
    version: str | None = None
    author: str | None = None
    documentation_url: str | None = None


class SchemaResponse(BaseModel):
    action: dict[str, Any]
    observation: dict[str, Any]
    state: dict[str, Any]


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: a diverged loss is sent as null."""
    return value if math.isfinite(value) else None


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as plain JSON data (no exception objects in `ctx`, no documentation URLs)."""
    return plain_errors(exc.errors(include_url=False))


def plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Error dicts (pydantic's, or FastAPI's request errors) made JSON-safe: the offending input may hold
    1e999 (infinity, which strict JSON cannot carry) or an exception object in `ctx`."""
    plain = []
    for error in errors:
        item = {key: value for key, value in dict(error).items() if key != "url"}
        if "ctx" in item:
            item["ctx"] = {str(key): plain_json(value) for key, value in item["ctx"].items()}
        item["input"] = plain_json(item.get("input"))
        item["loc"] = [part if isinstance(part, (str, int)) else str(part) for part in item.get("loc", ())]
        plain.append(item)
    return plain


def plain_json(value: Any) -> Any:
    """Any decoded-JSON-like value as strict JSON data: non-finite floats become null, unknown objects text."""
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return str(value)
