"""Conversions between the shared domain types and mlopsdebug.common.v1 messages.

Enum values map by name: the domain spells "config.yaml" / "label_consistency", the proto
ARTIFACT_NAME_CONFIG_YAML / SANITY_CHECK_TYPE_LABEL_CONSISTENCY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug_common.answer_key import SealedKey
from mlopsdebug_common.domain import (
    ArtifactDoc,
    Diagnosis,
    Grade,
    GradeComponent,
    RevealedAnswer,
    RunSummary,
    SanityCheckResult,
    Scenario,
)
from mlopsdebug_common.errors import InvalidArgument

E = TypeVar("E", bound=int)  # a protobuf enum class of the generated .pyi


def _enum_maps(enum: type[E], prefix: str, spell: dict[str, str] | None = None) -> tuple[dict[str, E], dict[E, str]]:
    """Lower-case words to an enum's numbers and back, without the zero value; typed by the enum's class."""
    to_proto: dict[str, E] = {}
    for name, number in enum.items():  # type: ignore[attr-defined]
        if number == 0:
            continue
        word = str(name).removeprefix(prefix).lower()
        word = spell.get(word, word) if spell else word
        to_proto[word] = number
    return to_proto, {v: k for k, v in to_proto.items()}


ARTIFACT_TO_PB, ARTIFACT_FROM_PB = _enum_maps(
    pb.ArtifactName,
    "ARTIFACT_NAME_",
    {
        "config_yaml": "config.yaml",
        "train_log": "train.log",
        "dataset_stats_json": "dataset_stats.json",
        "preprocessing_py": "preprocessing.py",
        "eval_results_json": "eval_results.json",
        "model_card_json": "model_card.json",
    },
)
CHECK_TO_PB, CHECK_FROM_PB = _enum_maps(pb.SanityCheckType, "SANITY_CHECK_TYPE_")
STATUS_TO_PB, STATUS_FROM_PB = _enum_maps(pb.CheckStatus, "CHECK_STATUS_")
CATEGORY_TO_PB, CATEGORY_FROM_PB = _enum_maps(pb.FailureCategory, "FAILURE_CATEGORY_")
TRAINING_TO_PB, TRAINING_FROM_PB = _enum_maps(pb.TrainingStatus, "TRAINING_STATUS_")
COMPONENT_TO_PB, COMPONENT_FROM_PB = _enum_maps(pb.GradeComponentKind, "GRADE_COMPONENT_KIND_")
DIFFICULTY_TO_PB, _ = _enum_maps(pb.Difficulty, "DIFFICULTY_")
EPISODE_STATE_TO_PB, _ = _enum_maps(pb.EpisodeState, "EPISODE_STATE_")


def run_summary_to_pb(s: RunSummary) -> pb.RunSummary:
    return pb.RunSummary(
        run_id=s.run_id,
        model=s.model,
        dataset=s.dataset,
        modality=s.modality,
        training_status=TRAINING_TO_PB[s.training_status],
        epochs_planned=s.epochs_planned,
        epochs_completed=s.epochs_completed,
        final_train_loss=s.final_train_loss,
        final_val_loss=s.final_val_loss,
        primary_metric=s.primary_metric,
        val_metric=s.val_metric,
        test_metric=s.test_metric,
        wall_clock_seconds=s.wall_clock_seconds,
        started_at=s.started_at,
    )


def run_summary_from_pb(m: pb.RunSummary) -> RunSummary:
    return RunSummary(
        run_id=m.run_id,
        model=m.model,
        dataset=m.dataset,
        modality=m.modality,
        training_status=TRAINING_FROM_PB.get(m.training_status, "completed"),
        epochs_planned=m.epochs_planned,
        epochs_completed=m.epochs_completed,
        final_train_loss=m.final_train_loss,
        final_val_loss=m.final_val_loss,
        primary_metric=m.primary_metric,
        val_metric=m.val_metric,
        test_metric=m.test_metric,
        wall_clock_seconds=m.wall_clock_seconds,
        started_at=m.started_at,
    )


def sanity_check_to_pb(r: SanityCheckResult) -> pb.SanityCheckResult:
    return pb.SanityCheckResult(
        check=CHECK_TO_PB[r.check],
        status=STATUS_TO_PB[r.status],
        summary=r.summary,
        metrics=r.metrics,
        details=r.details,
    )


def sanity_check_from_pb(m: pb.SanityCheckResult) -> SanityCheckResult:
    return SanityCheckResult(
        check=CHECK_FROM_PB[m.check],
        status=STATUS_FROM_PB[m.status],
        summary=m.summary,
        metrics=dict(m.metrics),
        details=tuple(m.details),
    )


def sealed_key_to_pb(k: SealedKey) -> pb.SealedAnswerKey:
    return pb.SealedAnswerKey(key_id=k.key_id, nonce=k.nonce, ciphertext=k.ciphertext, scenario_id=k.scenario_id)


def sealed_key_from_pb(m: pb.SealedAnswerKey) -> SealedKey:
    return SealedKey(key_id=m.key_id, nonce=m.nonce, ciphertext=m.ciphertext, scenario_id=m.scenario_id)


def scenario_to_pb(s: Scenario) -> pb.Scenario:
    return pb.Scenario(
        scenario_id=s.scenario_id,
        task_id=s.task_id,
        seed=s.seed,
        generator_version=s.generator_version,
        run_summary=run_summary_to_pb(s.run_summary),
        artifacts=[
            pb.Artifact(
                name=ARTIFACT_TO_PB[a.name], content=a.content, description=a.description, last_modified=a.last_modified
            )
            for a in s.artifacts
        ],
        sanity_checks=[sanity_check_to_pb(r) for r in s.sanity_checks],
        answer_key=sealed_key_to_pb(s.answer_key),
    )


def scenario_from_pb(m: pb.Scenario, sanity_checks: Sequence[SanityCheckResult] | None = None) -> Scenario:
    """`sanity_checks`: the message's checks in another form (e.g. converted on first use), instead of
    converting them here."""
    return Scenario(
        scenario_id=m.scenario_id,
        task_id=m.task_id,
        seed=m.seed,
        generator_version=m.generator_version,
        run_summary=run_summary_from_pb(m.run_summary),
        artifacts=tuple(
            ArtifactDoc(ARTIFACT_FROM_PB[a.name], a.content, a.description, a.last_modified) for a in m.artifacts
        ),
        sanity_checks=tuple(sanity_check_from_pb(r) for r in m.sanity_checks) if sanity_checks is None else sanity_checks,
        answer_key=sealed_key_from_pb(m.answer_key),
    )


def diagnosis_to_pb(d: Diagnosis) -> pb.Diagnosis:
    return pb.Diagnosis(
        failure_category=CATEGORY_TO_PB.get(d.failure_category, pb.FAILURE_CATEGORY_UNSPECIFIED),
        root_cause_file=d.root_cause_file,
        root_cause_field=d.root_cause_field,
        diagnosis=d.diagnosis,
        proposed_fix=d.proposed_fix,
    )


def diagnosis_from_pb(m: pb.Diagnosis) -> Diagnosis:
    return Diagnosis(
        failure_category=CATEGORY_FROM_PB.get(m.failure_category, ""),
        root_cause_file=m.root_cause_file,
        root_cause_field=m.root_cause_field,
        diagnosis=m.diagnosis,
        proposed_fix=m.proposed_fix,
    )


def grade_to_pb(g: Grade) -> pb.Grade:
    message = pb.Grade(
        score=g.score,
        raw_score=g.raw_score,
        asymmetric_penalty=g.asymmetric_penalty,
        components=[
            pb.GradeComponent(kind=COMPONENT_TO_PB[c.kind], weight=c.weight, credit=c.credit, reason=c.reason)
            for c in g.components
        ],
        grader_version=g.grader_version,
    )
    if g.answer is not None:
        a = g.answer
        message.answer.CopyFrom(
            pb.RevealedAnswer(
                fault_id=a.fault_id,
                category=CATEGORY_TO_PB[a.category],
                file=a.file,
                field=a.field,
                field_aliases=a.field_aliases,
                fix_rule=a.fix_rule,
            )
        )
    return message


def grade_from_pb(m: pb.Grade) -> Grade:
    answer = None
    if m.HasField("answer"):
        a = m.answer
        answer = RevealedAnswer(
            fault_id=a.fault_id,
            category=CATEGORY_FROM_PB.get(a.category, ""),
            file=a.file,
            field=a.field,
            field_aliases=tuple(a.field_aliases),
            fix_rule=a.fix_rule,
        )
    return Grade(
        score=m.score,
        raw_score=m.raw_score,
        asymmetric_penalty=m.asymmetric_penalty,
        components=tuple(
            GradeComponent(COMPONENT_FROM_PB.get(c.kind, ""), c.weight, c.credit, c.reason) for c in m.components
        ),
        grader_version=m.grader_version,
        answer=answer,
    )


def task_to_pb(spec) -> pb.TaskInfo:  # noqa: ANN001 - TaskSpec, imported lazily by callers
    return pb.TaskInfo(
        task_id=spec.task_id,
        name=spec.name,
        description=spec.description,
        difficulty=DIFFICULTY_TO_PB[spec.difficulty],
        max_steps=spec.max_steps,
        asymmetric_penalty=spec.asymmetric_penalty,
        reward_min=spec.reward_min,
        reward_max=spec.reward_max,
        version=spec.version,
        has_heldout_split=spec.has_heldout_split,
    )


SPLIT_FROM_PB: Final[dict[int, str]] = {
    pb.FAULT_SPLIT_UNSPECIFIED: "all",
    pb.FAULT_SPLIT_ALL: "all",
    pb.FAULT_SPLIT_TRAIN: "train",
    pb.FAULT_SPLIT_HELDOUT: "heldout",
}
SPLIT_TO_PB: Final[dict[str, pb.FaultSplit]] = {"all": pb.FAULT_SPLIT_ALL, "train": pb.FAULT_SPLIT_TRAIN,
                                      "heldout": pb.FAULT_SPLIT_HELDOUT}


def split_from_pb(value: int, *, field: str = "split") -> str:
    """The domain split of a FaultSplit value; an unknown number is INVALID_ARGUMENT."""
    try:
        return SPLIT_FROM_PB[value]
    except KeyError:
        raise InvalidArgument.for_field(field, f"unknown FaultSplit value {value}", reason="UNKNOWN_SPLIT") from None
