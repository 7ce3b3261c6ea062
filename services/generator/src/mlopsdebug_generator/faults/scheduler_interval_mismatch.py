"""easy: an epoch-based scheduler (StepLR, ExponentialLR) stepped after every batch; the lr decays to ~0 at once.

Lightning's `interval: step` calls scheduler.step() after each optimizer step, so a decay meant per
epoch (or per step_size epochs) is applied per batch: the learning rate is ~0 within the first epoch
and the loss plateaus where it was.
"""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import catalog, training
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine
from mlopsdebug_generator.faults.registry import register


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: str
    schedule: str


@register
class SchedulerIntervalMismatch(ConfigFault):
    fault_id = "scheduler_interval_mismatch"
    config_kind = "scheduler_interval"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "a {schedule} scheduler that decays per epoch is stepped after every batch (interval: step): the learning "
        "rate is ~0 within the first epoch and the loss plateaus; step it per epoch.",
        log_lines="steps",
    )

    def choose_dataset(self, modality, rng, revision):
        # Epoch-based decay schedules belong to long epochs (hundreds of batches, each a small step towards
        # convergence): large datasets, and for tabular data (batches of hundreds of rows) only the largest.
        least = 100_000 if modality == "tabular" else 40_000
        options = tuple(d for d in catalog.DATASETS_BY_MODALITY[modality] if d.pool_size >= least)
        return pick(rng, options or catalog.DATASETS_BY_MODALITY[modality])

    def model_options(self, options, revision):
        # Fine-tuned text transformers use step-wise warmup/decay schedules, not epoch-based ones.
        return tuple(m for m in options if m.family not in ("distilbert", "bert", "roberta")) or options

    def draw(self, world, rng):
        if world.max_train_samples is not None and world.max_train_samples < 50_000:
            world.max_train_samples = None  # a full-data run (quick capped experiments use constant rates)
        schedule = world.schedule
        if schedule.kind not in ("step", "exponential"):
            if rng.random() < 0.5:
                schedule = training.Schedule(
                    "step", step_size=max(1, world.epochs // int(pick(rng, (3, 4)))),
                    gamma=float(pick(rng, (0.1, 0.1, 0.2))),
                )
            else:
                schedule = training.Schedule("exponential", gamma=float(pick(rng, (0.9, 0.9, 0.95))))
            world.schedule = schedule
        return Params(bad_value="step", schedule=schedule.kind)

    def plant(self, world):
        world.schedule = dataclasses.replace(world.schedule, per_batch=True)
