"""hard: the evaluation DataLoader shuffles, while the targets are read from the split in file order,
so predictions are scored against another sample's label."""

from __future__ import annotations

import numpy as np

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.faults.base import Fault, GalleryLine, ReportedMetrics, config_setting_location
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


def mispaired(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The confusion matrix of the same predictions paired with a random permutation of the labels:
    each class keeps its support and its predicted count, the pairing between them is random."""
    support = matrix.sum(axis=1)
    remaining = matrix.sum(axis=0).astype(np.int64)
    rows = []
    for count in support.tolist():
        row = rng.multivariate_hypergeometric(remaining, int(count)) if count else np.zeros_like(remaining)
        remaining = remaining - row
        rows.append(row)
    return np.stack(rows)


@register
class EvalLoaderShuffled(Fault):
    fault_id = "eval_loader_shuffled"
    title = "a shuffled evaluation loader scored against labels in file order"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "the evaluation DataLoader shuffles while the targets come from the split in file order, so each"
        " prediction is scored against another sample's label.",
        eval_keys=("metrics.val.accuracy", "metrics.test.accuracy"),
    )

    def choose_modality(self, rng, revision):
        # The Hugging Face pipeline reads its targets apart from its loader (the torch one takes them per batch).
        return "text"

    def plant(self, world):
        world.eval_shuffle = True

    def report(self, world, rng, measured):
        if not measured.best_epoch:
            return None

        def scored(matrix, scores):
            loss = None if scores.loss is None else scores.loss * (1.0 + rng.uniform(1.5, 3.0))
            return evaluation.scores(mispaired(matrix, rng), loss)

        return ReportedMetrics(
            world.classes,
            scored(measured.val_matrix, measured.val_scores),
            scored(measured.test_matrix, measured.test_scores),
        )

    def code_location(self, ctx):
        return CodeLocation(ctx.n["runner"], ("shuffle",))

    def locate(self, world):
        return config_setting_location(world, "shuffle") or super().locate(world)
