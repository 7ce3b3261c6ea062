"""medium: evaluation inputs are cropped and flipped at random (the training augmentations), pass after pass."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import (
    Fault,
    FaultParams,
    GalleryLine,
    TrainingEffects,
    config_setting_location,
    private,
)
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # "reuse": eval_transform returns train_transform(); "crop": it random-crops and flips itself.
    variant: str
    drop: float = private(0.0)  # accuracy lost to randomly cropped inputs
    noise: float = private(0.0)  # spread of validation accuracy between passes


@register
class EvalRandomAugmentation(Fault):
    fault_id = "eval_random_augmentation"
    title = "random augmentations at evaluation"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "evaluation crops and flips at random ({variant}), so every pass over val scores differently.",
        stats_keys=("preprocessing.train_augmentations", "preprocessing.eval_transforms"),
        eval_keys=("metrics.val.accuracy",),
    )

    def choose_modality(self, rng, revision):
        return "vision"

    def draw(self, world, rng):
        variant = pick(rng, ("reuse", "crop"))
        return Params(variant=variant, drop=float(rng.uniform(0.01, 0.04)), noise=float(rng.uniform(0.004, 0.01)))

    def plant(self, world):
        # Version 3, evaluation settings in config.yaml: the augment_eval flag reuses the training transform.
        world.eval_augment = "reuse" if world.revision >= 3 and world.eval_from_config else Params.of(world).variant
        world.eval_augment_drop = Params.of(world).drop

    def training_effects(self, world, rng):
        return TrainingEffects(val_noise=Params.of(world).noise)

    def locate(self, world):
        return config_setting_location(world, "augment_eval") or super().locate(world)

    def code_location(self, ctx):
        if ctx.eval_augment == "reuse":
            return CodeLocation("eval_transform", ("train_transform",))
        crop = "RandomResizedCrop" if ctx.world.vision_stats().augmentations[0].startswith("RandomResizedCrop") else "RandomCrop"
        return CodeLocation("eval_transform", (crop, "RandomHorizontalFlip"))
