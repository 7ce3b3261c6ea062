"""medium: the feature scaler is fitted on the whole labelled pool (and maybe the test rows) before the split."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # "pool": the labelled pool before the train/val split; "pool_and_test": the official test rows too.
    scope: str


@register
class ScalerFitBeforeSplit(Fault):
    fault_id = "data_leakage_scaler"
    title = "a scaler fitted before the split"
    tripped_checks = ("feature_statistics",)
    gallery = GalleryLine(
        "the scaler is fitted before the split, so validation rows shape the training features.",
        stats_keys=("splits.train.n_samples", "preprocessing.scaler.n_samples_seen"),
    )

    def choose_modality(self, rng, revision):
        return "tabular"

    def draw(self, world, rng):
        return Params(scope="pool_and_test" if world.dataset.official_test and rng.random() < 0.5 else "pool")

    def plant(self, world):
        world.scaler_scope = Params.of(world).scope

    def code_location(self, ctx):
        n = ctx.n
        if ctx.world.code_style == "sklearn_pipeline":
            pre = n["preprocessor"]
            return CodeLocation(pre, (f"{pre}.fit", "StandardScaler", "ColumnTransformer", n["builder"]))
        scaler = n["scaler"]
        if ctx.scaler_scope == "pool_and_test":  # a bare "fit" would also name healthy encoder fits
            return CodeLocation(scaler, (f"{scaler}.fit", "StandardScaler", n["builder"]))
        return CodeLocation(scaler, (f"{scaler}.fit_transform", "fit_transform", "StandardScaler", n["builder"]))
