"""easy: dropout close to 1; nearly every activation is zeroed in training and the model cannot fit."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register

# Dropout probabilities at or below this are in the usual range.
SAFE_MAX_DROPOUT = 0.5


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: float
    safe_max: float
    healthy_value: float


@register
class DropoutTooHigh(ConfigFault):
    fault_id = "dropout_too_high"
    config_kind = "dropout"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "a dropout probability this close to 1 zeroes almost every activation while training: the model cannot "
        "fit and the training loss stays above the validation loss; use a normal dropout."
    )

    def draw(self, world, rng):
        return Params(bad_value=float(pick(rng, (0.9, 0.9, 0.93, 0.95, 0.97, 0.99))), safe_max=SAFE_MAX_DROPOUT,
                      healthy_value=world.dropout)

    def plant(self, world):
        world.dropout = float(Params.of(world).bad_value)

    def training_effects(self, world, rng):
        keep = 1.0 - float(world.dropout)
        # Only a few percent of the units carry signal in training: it barely fits, and in training mode
        # (dropout active) the loss is higher still than evaluation measures.
        return TrainingEffects(
            floor_lift=float(min(0.992, 0.965 + 0.2 * (0.1 - keep) + rng.uniform(0.0, 0.02))),
            train_loss_factor=float(1.1 + 1.5 * (0.1 - keep) + rng.uniform(0.0, 0.12)),
            overfit_scale=0.0,
        )
