"""Transport-free domain types shared by the services: scenarios, diagnoses and grades.

They mirror the protobuf messages in mlopsdebug.common.v1; each service's convert module maps them.
Enum-like values are plain lower-case strings (the seed's spelling): "config.yaml",
"label_consistency", "config_error", "completed", "pass".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Final

from mlopsdebug_common.answer_key import SealedKey
from mlopsdebug_common.faults import ARTIFACT_FILES, CATEGORIES

# The eight actions of the seed, in its order.
ACTION_TYPES: Final[tuple[str, ...]] = (
    "read_config",
    "read_logs",
    "check_dataset_stats",
    "inspect_preprocessing",
    "read_eval_results",
    "run_sanity_check",
    "query_artifact",
    "submit_diagnosis",
)
SANITY_CHECKS: Final[tuple[str, ...]] = (
    "label_consistency",
    "data_leakage",
    "gradient_norms",
    "class_balance",
    "feature_statistics",
    "encoder_version_match",
    "loss_trajectory",
    "metric_gap_analysis",
)
CHECK_STATUSES: Final[tuple[str, ...]] = ("pass", "warn", "fail", "not_applicable")
TRAINING_STATUSES: Final[tuple[str, ...]] = ("completed", "early_stopped", "diverged", "failed")
# Artifacts that query_artifact can address by dot path (the others are plain text).
STRUCTURED_ARTIFACTS: Final[tuple[str, ...]] = (
    "config.yaml",
    "dataset_stats.json",
    "eval_results.json",
    "model_card.json",
)
GRADE_WEIGHTS: Final[dict[str, float]] = {"category": 0.15, "file": 0.25, "field": 0.30, "fix": 0.30}

__all__ = [
    "ACTION_TYPES",
    "ARTIFACT_FILES",
    "CATEGORIES",
    "CHECK_STATUSES",
    "GRADE_WEIGHTS",
    "SANITY_CHECKS",
    "STRUCTURED_ARTIFACTS",
    "TRAINING_STATUSES",
    "ArtifactDoc",
    "Diagnosis",
    "Grade",
    "GradeComponent",
    "RevealedAnswer",
    "RunSummary",
    "SanityCheckResult",
    "Scenario",
]


_INDENTED_OBJECT: Final = '{\n  "'
_TOP_LEVEL_KEY: Final = '\n  "'


@dataclasses.dataclass(frozen=True, slots=True)
class ArtifactDoc:
    name: str  # one of ARTIFACT_FILES
    content: str
    description: str
    last_modified: str  # ISO 8601 UTC

    @property
    def size_hint(self) -> str:
        """Lines for text artifacts, top-level fields for structured ones (what a file browser shows)."""
        if self.name.endswith(".json"):
            content = self.content
            if content.startswith(_INDENTED_OBJECT):
                # json.dumps(indent=2) of an object, as the generator writes them: every top-level key, and
                # nothing else, starts a line with exactly two spaces and a quote (a JSON string holds no raw
                # newline; deeper lines are indented further). Counting those is parsing's answer, for a
                # fraction of its cost on the cold-reset path.
                return f"{content.count(_TOP_LEVEL_KEY)} fields"
            import json  # noqa: PLC0415

            return f"{len(json.loads(content))} fields"
        return f"{self.content.count(chr(10)) + (0 if self.content.endswith(chr(10)) else 1)} lines"


@dataclasses.dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    model: str
    dataset: str
    modality: str  # "vision" | "text" | "tabular"
    training_status: str  # one of TRAINING_STATUSES
    epochs_planned: int
    epochs_completed: int
    final_train_loss: float  # NaN when diverged
    final_val_loss: float
    primary_metric: str
    val_metric: float
    test_metric: float
    wall_clock_seconds: float
    started_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class SanityCheckResult:
    check: str  # one of SANITY_CHECKS
    status: str  # one of CHECK_STATUSES
    summary: str
    metrics: dict[str, float]
    details: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    scenario_id: str
    task_id: str
    seed: int
    generator_version: str
    run_summary: RunSummary
    artifacts: tuple[ArtifactDoc, ...]  # the six, in ARTIFACT_FILES order
    # The eight, in SANITY_CHECKS order: a tuple, or a sequence that converts them on first use.
    sanity_checks: Sequence[SanityCheckResult]
    answer_key: SealedKey

    def artifact(self, name: str) -> ArtifactDoc:
        for doc in self.artifacts:
            if doc.name == name:
                return doc
        raise KeyError(name)

    def sanity_check(self, check: str) -> SanityCheckResult:
        for result in self.sanity_checks:
            if result.check == check:
                return result
        raise KeyError(check)


@dataclasses.dataclass(frozen=True, slots=True)
class Diagnosis:
    failure_category: str  # one of CATEGORIES
    root_cause_file: str
    root_cause_field: str
    diagnosis: str
    proposed_fix: str


@dataclasses.dataclass(frozen=True, slots=True)
class GradeComponent:
    kind: str  # "category" | "file" | "field" | "fix"
    weight: float
    credit: float  # in [0, 1]
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class RevealedAnswer:
    fault_id: str
    category: str
    file: str
    field: str
    field_aliases: tuple[str, ...]
    fix_rule: str


@dataclasses.dataclass(frozen=True, slots=True)
class Grade:
    score: float
    raw_score: float
    asymmetric_penalty: bool
    components: tuple[GradeComponent, ...]
    grader_version: str
    answer: RevealedAnswer | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.score <= 1.0) or math.isnan(self.score):
            raise ValueError(f"score {self.score} outside [0, 1]")
