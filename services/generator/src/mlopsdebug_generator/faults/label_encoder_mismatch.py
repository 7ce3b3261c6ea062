"""hard: evaluation encodes labels with another class order than training (a stale or re-derived label map)."""

from __future__ import annotations

import dataclasses

import numpy as np

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.draws import appearance_order, uniform_int
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, ReportedMetrics, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import label_location

_EVAL_KEYS = ("class_names", "metrics.val.n_samples", "metrics.val.accuracy", "metrics.test.n_samples",
              "metrics.test.accuracy")


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    # Where evaluation's class order comes from: "sorted", "exported" (the data team's file) or "appearance".
    source: str
    eval_order: tuple[str, ...] = private(())


@register
class LabelMapMismatch(Fault):
    fault_id = "label_encoder_mismatch"
    title = "a stale evaluation label map"
    tripped_checks = ("label_consistency", "metric_gap_analysis")
    gallery = GalleryLine(
        "evaluation encodes labels with a different class order than training.",
        eval_keys=_EVAL_KEYS,
        card_keys=("id2label",),
    )

    def draw(self, world, rng):
        train = world.classes
        candidates: list[tuple[str, tuple[str, ...]]] = []
        sorted_order = tuple(sorted(train))
        if sorted_order != train:
            candidates.append(("sorted", sorted_order))
        exported = world.dataset.exported_order or world.dataset.classes
        if exported != train:
            candidates.append(("exported", exported))
        weights = np.array([world.dataset.class_weights[world.dataset.classes.index(c)] for c in train])
        appearance = appearance_order(train, weights, rng)
        if appearance == train:
            appearance = train[1:] + train[:1]
        candidates.append(("appearance", appearance))
        source, order = candidates[uniform_int(rng, 0, len(candidates))]
        return Params(source=source, eval_order=order)

    def plant(self, world):
        world.eval_classes = Params.of(world).eval_order
        world.label_source = Params.of(world).source

    def report(self, world, rng, measured):
        penalty = 1.0 + rng.uniform(0.8, 2.0)
        eval_classes = world.eval_classes

        def relabelled(matrix, scores):
            loss = None if scores.loss is None else scores.loss * penalty
            return evaluation.scores(evaluation.relabel_rows(matrix, world.classes, eval_classes), loss)

        return ReportedMetrics(
            eval_classes,
            relabelled(measured.val_matrix, measured.val_scores),
            relabelled(measured.test_matrix, measured.test_scores),
        )

    def code_location(self, ctx):
        return label_location(ctx)
