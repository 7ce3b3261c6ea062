"""easy: fp16 mixed precision with the gradient scaler disabled; small gradients underflow and training stalls.

float16 flushes values below ~6e-8 to zero. Loss scaling (torch.amp.GradScaler) multiplies the loss
before backward so gradients stay representable; without it most gradients of a deep network are zero
in fp16 and the optimizer barely moves. bf16 has fp32's exponent range and needs no scaling.
"""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: bool
    precision: str


@register
class Fp16NoLossScaling(ConfigFault):
    fault_id = "fp16_no_loss_scaling"
    config_kind = "grad_scaler"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "precision 16-mixed without a gradient scaler: small gradients underflow to zero in fp16, the gradient "
        "norms are tiny and the loss stalls; enable loss scaling or train in bf16.",
        log_lines="steps",
    )

    def draw(self, world, rng):
        world.precision = "16-mixed"
        world.grad_scaler = True
        return Params(bad_value=False, precision="16-mixed")

    def plant(self, world):
        world.grad_scaler = False

    def training_effects(self, world, rng):
        # Most gradient entries are flushed to zero: a few percent of each update survives (the largest ones,
        # mostly in the last layers), so the loss soon stalls far above where the run should end.
        return TrainingEffects(
            update_scale=float(rng.uniform(0.01, 0.05)),
            grad_norm_factor=float(rng.uniform(0.002, 0.015)),
            floor_lift=float(rng.uniform(0.94, 0.985)),
            overfit_scale=0.05,
        )
