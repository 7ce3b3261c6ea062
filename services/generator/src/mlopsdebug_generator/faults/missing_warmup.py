"""easy: no learning-rate warmup for a transformer trained at a high peak rate; it diverges in the first steps.

Adam's second-moment estimates start from zero, so the first updates of a freshly initialised head on a
transformer are far larger than the configured rate suggests; warmup ramps the rate up while the
estimates settle. At a peak rate that is fine after warmup, skipping it blows the loss up early.
"""

from __future__ import annotations

import dataclasses
import math

from mlopsdebug_generator import training
from mlopsdebug_generator.catalog import ADAPTIVE_OPTIMIZERS
from mlopsdebug_generator.draws import nice_round, pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register

TRANSFORMER_FAMILIES = ("distilbert", "bert", "roberta", "vit", "transformer")


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: int
    # A warmup is a fix when it lasts between safe_min and safe_max optimizer steps (of about total_steps).
    safe_min: int
    safe_max: int
    total_steps: int
    steps_per_epoch: int
    healthy_value: int


def estimated_steps_per_epoch(world) -> int:
    """Optimizer steps per epoch the author expects (as build_world sizes warmups): train rows / batch."""
    ds = world.dataset
    pool_est = ds.pool_size * (1.0 - world.test_fraction) * (1.0 - world.val_fraction)
    rows = min(pool_est, world.max_train_samples or pool_est)
    return int(math.ceil(rows / world.batch_size))


@register
class MissingWarmup(ConfigFault):
    fault_id = "missing_warmup"
    config_kind = "warmup_steps"
    tripped_checks = ("loss_trajectory", "gradient_norms")
    gallery = GalleryLine(
        "a transformer at this peak learning rate needs a warmup; with warmup_steps 0 the first updates blow the "
        "loss up within a few hundred steps.",
        log_lines="steps",
    )

    def model_options(self, options, revision):
        return tuple(m for m in options if m.family in TRANSFORMER_FAMILIES)

    def optimizer_options(self, options, revision):
        return tuple(o for o in options if o in ADAPTIVE_OPTIMIZERS)

    def draw(self, world, rng):
        # A high but ordinary peak rate (the top of what is tuned for this model with a warmup).
        world.lr = nice_round(world.lr_opt * float(pick(rng, (3.0, 4.0, 5.0, 6.0, 8.0))), 1)
        per_epoch = estimated_steps_per_epoch(world)
        total = per_epoch * world.epochs
        warmups = tuple(x for x in (200, 300, 500, 1000, 2000) if x <= 0.1 * total) or (max(10, total // 20),)
        warmup = int(pick(rng, warmups))
        kind = world.schedule.kind
        if kind not in ("cosine", "linear", "constant"):
            kind = pick(rng, ("cosine", "linear"))
        world.schedule = training.Schedule(kind, warmup_steps=warmup, min_lr=0.0)
        return Params(
            bad_value=0,
            safe_min=max(10, int(0.002 * total)),
            safe_max=max(20, int(0.5 * total)),
            total_steps=total,
            steps_per_epoch=per_epoch,
            healthy_value=warmup,
        )

    def plant(self, world):
        world.schedule = dataclasses.replace(world.schedule, warmup_steps=0)

    def training_effects(self, world, rng):
        # Full-rate updates on unsettled Adam statistics: unstable from the first step.
        return TrainingEffects(lr_critical=world.lr / float(rng.uniform(1.6, 3.0)))
