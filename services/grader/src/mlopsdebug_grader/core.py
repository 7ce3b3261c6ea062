"""The grader's pure core: validate a diagnosis and score it against an opened answer key.

score = 0.15 category + 0.25 file + 0.30 field + 0.30 fix (design.md, invariant 4). With the asymmetric
penalty (hard task) a missed weight costs 1.5x: score = max(0, 1 - 1.5 * (1 - raw)). Every grade explains
each component in one line; when answers are withheld the lines say whether a component matched, never
what the expected value is. A diagnosis is judged as one: when its fix aims at another fault, the field
earns nothing and the category only if it is that fault's category (see docs/grading.md). From task version 3
on, category and file credit are scaled by the field credit: naming the fault's category and file without its
field is what a prior knows.
"""

from __future__ import annotations

import math
from typing import Final

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import (
    CATEGORIES,
    GRADE_WEIGHTS,
    Diagnosis,
    Grade,
    GradeComponent,
    RevealedAnswer,
)
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.tasks import TASKS, key_version
from mlopsdebug_grader import fix_rules, matching

GRADER_VERSION: Final[str] = "3.0.0"
# From this task version on, category and file credit count only as far as the answer locates the fault
# (they are scaled by the field credit): "config_error in config.yaml" is what a prior knows without reading
# an artifact, so on its own it earns nothing. Keys of earlier versions are graded as they always were.
NESTED_LOCATION_FROM_VERSION: Final[int] = 3
FIELD_MAX_CHARS: Final[int] = 200
FILE_MAX_CHARS: Final[int] = 200
TEXT_MAX_CHARS: Final[int] = 4000
ASYMMETRIC_MISS_COST: Final[float] = 1.5

# Diagnosis attribute -> its length cap, in the order they are checked.
CAPS: Final[tuple[tuple[str, int], ...]] = (
    ("root_cause_file", FILE_MAX_CHARS),
    ("root_cause_field", FIELD_MAX_CHARS),
    ("diagnosis", TEXT_MAX_CHARS),
    ("proposed_fix", TEXT_MAX_CHARS),
)


def validate_diagnosis(d: Diagnosis) -> None:
    """Refuses a diagnosis that cannot be graded (InvalidArgument): a field over its cap, or an unknown
    category. A field over its cap is reason DIAGNOSIS_TOO_LONG, naming the field (diagnosis.<name>)."""
    for name, limit in CAPS:
        value = getattr(d, name)
        if not isinstance(value, str):
            raise InvalidArgument.for_field("diagnosis", f"{name} must be text", reason="INVALID_DIAGNOSIS")
        if len(value) > limit:
            raise InvalidArgument.for_field(
                f"diagnosis.{name}", f"longer than {limit} characters", reason="DIAGNOSIS_TOO_LONG"
            )
    if d.failure_category not in CATEGORIES:
        shown = d.failure_category if len(d.failure_category) <= 40 else d.failure_category[:40] + "..."
        raise InvalidArgument.for_field(
            "diagnosis",
            f"unknown failure category {shown!r}; expected one of {', '.join(CATEGORIES)}",
            reason="INVALID_DIAGNOSIS",
        )


R_CATEGORY_INCOHERENT = (
    "the category matches, but the fix aims at a fault of another category; a diagnosis must name one fault"
)
R_FIELD_INCOHERENT = "the field matches, but the fix aims at a different fault; a diagnosis must name one fault"
R_UNLOCATED = ", but counts only as far as the field locates the fault"


def _match_reason(what: str, outcome: str) -> str:
    return {
        "match": f"the {what} matches",
        "mismatch": f"the {what} does not match",
        "empty": f"the {what} is empty",
        "several": f"the {what} names several candidates; naming more than one earns nothing",
    }[outcome]


def _expected(reveal: bool, value: str) -> str:
    return f" (expected {value})" if reveal else ""


def grade(
    key: AnswerKey,
    diagnosis: Diagnosis,
    *,
    asymmetric_penalty: bool,
    reveal_answer: bool,
    reveal_heldout: bool = False,
) -> Grade:
    """Scores a diagnosis; raises InvalidArgument for input that validate_diagnosis refuses.

    A held-out fault's answer stays sealed even in training mode unless `reveal_heldout`: revealing it
    would let a training loop learn the faults that are meant to measure generalisation.
    """
    validate_diagnosis(diagnosis)
    reveal_answer = reveal_answer and (reveal_heldout or key.fault_id not in TASKS[key.task_id].heldout_faults)

    # A diagnosis names one fault throughout: the faults its fix aims at (read without the key) bound
    # which category and which field it can be credited for. Without this, a constant answer could take
    # the category shared by two faults and the field and fix of a third, and beat guessing the fault.
    targets = fix_rules.targeted_faults(diagnosis.proposed_fix, fix_rules.rule_set(key))
    target_categories = {FAULTS[t].category for t in targets}

    category_ok = diagnosis.failure_category == key.category
    category_coherent = not targets or diagnosis.failure_category in target_categories
    category_reason = _match_reason("category", "match" if category_ok else "mismatch")
    if category_ok and not category_coherent:
        category_reason = R_CATEGORY_INCOHERENT
    if not (category_ok and category_coherent):
        category_reason += _expected(reveal_answer, key.category)
    category_credit = 1.0 if category_ok and category_coherent else 0.0

    file_match = matching.match_file(diagnosis.root_cause_file, key.file)
    file_reason = _match_reason("file", file_match.outcome)
    if file_match.credit < 1:
        file_reason += _expected(reveal_answer, key.file)

    field_match = matching.match_field(diagnosis.root_cause_field, key.field, key.field_aliases)
    field_credit = field_match.credit
    field_reason = _match_reason("field", field_match.outcome)
    if field_credit > 0 and targets and key.fault_id not in targets:
        field_credit, field_reason = 0.0, R_FIELD_INCOHERENT
    if field_credit < 1:
        field_reason += _expected(reveal_answer, key.field)

    file_credit = file_match.credit
    if key_version(key.task_id, key.generator_version) >= NESTED_LOCATION_FROM_VERSION and field_credit < 1:
        if category_credit > 0:
            category_credit *= field_credit
            category_reason += R_UNLOCATED
        if file_credit > 0:
            file_credit *= field_credit
            file_reason += R_UNLOCATED

    fix = fix_rules.judge_fix(key, diagnosis.proposed_fix)
    fix_reason = fix.reason
    if fix.credit < 1 and reveal_answer:
        fix_reason += f" (a correct fix: {fix_rules.rule_sentence(key)})"

    components = (
        GradeComponent("category", GRADE_WEIGHTS["category"], category_credit, category_reason),
        GradeComponent("file", GRADE_WEIGHTS["file"], file_credit, file_reason),
        GradeComponent("field", GRADE_WEIGHTS["field"], field_credit, field_reason),
        GradeComponent("fix", GRADE_WEIGHTS["fix"], fix.credit, fix_reason),
    )
    raw = _unit(math.fsum(c.weight * c.credit for c in components))
    score = _unit(1.0 - ASYMMETRIC_MISS_COST * (1.0 - raw)) if asymmetric_penalty else raw
    answer = None
    if reveal_answer:
        answer = RevealedAnswer(
            fault_id=key.fault_id,
            category=key.category,
            file=key.file,
            field=key.field,
            field_aliases=tuple(key.field_aliases),
            fix_rule=fix_rules.rule_sentence(key),
        )
    return Grade(
        score=score,
        raw_score=raw,
        asymmetric_penalty=asymmetric_penalty,
        components=components,
        grader_version=GRADER_VERSION,
        answer=answer,
    )


def _unit(x: float) -> float:
    """Clamps to [0, 1] and rounds away float noise, so 0.15 + 0.25 + 0.3 + 0.3 is exactly 1.0."""
    return min(1.0, max(0.0, round(x, 12)))


__all__ = [
    "CAPS",
    "FIELD_MAX_CHARS",
    "FILE_MAX_CHARS",
    "GRADER_VERSION",
    "TEXT_MAX_CHARS",
    "grade",
    "validate_diagnosis",
]
