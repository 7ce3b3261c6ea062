"""hard: the support-weighted F1 is written under the name macro_f1, flattering imbalanced datasets."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import catalog
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, GalleryLine, ReportedMetrics, config_setting_location
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


def _imbalanced(modality: str) -> tuple:
    """Datasets whose largest class is at least 2.5x the smallest: where weighted and macro F1 part ways."""
    return tuple(d for d in catalog.DATASETS_BY_MODALITY[modality] if max(d.class_weights) >= 2.5 * min(d.class_weights))


def weighted_f1(scores) -> float:
    total = sum(scores.support)
    return round(sum(f * s for f, s in zip(scores.f1, scores.support, strict=True)) / max(1, total), 4)


@register
class WeightedF1AsMacro(Fault):
    fault_id = "weighted_f1_as_macro"
    title = "weighted F1 reported as macro F1"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "the scorer averages per-class F1 weighted by support but reports it as macro_f1, hiding the weak classes.",
        eval_keys=("primary_metric", "metrics.val.accuracy", "metrics.val.macro_f1"),
    )

    def choose_dataset(self, modality, rng, revision):
        return pick(rng, _imbalanced(modality))

    def plant(self, world):
        world.macro_average = "weighted"

    def report(self, world, rng, measured):
        def relabelled(scores):
            return dataclasses.replace(scores, macro_f1=weighted_f1(scores))

        return ReportedMetrics(world.classes, relabelled(measured.val_scores), relabelled(measured.test_scores))

    def code_location(self, ctx):
        # The torch pipeline computes its metrics in a shared helper that the scorer calls.
        if ctx.world.code_style == "torch_vision":
            return CodeLocation("summarise", (ctx.n["scorer"], "macro_f1"))
        return CodeLocation(ctx.n["scorer"], ("macro_f1",))

    def locate(self, world):
        return config_setting_location(world, "f1_average") or super().locate(world)
