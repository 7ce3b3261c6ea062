"""hard: the evaluation job loads an older tokenizer release than training used (text models)."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import evaluation
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import Fault, FaultParams, GalleryLine, ReportedMetrics, private
from mlopsdebug_generator.faults.registry import register
from mlopsdebug_generator.sites import CodeLocation


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    train_version: str | None = None
    eval_version: str | None = None
    # How evaluation names its tokenizer: a module "constant" or an argument at the load "call".
    site: str = private("call")


@register
class TokenizerVersionDrift(Fault):
    fault_id = "tokenizer_version_drift"
    title = "an older tokenizer at evaluation"
    tripped_checks = ("encoder_version_match", "metric_gap_analysis")
    gallery = GalleryLine(
        "evaluation loads an older tokenizer release than training used.",
        eval_keys=("inputs.tokenizer_version", "inputs.vocab_size", "metrics.val.accuracy"),
        card_keys=("tokenizer.version", "tokenizer.vocab_size"),
    )

    def choose_modality(self, rng, revision):
        return "text"

    def draw(self, world, rng):
        site = pick(rng, ("constant", "call"))
        world.tokenizer_site = site
        return Params(site=site)

    def plant(self, world):
        world.eval_tokenizer_drift = True

    def after_features(self, world):
        world.details = dataclasses.replace(
            world.details, train_version=world.text_stats().train_version, eval_version=world.text_stats().previous_version
        )

    def report(self, world, rng, measured):
        if not measured.best_epoch:
            return None
        k = len(world.classes)
        val, test, counts = measured.val_scores, measured.test_scores, measured.counts
        assert val.loss is not None and test.loss is not None  # measured scores carry their loss
        drop = max(rng.uniform(0.04, 0.22) * (val.accuracy - 1.0 / k) / 0.8, 0.02)
        return ReportedMetrics(
            world.classes,
            evaluation.scores(evaluation.confusion(rng, counts[1], max(1.0 / k, val.accuracy - drop)),
                              val.loss * (1.0 + 4.0 * drop)),
            evaluation.scores(evaluation.confusion(rng, counts[2], max(1.0 / k, test.accuracy - drop)),
                              test.loss * (1.0 + 4.0 * drop)),
        )

    def code_location(self, ctx):
        n = ctx.n
        if ctx.tok_site == "constant":
            return CodeLocation(n["eval_tok_const"], (n["eval_tok_var"], n["runner"]))
        return CodeLocation(n["eval_tok_var"], (n["runner"],))
