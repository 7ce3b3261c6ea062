"""The task catalog: the seed's three tasks with their step budgets and fault pools."""

from __future__ import annotations

import dataclasses
from typing import Final

# Seeds must survive JSON and JavaScript numbers unchanged.
MAX_SEED: Final[int] = 2**53 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class TaskSpec:
    task_id: str
    name: str
    description: str
    difficulty: str  # "easy" | "medium" | "hard"
    max_steps: int
    asymmetric_penalty: bool
    # Internal fault ids. Never sent to agents: knowing the pool is knowing the candidate answers.
    fault_pool: tuple[str, ...]
    reward_min: float = -0.02
    reward_max: float = 1.0


_COMMON_INSTRUCTIONS = (
    " Investigate the artifacts of the run (config.yaml, train.log, dataset_stats.json, preprocessing.py,"
    " eval_results.json, model_card.json) and the sanity checks, then submit one diagnosis: the failure"
    " category, the file and the single field that hold the root cause, what went wrong, and a concrete fix."
)

TASKS: Final[dict[str, TaskSpec]] = {
    spec.task_id: spec
    for spec in (
        TaskSpec(
            task_id="easy",
            name="Config Error Diagnosis",
            description="A training run misbehaved because of its configuration." + _COMMON_INSTRUCTIONS,
            difficulty="easy",
            max_steps=20,
            asymmetric_penalty=False,
            fault_pool=("exploding_lr", "wrong_optimizer", "batch_size_overflow"),
        ),
        TaskSpec(
            task_id="medium",
            name="Data Leakage Detection",
            description="A training run reports results that cannot be trusted; the data pipeline is suspect."
            + _COMMON_INSTRUCTIONS,
            difficulty="medium",
            max_steps=30,
            asymmetric_penalty=False,
            fault_pool=("data_leakage_scaler", "data_leakage_overlap", "wrong_split_ratio"),
        ),
        TaskSpec(
            task_id="hard",
            name="Silent Evaluation Bug",
            description="A training run finished without errors, but its reported evaluation is wrong."
            + _COMMON_INSTRUCTIONS
            + " Missed credit costs 1.5x on this task.",
            difficulty="hard",
            max_steps=40,
            asymmetric_penalty=True,
            fault_pool=("label_encoder_mismatch", "silent_metric_swap", "tokenizer_version_drift"),
        ),
    )
}

TASK_ORDER: Final[tuple[str, ...]] = ("easy", "medium", "hard")
