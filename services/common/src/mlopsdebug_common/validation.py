"""Input checks shared by the generator and episode services, so both refuse the same inputs alike.

The one place task, seed and split are validated: the generator's core calls these, and its servicer
does not check again.
"""

from __future__ import annotations

import numbers

from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.tasks import MAX_SEED, SPLITS, TASKS

# Caps on free text in a diagnosis (characters). The grader enforces the same caps.
FIELD_MAX_CHARS = 200
FILE_MAX_CHARS = 200
TEXT_MAX_CHARS = 4000
LOG_FILTER_MAX_CHARS = 200
FIELD_PATH_MAX_CHARS = 200
# Most steps one StepBatch may carry (the proto documents the same bound). The answer must fit in one
# 4 MiB message: the steps are applied before it is sent, so an answer too big to send would lose them.
# The largest observation (a whole train.log) is under 40 KiB, so 64 leave ample headroom.
STEP_BATCH_MAX_STEPS = 64
# A caller-chosen episode id: what fits in URLs, log lines and metric labels without escaping.
EPISODE_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


def validate_task_id(task_id: str, *, field: str = "task_id") -> str:
    if task_id not in TASKS:
        shown = task_id if len(task_id) <= 40 else task_id[:40] + "..."
        raise InvalidArgument.for_field(
            field, f"unknown task {shown!r}; expected one of {', '.join(TASKS)}", reason="UNKNOWN_TASK"
        )
    return task_id


def validate_seed(seed: int, *, field: str = "seed") -> int:
    """An integer in [0, MAX_SEED] (numpy integers too; booleans, floats and strings are not seeds)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidArgument.for_field(field, f"seed must be an integer, got {type(seed).__name__}",
                                        reason="INVALID_SEED")
    if not 0 <= seed <= MAX_SEED:
        raise InvalidArgument.for_field(field, f"seed {seed} outside [0, {MAX_SEED}]", reason="INVALID_SEED")
    return int(seed)


def validate_split(task_id: str, split: str, *, field: str = "split") -> str:
    """A split the task has: "all" always, "train" and "heldout" only where some faults are held out."""
    if split not in SPLITS:
        raise InvalidArgument.for_field(field, f"unknown split {split!r}; expected one of {', '.join(SPLITS)}",
                                        reason="UNKNOWN_SPLIT")
    if split != "all" and not TASKS[task_id].has_heldout_split:
        raise InvalidArgument.for_field(
            field, f"task {task_id!r} holds out no faults, so it has no {split} split; use all", reason="NO_SUCH_SPLIT"
        )
    return split
