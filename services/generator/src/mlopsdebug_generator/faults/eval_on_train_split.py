"""hard: the evaluation scores the training split and reports it as the test metrics."""

from __future__ import annotations

import math

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.faults.base import Fault, GalleryLine, ReportedMetrics
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation

_EVAL_KEYS = ("metrics.val.n_samples", "metrics.val.accuracy", "metrics.test.n_samples", "metrics.test.accuracy")


@register
class EvalOnTrainSplit(Fault):
    fault_id = "eval_on_train_split"
    title = "test metrics computed on the training split"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "the runner scores the training split under the test key, so the test metrics measure memorisation.",
        stats_keys=("splits.train.n_samples", "splits.test.n_samples"),
        eval_keys=_EVAL_KEYS,
    )

    def plant(self, world):
        world.test_scored_on = "train"

    def report(self, world, rng, measured):
        best = measured.best_epoch
        loss = float(world.trajectory.train_loss[best - 1]) if best else math.nan
        if not best or not math.isfinite(loss):
            return None
        # The model fits its own training rows better than held-out ones: part of the remaining error goes.
        val = measured.val_scores.accuracy
        accuracy = min(0.999, val + (1.0 - val) * rng.uniform(0.35, 0.85))
        train = evaluation.scores(evaluation.confusion(rng, measured.counts[0], accuracy), loss)
        return ReportedMetrics(world.classes, measured.val_scores, train)

    def code_location(self, ctx):
        return CodeLocation(ctx.n["runner"], ())
