"""hard: the scorer never calls model.eval(), so dropout and batch-norm batch statistics stay on."""

from __future__ import annotations

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, GalleryLine, ReportedMetrics
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@register
class EvalInTrainMode(Fault):
    fault_id = "eval_in_train_mode"
    title = "a model scored in training mode"
    tripped_checks = ("metric_gap_analysis",)
    gallery = GalleryLine(
        "the scorer never switches the model to eval mode: dropout stays on, so evaluation scores a noisier model"
        " than the one the training log validated.",
        eval_keys=("checkpoint", "metrics.val.accuracy", "metrics.test.accuracy"),
    )

    def choose_modality(self, rng, revision):
        # Modules with dropout or batch norm and a train/eval switch: the torch and Hugging Face models.
        return pick(rng, ("vision", "text"))

    def plant(self, world):
        world.eval_train_mode = True

    def report(self, world, rng, measured):
        if not measured.best_epoch:
            return None
        k = len(world.classes)
        # Active dropout (and, in CNNs, per-batch normalisation statistics) costs a share of the margin over chance.
        share = rng.uniform(0.04, 0.16) * (1.6 if world.modality == "vision" else 1.0)

        def noisier(counts, scores):
            drop = max(0.012, share * (scores.accuracy - 1.0 / k))
            accuracy = max(1.0 / k, scores.accuracy - drop)
            loss = None if scores.loss is None else scores.loss * (1.0 + 3.0 * drop)
            return evaluation.scores(evaluation.confusion(rng, counts, accuracy), loss)

        return ReportedMetrics(
            world.classes,
            noisier(measured.counts[1], measured.val_scores),
            noisier(measured.counts[2], measured.test_scores),
        )

    def code_location(self, ctx):
        if ctx.world.revision >= 3 and ctx.world.eval_train_site == "train_call":
            return CodeLocation(ctx.n["scorer"], ("model.train",))
        return CodeLocation(ctx.n["scorer"], ("model.eval",))
