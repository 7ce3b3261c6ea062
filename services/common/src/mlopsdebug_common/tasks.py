"""The task catalog: the seed's three tasks with their step budgets and fault pools."""

from __future__ import annotations

import dataclasses
from typing import Final

from mlopsdebug_common.faults import FAULT_POOLS, FAULTS

# Seeds must survive JSON and JavaScript numbers unchanged.
MAX_SEED: Final[int] = 2**53 - 1

# Task ids follow Gymnasium's convention: "easy-v1" is pinned forever, and the plain name "easy" is
# the newest version. A new version changes the scenarios behind the seeds; results are comparable
# only within one task version (and one salt).
LATEST_VERSION: Final[int] = 4

# The generator version behind each task version. It enters every seed stream and scenario id, so
# "easy-v1" keeps producing, byte for byte, what generator 2.0.0 produced for "easy". Answer keys carry it,
# so the grader knows which version's rules a key is graded by (a key of plain "easy" made before version 4
# existed is still a version-3 key, or a version-2 key if made before version 3).
GENERATOR_VERSIONS: Final[dict[int, str]] = {1: "2.0.0", 2: "3.0.0", 3: "4.0.0", 4: "5.0.0"}
_VERSION_OF_GENERATOR: Final[dict[str, int]] = {generator: version for version, generator in GENERATOR_VERSIONS.items()}


def key_version(task_id: str, generator_version: str) -> int:
    """The task version an answer key is graded as: a pinned id's own; a plain name's by the generator that
    made the key (a key of plain "easy" sealed while version 3 was the newest is graded as version 3). Keys of
    plain names from before version 3 have always been graded as version 2, and still are."""
    spec = TASKS[task_id]
    if spec.task_id != spec.family:
        return spec.version
    return max(2, _VERSION_OF_GENERATOR.get(generator_version, 2))


@dataclasses.dataclass(frozen=True, slots=True)
class TaskSpec:
    task_id: str
    name: str
    description: str
    difficulty: str  # "easy" | "medium" | "hard": the task family, shared by every version
    max_steps: int
    asymmetric_penalty: bool
    # Internal fault ids. Never sent to agents: knowing the pool is knowing the candidate answers.
    fault_pool: tuple[str, ...]
    # The task family's version: 1 is the seed's three-fault pools, reproducible as published.
    version: int = LATEST_VERSION
    reward_min: float = -0.02
    reward_max: float = 1.0

    @property
    def family(self) -> str:
        return self.difficulty

    @property
    def heldout_faults(self) -> tuple[str, ...]:
        """The pool's held-out faults; version 1 (the seed's pools) predates splits and holds out none."""
        if self.version == 1:
            return ()
        return tuple(f for f in self.fault_pool if FAULTS[f].heldout)

    @property
    def has_heldout_split(self) -> bool:
        """Whether some faults of the pool are held out (so train and heldout splits exist)."""
        return bool(self.heldout_faults)


_COMMON_INSTRUCTIONS = (
    " Investigate the artifacts of the run (config.yaml, train.log, dataset_stats.json, preprocessing.py,"
    " eval_results.json, model_card.json) and the sanity checks, then submit one diagnosis: the failure"
    " category, the file and the single field that hold the root cause, what went wrong, and a concrete fix."
)

_FAMILIES: Final[tuple[TaskSpec, ...]] = (
    TaskSpec(
        task_id="easy",
        name="Config Error Diagnosis",
        description="A training run misbehaved because of its configuration." + _COMMON_INSTRUCTIONS,
        difficulty="easy",
        max_steps=20,
        asymmetric_penalty=False,
        fault_pool=FAULT_POOLS[("easy", LATEST_VERSION)],
    ),
    TaskSpec(
        task_id="medium",
        name="Data Leakage Detection",
        description="A training run reports results that cannot be trusted; the data pipeline is suspect."
        + _COMMON_INSTRUCTIONS,
        difficulty="medium",
        max_steps=30,
        asymmetric_penalty=False,
        fault_pool=FAULT_POOLS[("medium", LATEST_VERSION)],
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
        fault_pool=FAULT_POOLS[("hard", LATEST_VERSION)],
    ),
)


def _versions(family: TaskSpec) -> list[TaskSpec]:
    """The plain name (newest) and one pinned id per version, e.g. easy, easy-v1, easy-v2."""
    specs = [family]
    for version in range(1, LATEST_VERSION + 1):
        specs.append(
            dataclasses.replace(
                family,
                task_id=f"{family.task_id}-v{version}",
                version=version,
                fault_pool=FAULT_POOLS[(family.task_id, version)],
            )
        )
    return specs


TASKS: Final[dict[str, TaskSpec]] = {spec.task_id: spec for family in _FAMILIES for spec in _versions(family)}

# The task families, in difficulty order (their plain names are the newest versions).
TASK_ORDER: Final[tuple[str, ...]] = ("easy", "medium", "hard")

# Which of a task's faults a reset draws from: all of them, those not held out, or the held-out ones.
SPLITS: Final[tuple[str, ...]] = ("all", "train", "heldout")

# Every task id a reset accepts: the plain names, then each pinned version.
TASK_IDS: Final[tuple[str, ...]] = TASK_ORDER + tuple(
    sorted((t for t in TASKS if t not in TASK_ORDER), key=lambda t: (TASKS[t].version, TASK_ORDER.index(TASKS[t].family)))
)
