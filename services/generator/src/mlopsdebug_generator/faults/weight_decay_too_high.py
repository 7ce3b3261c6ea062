"""easy: weight decay orders of magnitude too high; the weights are pulled to zero and the model underfits."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register

# Decoupled decay (AdamW) multiplies the weights by (1 - lr * wd) each step: 0.1 is already strong.
SAFE_MAX_DECOUPLED = 0.1
# L2 decay added to the gradient (SGD, Adam, RMSprop): 5e-2 is already the top of the usual range.
SAFE_MAX_L2 = 5e-2


def safe_max_weight_decay(optimizer: str) -> float:
    return SAFE_MAX_DECOUPLED if optimizer == "adamw" else SAFE_MAX_L2


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: float
    safe_max: float
    healthy_value: float


@register
class WeightDecayTooHigh(ConfigFault):
    fault_id = "weight_decay_too_high"
    config_kind = "weight_decay"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "weight decay this strong pulls every weight towards zero faster than the gradient can move it: the loss "
        "plateaus near chance; use a weight decay in the usual range."
    )

    def draw(self, world, rng):
        safe_max = safe_max_weight_decay(world.optimizer)
        # 10x to 100x the top of the usual range for this kind of decay.
        bad = float(pick(rng, (1.0, 2.0, 5.0, 10.0) if world.optimizer == "adamw" else (0.5, 1.0, 2.0, 5.0)))
        return Params(bad_value=bad, safe_max=safe_max, healthy_value=world.weight_decay)

    def plant(self, world):
        world.weight_decay = float(Params.of(world).bad_value)

    def training_effects(self, world, rng):
        # The decay's equilibrium leaves weights too small to separate the classes: the loss settles close to
        # chance quickly (the model has little capacity left to fit) and stays there.
        return TrainingEffects(
            floor_lift=float(rng.uniform(0.965, 0.99)),
            oscillation_slowdown=float(rng.uniform(0.6, 0.9)),
            overfit_scale=0.0,
        )
