"""hard: validation and test metrics are written under each other's keys in eval_results.json."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, ReportedMetrics, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import swap_location

_EVAL_KEYS = ("class_names", "metrics.val.n_samples", "metrics.val.accuracy", "metrics.test.n_samples",
              "metrics.test.accuracy")


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # Where the swap happens: "call" (arguments passed in the wrong order) or "writer" (the dict literal).
    site: str = private("call")


@register
class SwappedMetricKeys(Fault):
    fault_id = "silent_metric_swap"
    title = "validation/test metrics under each other's keys"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "validation and test metrics are written under each other's keys.",
        eval_keys=_EVAL_KEYS,
        card_keys=("id2label",),
    )

    def draw(self, world, rng):
        return Params(site=pick(rng, ("call", "writer")))

    def plant(self, world):
        world.swap_site = Params.of(world).site

    def report(self, world, rng, measured):
        return ReportedMetrics(world.classes, measured.test_scores, measured.val_scores)

    def code_location(self, ctx):
        return swap_location(ctx)
