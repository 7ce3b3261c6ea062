"""easy: the learning rate is far above the stable range for the optimizer; the loss diverges to NaN."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.catalog import ADAPTIVE_OPTIMIZERS, SAFE_MAX_LR
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register

# From version 2 on, SGD runs explode too: its learning rates are 10-100x Adam's, so "far above the stable
# range" means several units (with the safe maximum of SGD's usual range).
SGD_BAD_VALUES = (1.0, 2.0, 3.0, 5.0, 10.0)
SGD_SAFE_MAX_LR = 0.2



@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: float
    safe_max: float
    healthy_value: float


@register
class ExplodingLr(ConfigFault):
    fault_id = "exploding_lr"
    title = "a learning rate that diverges"
    config_kind = "learning_rate"
    tripped_checks = ("loss_trajectory", "gradient_norms")
    gallery = GalleryLine(
        "the learning rate is orders of magnitude above the stable range for {opt}; lower it.", log_lines="steps"
    )

    def model_options(self, options, revision):
        if revision >= 2:
            return options
        return tuple(m for m in options if any(o in m.lr for o in ADAPTIVE_OPTIMIZERS))

    def optimizer_options(self, options, revision):
        if revision >= 2:
            return options
        return tuple(o for o in options if o in ADAPTIVE_OPTIMIZERS)

    def draw(self, world, rng):
        if world.revision >= 2 and world.optimizer == "sgd":
            options = tuple(x for x in SGD_BAD_VALUES if x >= 20.0 * world.lr_opt)
            return Params(bad_value=float(pick(rng, options)), safe_max=SGD_SAFE_MAX_LR, healthy_value=world.healthy_lr)
        # Far outside the stable range for this optimizer: at least 30x its tuned learning rate.
        options = tuple(x for x in (0.05, 0.08, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0) if x >= 30.0 * world.lr_opt)
        return Params(bad_value=float(pick(rng, options)), safe_max=SAFE_MAX_LR, healthy_value=world.healthy_lr)

    def plant(self, world):
        world.lr = float(Params.of(world).bad_value)

    def training_effects(self, world, rng):
        return TrainingEffects(lr_critical=world.lr_opt * rng.uniform(6.0, 15.0))
