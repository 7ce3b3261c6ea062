"""Actions as the episode core sees them, and the checks that make a malformed action harmless.

Every check runs before an episode is touched, so a refused action changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from mlopsdebug_common.domain import (
    ACTION_TYPES,
    ARTIFACT_FILES,
    CATEGORIES,
    SANITY_CHECKS,
    STRUCTURED_ARTIFACTS,
    Diagnosis,
)
from mlopsdebug_common.errors import FieldViolation, InvalidArgument
from mlopsdebug_common.validation import (
    FIELD_MAX_CHARS,
    FIELD_PATH_MAX_CHARS,
    FILE_MAX_CHARS,
    LOG_FILTER_MAX_CHARS,
    TEXT_MAX_CHARS,
)

# Which artifact each whole-file read returns.
READ_TARGETS: Final[dict[str, str]] = {
    "read_config": "config.yaml",
    "read_logs": "train.log",
    "check_dataset_stats": "dataset_stats.json",
    "inspect_preprocessing": "preprocessing.py",
    "read_eval_results": "eval_results.json",
}
_EPOCH_FILTER = re.compile(r"^\s*epoch\s*:\s*(\d+)\s*(?:-\s*(\d+)\s*)?$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    kind: str  # one of ACTION_TYPES
    log_filter: str = ""
    check: str = ""  # sanity check type
    artifact: str = ""  # artifact file name for query_artifact
    field_path: str = ""
    diagnosis: Diagnosis | None = None

    def identity(self) -> tuple[str, ...]:
        """What makes two reads identical (a repeated identical read costs reward)."""
        return (self.kind, self.log_filter.strip().lower(), self.check, self.artifact, self.field_path.strip())


def parse_epoch_filter(log_filter: str) -> tuple[int, int] | None:
    """(first, last) for "epoch:N-M" or "epoch:N"; None for a keyword filter."""
    match = _EPOCH_FILTER.match(log_filter)
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    return first, last


def validate_action(action: Action, prefix: str = "action") -> Action:
    """Raises InvalidArgument naming every offending field."""
    violations: list[FieldViolation] = []
    if action.kind not in ACTION_TYPES:
        raise InvalidArgument.for_field(prefix, "exactly one action must be set", reason="ACTION_MISSING")
    where = f"{prefix}.{action.kind}"
    if action.kind == "read_logs":
        if len(action.log_filter) > LOG_FILTER_MAX_CHARS:
            violations.append(FieldViolation(f"{where}.log_filter", f"longer than {LOG_FILTER_MAX_CHARS} characters"))
        elif action.log_filter.strip().lower().startswith("epoch:"):
            span = parse_epoch_filter(action.log_filter)
            if span is None or span[0] < 1 or span[1] < span[0]:
                violations.append(
                    FieldViolation(f"{where}.log_filter", "epoch filter must be 'epoch:N' or 'epoch:N-M' with 1 <= N <= M")
                )
    elif action.kind == "run_sanity_check":
        if action.check not in SANITY_CHECKS:
            violations.append(FieldViolation(f"{where}.check", f"required; one of {', '.join(SANITY_CHECKS)}"))
    elif action.kind == "query_artifact":
        if action.artifact not in ARTIFACT_FILES:
            violations.append(FieldViolation(f"{where}.artifact", f"required; one of {', '.join(STRUCTURED_ARTIFACTS)}"))
        elif action.artifact not in STRUCTURED_ARTIFACTS:
            violations.append(
                FieldViolation(f"{where}.artifact", f"{action.artifact} is plain text; read it whole instead")
            )
        path = action.field_path.strip()
        if not path:
            violations.append(FieldViolation(f"{where}.field_path", "required"))
        elif len(action.field_path) > FIELD_PATH_MAX_CHARS:
            violations.append(FieldViolation(f"{where}.field_path", f"longer than {FIELD_PATH_MAX_CHARS} characters"))
    elif action.kind == "submit_diagnosis":
        violations.extend(_diagnosis_violations(action.diagnosis, f"{where}.diagnosis"))
    if violations:
        message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        raise InvalidArgument(message, reason="INVALID_ACTION", violations=violations)
    return action


def _diagnosis_violations(diagnosis: Diagnosis | None, where: str) -> list[FieldViolation]:
    if diagnosis is None:
        return [FieldViolation(where, "required")]
    out: list[FieldViolation] = []
    if diagnosis.failure_category not in CATEGORIES:
        out.append(FieldViolation(f"{where}.failure_category", f"required; one of {', '.join(CATEGORIES)}"))
    caps = (
        ("root_cause_file", diagnosis.root_cause_file, FILE_MAX_CHARS, True),
        ("root_cause_field", diagnosis.root_cause_field, FIELD_MAX_CHARS, True),
        ("diagnosis", diagnosis.diagnosis, TEXT_MAX_CHARS, False),
        ("proposed_fix", diagnosis.proposed_fix, TEXT_MAX_CHARS, True),
    )
    for name, value, cap, required in caps:
        if len(value) > cap:
            out.append(FieldViolation(f"{where}.{name}", f"longer than {cap} characters ({len(value)})"))
        elif required and not value.strip():
            out.append(FieldViolation(f"{where}.{name}", "required"))
    return out
