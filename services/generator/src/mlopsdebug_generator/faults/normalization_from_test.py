"""medium: Normalize's mean and std are computed on the frozen test images instead of the training ones."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, config_setting_location, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # How far the test images' channel means sit from train's, in train stds (signed).
    shift: float = private(0.0)


@register
class NormalizationFromTest(Fault):
    fault_id = "normalization_from_test"
    title = "normalisation statistics computed on the test images"
    tripped_checks = ("feature_statistics",)
    gallery = GalleryLine(
        "Normalize's mean and std are computed on the test manifest, so test images shape the training inputs.",
        stats_keys=("preprocessing.normalize", "features.pixel_mean"),
    )

    def choose_modality(self, rng, revision):
        return "vision"

    def draw(self, world, rng):
        shift = float(rng.uniform(0.02, 0.06)) * (1.0 if rng.random() < 0.5 else -1.0)
        world.test_pixel_shift = shift  # the test images differ a little (the twin's too)
        return Params(shift=round(shift, 4))

    def plant(self, world):
        world.norm_source = "test"

    def code_location(self, ctx):
        return CodeLocation("channel_stats", ("MEAN", "STD", "read_manifest"))

    def locate(self, world):
        return config_setting_location(world, "normalize_stats") or super().locate(world)
