"""easy: SGD momentum so close to 1 that the effective step is many times too large; the loss swings."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register

# SGD momentum at or below this is a valid fix.
SAFE_MAX_MOMENTUM = 0.95


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: float
    safe_max: float
    healthy_value: float


@register
class WrongOptimizer(ConfigFault):
    fault_id = "wrong_optimizer"
    title = "SGD momentum that oscillates"
    config_kind = "momentum"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "SGD momentum this close to 1 multiplies the effective step size; the loss swings instead of converging.",
        log_lines="steps",
    )

    def model_options(self, options, revision):
        return tuple(m for m in options if "sgd" in m.lr)

    def forced_optimizer(self, revision):
        return "sgd"

    def draw(self, world, rng):
        # Momentum close enough to 1 that the effective step is at least 5x the healthy one.
        assert world.healthy_momentum is not None  # forced_optimizer: SGD, which has momentum
        healthy_gap = 1.0 - float(world.healthy_momentum)
        options = tuple(x for x in (0.98, 0.99, 0.99, 0.995, 0.998, 0.999) if (1.0 - x) * 5.0 <= healthy_gap + 1e-12)
        return Params(bad_value=float(pick(rng, options)), safe_max=SAFE_MAX_MOMENTUM,
                      healthy_value=world.healthy_momentum)

    def plant(self, world):
        world.momentum = float(Params.of(world).bad_value)

    def training_effects(self, world, rng):
        assert world.healthy_momentum is not None and world.momentum is not None  # SGD, as above
        ratio = (1.0 - float(world.healthy_momentum)) / (1.0 - float(world.momentum))
        return TrainingEffects(
            oscillation=min(0.35, 0.12 * ratio**0.35),
            oscillation_slowdown=1.0 + 0.25 * ratio**0.5,
            floor_lift=min(0.45, 0.08 * ratio**0.5),
        )
