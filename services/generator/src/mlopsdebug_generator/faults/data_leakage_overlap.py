"""medium: train and validation share items: the split is carved twice, or row-level over grouped sources."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import catalog
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, TrainingEffects, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import split_location


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # "double_split": val from a second, independently seeded split of the pool;
    # "duplicate_sources": a row-level split of data with several samples per source (group).
    mechanism: str
    group_key: str | None = None
    # How the second split is seeded: "offset" (SEED + k) or "unseeded".
    reseed: str = private("offset")


@register
class TrainValOverlap(Fault):
    fault_id = "data_leakage_overlap"
    title = "train/validation overlap"
    tripped_checks = ("data_leakage",)
    gallery = GalleryLine(
        "train and validation share items: {mechanism}; validation scores are optimistic.",
        stats_keys=("splits.train.n_samples", "splits.val.n_samples", "n_unique_ids"),
    )

    def choose_dataset(self, modality, rng, revision):
        if rng.random() < 0.5:
            return pick(rng, tuple(d for d in catalog.DATASETS if d.group_key))
        return pick(rng, catalog.DATASETS_BY_MODALITY[modality])

    def draw(self, world, rng):
        mechanism = "duplicate_sources" if world.dataset.group_key and rng.random() < 0.75 else "double_split"
        reseed = pick(rng, ("offset", "unseeded"))
        group_key = world.dataset.group_key if mechanism == "duplicate_sources" else None
        world.split_reseed = reseed
        return Params(mechanism=mechanism, group_key=group_key, reseed=reseed)

    def plant(self, world):
        world.split_mechanism = Params.of(world).mechanism

    def training_effects(self, world, rng):
        return TrainingEffects(val_seen_fraction=world.splits.val_seen_fraction)

    def code_location(self, ctx):
        return split_location(ctx)
