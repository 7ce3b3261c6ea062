"""The environment's word lists, in the seed's spelling, read from the contract (never written out by hand).

Agents, the OpenEnv client and tests take the names of actions, sanity checks, artifacts and failure
categories from here; each list follows the order of its proto enum (or of the `Action.kind` oneof),
so a check or category added to `protos/` reaches every client without another edit.
"""

from __future__ import annotations

from typing import Final

from mlopsdebug.common.v1 import common_pb2

from ._enums import short_names

__all__ = [
    "ACTION_TYPES",
    "ARTIFACTS",
    "CATEGORIES",
    "CHECK_STATUSES",
    "GRADE_COMPONENTS",
    "SANITY_CHECKS",
    "STRUCTURED_ARTIFACTS",
    "TASK_FAMILIES",
    "TRAINING_STATUSES",
]

# The action types: the fields of the `Action.kind` oneof (read_config ... submit_diagnosis).
ACTION_TYPES: Final[tuple[str, ...]] = tuple(
    field.name for field in common_pb2.Action.DESCRIPTOR.oneofs_by_name["kind"].fields
)
ARTIFACTS: Final[tuple[str, ...]] = tuple(short_names(common_pb2.ArtifactName.DESCRIPTOR))
# The artifacts query_artifact can address by dot path: the YAML and JSON documents.
STRUCTURED_ARTIFACTS: Final[tuple[str, ...]] = tuple(a for a in ARTIFACTS if a.endswith((".yaml", ".json")))
SANITY_CHECKS: Final[tuple[str, ...]] = tuple(short_names(common_pb2.SanityCheckType.DESCRIPTOR))
CHECK_STATUSES: Final[tuple[str, ...]] = tuple(short_names(common_pb2.CheckStatus.DESCRIPTOR))
CATEGORIES: Final[tuple[str, ...]] = tuple(short_names(common_pb2.FailureCategory.DESCRIPTOR))
TRAINING_STATUSES: Final[tuple[str, ...]] = tuple(short_names(common_pb2.TrainingStatus.DESCRIPTOR))
GRADE_COMPONENTS: Final[tuple[str, ...]] = tuple(short_names(common_pb2.GradeComponentKind.DESCRIPTOR))
# The task families (difficulties): easy, medium, hard. Pinned versions (easy-v1, ...) come from ListTasks.
TASK_FAMILIES: Final[tuple[str, ...]] = tuple(short_names(common_pb2.Difficulty.DESCRIPTOR))
