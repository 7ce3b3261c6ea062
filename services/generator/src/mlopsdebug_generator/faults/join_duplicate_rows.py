"""medium: a lookup table with several rows per id (its history) is merged before the split, repeating rows."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import catalog
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, TrainingEffects, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # The lookup table merged without reducing it to one row per id.
    table: str
    extra_rows: float = private(0.0)  # mean extra rows per id in the table


@register
class JoinDuplicateRows(Fault):
    fault_id = "join_duplicate_rows"
    title = "a many-to-one join that repeats rows"
    tripped_checks = ("data_leakage",)
    gallery = GalleryLine(
        "a lookup table with several rows per id is merged before the split: copies of one row sit in train and val.",
        stats_keys=("splits.val.n_samples", "splits.val.n_unique_ids", "splits.test.n_unique_ids", "n_unique_ids"),
    )

    def choose_modality(self, rng, revision):
        return "tabular"

    def choose_dataset(self, modality, rng, revision):
        # A group-aware split would keep the copies of a row (same group) together.
        return pick(rng, tuple(d for d in catalog.DATASETS_BY_MODALITY["tabular"] if not d.group_key))

    def draw(self, world, rng):
        from mlopsdebug_generator import world as world_model  # noqa: PLC0415 - the world model imports the plugins

        table = pick(rng, world_model.JOIN_TABLES)
        column = pick(rng, world_model.JOIN_COLUMNS)
        const = pick(rng, world_model.JOIN_CONSTS)
        extra = float(rng.uniform(0.4, 2.5))
        if not world.join_table:
            # The run merges a lookup table (the healthy twin's holds one row per id).
            world.join_table, world.joined_column, world.joined_const = table, column, const
        world.resample_scope = ""  # the run does not also oversample
        return Params(table=world.join_table, extra_rows=round(extra, 3))

    def plant(self, world):
        world.join_duplicates = Params.of(world).extra_rows

    def training_effects(self, world, rng):
        return TrainingEffects(val_seen_fraction=world.splits.val_seen_fraction)

    def code_location(self, ctx):
        w = ctx.world
        return CodeLocation(w.lookup_var, (w.join_table, "merge", "read_parquet", "drop_duplicates", ctx.n["builder"]))
