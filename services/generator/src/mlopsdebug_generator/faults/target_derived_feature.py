"""medium: a column merged onto the pool encodes the label (recorded after the outcome); test rows lack it."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # The joined column whose values were derived from the target.
    column: str
    table: str = private("")
    leak_acc: float = private(0.0)  # validation accuracy the encoded label allows
    drop: float = private(0.0)  # test accuracy lost beyond the lift, where the column is missing
    association: float = private(0.0)
    test_missing: float = private(1.0)


@register
class TargetDerivedFeature(Fault):
    fault_id = "target_derived_feature"
    title = "a joined feature derived from the label"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "a column merged onto the pool encodes the label: validation is near perfect, the frozen test rows lack it.",
        stats_keys=("features.joined_columns",),
        eval_keys=("metrics.val.accuracy", "metrics.test.accuracy"),
    )

    def choose_modality(self, rng, revision):
        return "tabular"

    def draw(self, world, rng):
        from mlopsdebug_generator import world as world_model  # noqa: PLC0415 - the world model imports the plugins

        table = pick(rng, world_model.JOIN_TABLES)
        column = pick(rng, world_model.JOIN_COLUMNS)
        const = pick(rng, world_model.JOIN_CONSTS)
        leak_acc = float(rng.uniform(0.975, 0.995))
        drop = float(rng.uniform(0.04, 0.14))
        association = float(rng.uniform(0.88, 0.99))
        test_missing = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.6, 0.95))
        if not world.join_table:
            # The run merges a lookup table (the healthy twin too; only its column differs in meaning).
            world.join_table, world.joined_column, world.joined_const = table, column, const
        return Params(
            column=world.joined_column, table=world.join_table, leak_acc=leak_acc, drop=drop,
            association=association, test_missing=round(test_missing, 4),
        )

    def plant(self, world):
        d = Params.of(world)
        world.target_leak_acc = d.leak_acc
        world.target_leak_drop = d.drop
        a = round(d.association, 3)
        test_assoc = None if d.test_missing >= 1.0 else round(d.association * 0.97, 3)
        world.joined_association = (a, round(min(0.999, a * 1.004), 3), test_assoc)
        world.joined_missing = (world.joined_missing[0], world.joined_missing[1], d.test_missing)

    def code_location(self, ctx):
        w = ctx.world
        # Not the join table or "merge": those name the duplicate-rows fault's site too, and a field shared by
        # two faults would let one constant answer collect field credit on both.
        return CodeLocation(ctx.joined_const, (w.joined_column, ctx.n["builder"]))
