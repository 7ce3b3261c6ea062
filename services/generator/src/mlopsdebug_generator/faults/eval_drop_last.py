"""hard: the evaluation loaders drop the last, incomplete batch, so each split is scored on a subset."""

from __future__ import annotations

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, GalleryLine, ReportedMetrics, config_setting_location
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation

# The evaluation batch sizes preprocessing.py hard-codes per style (torch_vision, hf_text).
EVAL_BATCH = {"vision": 256, "text": 128}


@register
class EvalDropLast(Fault):
    fault_id = "eval_drop_last"
    title = "evaluation loaders that drop the last batch"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "the evaluation DataLoader drops the last incomplete batch, so val and test are scored on a subset.",
        stats_keys=("splits.val.n_samples", "splits.test.n_samples"),
        eval_keys=("metrics.val.n_samples", "metrics.test.n_samples", "eval_config.batch_size"),
    )

    def choose_modality(self, rng, revision):
        # DataLoader batching: the torch and Hugging Face pipelines (the sklearn ones score whole frames).
        return pick(rng, ("vision", "text"))

    def plant(self, world):
        world.eval_drop_last = True

    def report(self, world, rng, measured):
        batch = EVAL_BATCH[world.modality]

        def truncated(matrix, scores):
            n = int(matrix.sum())
            keep = n - n % batch
            if keep in (0, n):
                return scores
            kept = rng.multivariate_hypergeometric(matrix.ravel(), keep).reshape(matrix.shape)
            return evaluation.scores(kept, scores.loss)

        return ReportedMetrics(
            world.classes,
            truncated(measured.val_matrix, measured.val_scores),
            truncated(measured.test_matrix, measured.test_scores),
        )

    def code_location(self, ctx):
        return CodeLocation(ctx.n["runner"], ("drop_last",))

    def locate(self, world):
        return config_setting_location(world, "drop_last") or super().locate(world)
