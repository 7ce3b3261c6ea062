"""medium: the held-out share is inverted (1 - fraction), so the model trains on the small part."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import ratio_location


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: float
    healthy_value: float


@register
class InvertedSplitRatio(Fault):
    fault_id = "wrong_split_ratio"
    title = "an inverted split ratio"
    tripped_checks = ("class_balance",)
    gallery = GalleryLine(
        "test_size holds out the large part; the model trains on the small one.",
        stats_keys=("splits.train.n_samples", "splits.val.n_samples", "n_unique_ids"),
    )

    def draw(self, world, rng):
        return Params(bad_value=round(1.0 - world.val_fraction, 4), healthy_value=world.val_fraction)

    def plant(self, world):
        world.split_param = float(Params.of(world).bad_value)
        world.split_inverted = True

    def code_location(self, ctx):
        return ratio_location(ctx)
