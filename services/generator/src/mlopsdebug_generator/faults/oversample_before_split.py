"""medium: the smaller classes are oversampled on the whole pool before the split, so copies straddle it."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import catalog
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, TrainingEffects
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation, split_call


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # The pipeline function that oversamples (its call on the pool is the fault).
    resample_fn: str


@register
class OversampleBeforeSplit(Fault):
    fault_id = "oversample_before_split"
    title = "oversampling before the split"
    tripped_checks = ("data_leakage",)
    gallery = GalleryLine(
        "the pool is oversampled before the split: copies of minority rows sit in train and val alike.",
        stats_keys=("splits.val.class_counts", "splits.test.class_counts", "preprocessing.resampling"),
    )

    def choose_modality(self, rng, revision):
        return "tabular"

    def choose_dataset(self, modality, rng, revision):
        # A group-aware split keeps the copies of a row (same group) together: no leak to show.
        return pick(rng, tuple(d for d in catalog.DATASETS_BY_MODALITY["tabular"] if not d.group_key))

    def draw(self, world, rng):
        return Params(resample_fn=world.resample_fn)

    def plant(self, world):
        world.resample_scope = "pool"

    def training_effects(self, world, rng):
        return TrainingEffects(val_seen_fraction=world.splits.val_seen_fraction)

    def code_location(self, ctx):
        n = ctx.n
        return CodeLocation(ctx.world.resample_fn, ("RandomOverSampler", "fit_resample", n["builder"], split_call(ctx)))
