"""Can the grader be gamed? Mean scores of honest, stuffed, gold and paraphrased answers over many seeds.

For each task, over seeds 0..N-1 (default 300), with answer keys from the real generator:
  (a) the best constant honest answer: exhaustive search over every category, every file, every canonical
      field (and alias) seen in the task's keys, and every fix text (each fault's gold fix, every paraphrase, the stuffed
      texts, and nothing);
  (b) a keyword-stuffed constant answer: all fields and all fixes concatenated (best category and file);
  (c) the correct diagnosis in the gold wording;
  (d) correct diagnoses in other words: >= 5 paraphrases per fault, written independently of the rules,
      with the field given as an alias in varied notation and the file with a path prefix or in capitals.
The guess bound is the best single fault's gold answer submitted for every seed; (a) must not beat it by
more than 0.01. Exit status 1 if any criterion fails.

Blind baselines (issue 13), learned on seeds 10000..10000+T-1 (--train-seeds T, default 300) and scored on
seeds 0..N-1, with the very functions the built-in agents learn with (mlopsdebug_agents.blind), fed from the
generator and the grader directly (what `mlopsdebug eval --agent checks-only,prior` would score on a deployment
without salt):
  checks-only: the eight verdicts -> the answer learned for that pattern (back-off: failed checks, prior);
  prior: the best constant answer per task, learned the same way;
  and how well a classifier over the eight verdicts names the fault (majority fault per pattern with the
  same back-off, and categorical naive Bayes), on the training seeds and on the test seeds.
Printed next to the targets (checks-only <= 0.35 overall, classifier accuracy <= 0.5 per task, prior <= 0.1
overall); they count towards the exit status only with --enforce-blind-targets.

Run: .venv/bin/python bench/gaming_benchmark.py [--seeds 300] [--train-seeds 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from mlopsdebug_agents.blind import (
    DIAGNOSIS_TEXT,
    Answer,
    BlindTable,
    Example,
    FaultClassifier,
    NaiveBayesClassifier,
    Probe,
    Revealed,
    fix_candidates,
    learn_table,
    pattern_of,
    probe_plan,
)
from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import CATEGORIES, GRADE_WEIGHTS, Diagnosis, Grade
from mlopsdebug_common.faults import ARTIFACT_FILES, FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import LATEST_VERSION, TASK_ORDER, TASKS
from mlopsdebug_grader import core
from mlopsdebug_grader.fix_rules import gold_fix, judge_fix, targeted_faults
from mlopsdebug_grader.matching import match_field, match_file

SECRET = b"gaming-benchmark-secret-0123456789"
GUESS_SLACK = 0.01
CORRECT_MIN = 0.95


def _p(key: AnswerKey, name: str) -> Any:
    return key.params[name]


def _num(x: object) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# (d) Correct fixes in other words, written independently of the rules' patterns. Each takes the key so it
# can mention the scenario's values the way an engineer who read the artifacts would.
Paraphrase = Callable[[AnswerKey], str]
PARAPHRASES: dict[str, list[Paraphrase]] = {
    "exploding_lr": [
        lambda k: f"The learning rate of {_num(_p(k, 'bad_value'))} makes the updates blow up; bring it down to 1e-4.",
        lambda k: "Configure optimizer lr = 0.0005 and restart training.",
        lambda k: "Cut the learning rate by several orders of magnitude, to about 3e-4.",
        lambda k: f"Use lr=2e-4 - a typical value for this model - instead of {_num(_p(k, 'bad_value'))}.",
        lambda k: f"A step size around 1e-3 is appropriate here; {_num(_p(k, 'bad_value'))} diverges.",
        lambda k: f"Retrain with the learning rate set to 0.001 (currently {_num(_p(k, 'bad_value'))}).",
    ],
    "wrong_optimizer": [
        lambda k: f"Use momentum 0.9 rather than {_num(_p(k, 'bad_value'))} for SGD.",
        lambda k: f"Momentum of {_num(_p(k, 'bad_value'))} keeps almost all of the previous update; set it to 0.8.",
        lambda k: "Swap the optimizer for Adam.",
        lambda k: "Move from SGD to RMSprop, which adapts the step per parameter.",
        lambda k: "Reduce the SGD momentum coefficient to 0.9 so the velocity stops building up.",
        lambda k: "Set optimizer.momentum: 0.9.",
    ],
    "batch_size_overflow": [
        lambda k: f"Set batch_size to 32; {_p(k, 'bad_value')} is larger than the {_p(k, 'train_size')} training samples.",
        lambda k: f"Use a batch size of {int(_p(k, 'train_size')) // 2} (half of the {_p(k, 'train_size')} training examples).",
        lambda k: "Decrease the batch size below the number of training samples (for example to 16).",
        lambda k: f"Lower batch_size from {_p(k, 'bad_value')} to 16 so the loader yields full batches.",
        lambda k: "Pick a batch size that fits in the training set, e.g. 32.",
    ],
    "data_leakage_scaler": [
        lambda k: "Only call scaler.fit on the training features; apply the fitted scaler to the validation and test features.",
        lambda k: "Do the train/test split before normalisation and compute the normalisation statistics on the training portion.",
        lambda k: "Standardise using mean and std estimated from X_train, never from the combined dataset.",
        lambda k: "Fit the StandardScaler after splitting, on the train set, and transform the held-out sets with it.",
        lambda k: "Wrap the scaler in a sklearn Pipeline so it is fit only on training folds.",
    ],
    "data_leakage_overlap": [
        lambda k: {
            "double_split": "Call train_test_split a single time and take the validation set from that result.",
            "duplicate_sources": "Group samples by their source id and split by group (GroupShuffleSplit) so duplicates never cross splits.",
        }[_p(k, "mechanism")],
        lambda k: {
            "double_split": "Don't split the full dataset twice; split once, then divide the training part into train and validation.",
            "duplicate_sources": "Deduplicate against the source item before splitting.",
        }[_p(k, "mechanism")],
        lambda k: {
            "double_split": "Remove the extra split so each sample is assigned to exactly one partition.",
            "duplicate_sources": "Keep all copies derived from the same source in the same split.",
        }[_p(k, "mechanism")],
        lambda k: {
            "double_split": "Partition the data once with a fixed seed and keep the indices; never re-split for validation.",
            "duplicate_sources": "Split at the source level: assign each original item, with its augmented variants, to one split.",
        }[_p(k, "mechanism")],
        lambda k: {
            "double_split": "Create the validation split out of the training split from the first split instead of re-splitting everything.",
            "duplicate_sources": "Remove duplicate samples that share a source, keeping one per source, before the split.",
        }[_p(k, "mechanism")],
    ],
    "wrong_split_ratio": [
        lambda k: f"test_size={_num(_p(k, 'bad_value'))} puts most of the data in the test set; use test_size=0.25.",
        lambda k: "Train on 80 percent of the samples and evaluate on the remaining 20 percent.",
        lambda k: f"Flip the ratio: test_size should be 0.2, not {_num(_p(k, 'bad_value'))}.",
        lambda k: "Use a 70/30 train/test split.",
        lambda k: "Set the held-out fraction to 0.1.",
    ],
    "label_encoder_mismatch": [
        lambda k: "Persist the LabelEncoder from training (joblib) and load it for evaluation rather than fitting a new encoder.",
        lambda k: "Evaluation has to map class names to indices exactly as training did: reuse the training label2id.",
        lambda k: "Use a single shared label mapping for training and evaluation.",
        lambda k: "Stop refitting the label encoder on the evaluation set; apply the training one.",
        lambda k: "Build the class index once from the training labels and pass that same mapping to the evaluation code.",
    ],
    "silent_metric_swap": [
        lambda k: "Report the validation numbers under the val key and the test numbers under the test key.",
        lambda k: "The writer swaps the two metric dicts; unswap them so each split's metrics land under its own name.",
        lambda k: "Correct the mix-up of the validation and test entries in eval_results.json.",
        lambda k: "Log val metrics to 'val' and test metrics to 'test'.",
        lambda k: "Fix the eval script so the keys match the splits they were computed on.",
    ],
    "tokenizer_version_drift": [
        lambda k: f"Evaluate with tokenizer {_p(k, 'train_version')} - the one the model was trained with - instead of {_p(k, 'eval_version')}.",
        lambda k: "Load the training tokenizer in the eval pipeline so token ids agree.",
        lambda k: f"Upgrade the eval tokenizer from {_p(k, 'eval_version')} to {_p(k, 'train_version')}.",
        lambda k: "Make sure training and evaluation use an identical tokenizer version.",
        lambda k: "Point the evaluation config at the tokenizer version used during training.",
    ],
    "eval_on_train_split": [
        lambda k: "The test scores come from the training rows; score the test split instead of the training split.",
        lambda k: "Pass the test loader, not the training loader, when computing test_scores.",
        lambda k: "Compute the test metrics on the held-out test set rather than the training data.",
        lambda k: "Replace splits['train'] with splits['test'] in the evaluation runner.",
        lambda k: "Never evaluate on the training split for the reported test numbers.",
    ],
    "eval_drop_last": [
        lambda k: "Use drop_last=False for the validation and test DataLoaders.",
        lambda k: "Stop dropping the final incomplete batch at evaluation so every sample counts.",
        lambda k: "Remove drop_last from the evaluation loaders.",
        lambda k: "Keep the last partial batch when scoring val and test.",
        lambda k: "Evaluation must score all samples of each split: drop_last should be False there.",
    ],
    "weighted_f1_as_macro": [
        lambda k: "macro_f1 must be the simple mean of the per-class F1 values, not weighted by support.",
        lambda k: "Switch the averaging to average='macro'.",
        lambda k: "Compute the macro score with f1.mean() so that each class weighs equally.",
        lambda k: "Don't weight per-class F1 by class frequency when reporting macro F1.",
        lambda k: "Report the unweighted average of per-class F1 as macro_f1 and keep the weighted one under its own name.",
    ],
    "eval_loader_shuffled": [
        lambda k: "Turn off shuffling in the evaluation loader.",
        lambda k: "shuffle=True reorders the eval batches while the targets stay in file order; use shuffle=False.",
        lambda k: "Collect the targets from the loader batches so they are paired with the right predictions.",
        lambda k: "Stop shuffling the validation and test data during evaluation.",
        lambda k: "Preserve the sample order of the eval split when computing metrics.",
    ],
    "eval_in_train_mode": [
        lambda k: "Put the model in eval mode before scoring it.",
        lambda k: "model.eval() is missing in the scorer; add it so dropout is turned off during evaluation.",
        lambda k: "Evaluate with dropout disabled: call model.eval() first.",
        lambda k: "Never evaluate in train mode - switch to inference mode for the metrics.",
        lambda k: "Ensure the network runs in evaluation mode when the val and test scores are computed.",
    ],
    "weight_decay_too_high": [
        lambda k: f"A weight decay of {_num(_p(k, 'bad_value'))} drags the weights to zero; set it to 1e-4.",
        lambda k: "Decrease weight_decay to 0.01 and retrain.",
        lambda k: f"Cut the weight decay by 1000x (it is {_num(_p(k, 'bad_value'))}).",
        lambda k: "Remove the weight decay entirely; the model is underfitting, not overfitting.",
        lambda k: f"Use wd = {_num(_p(k, 'safe_max') / 5)}, inside the usual range.",
    ],
    "missing_warmup": [
        lambda k: "Add 500 warmup steps to the scheduler.",
        lambda k: f"Ramp the learning rate up linearly: warmup_steps = {int(_p(k, 'total_steps')) // 20}.",
        lambda k: "Use a warmup ratio of 0.06 so the first updates are small.",
        lambda k: "Introduce a learning-rate warmup over the first 10% of training.",
        lambda k: "Put back a warm-up phase (a few hundred steps) before the decay.",
    ],
    "scheduler_interval_mismatch": [
        lambda k: f"The {_p(k, 'schedule')} scheduler should step once per epoch: set its interval to epoch.",
        lambda k: "Update the scheduler at the end of every epoch, not after each batch.",
        lambda k: "interval = 'epoch' in the lr_scheduler config.",
        lambda k: f"Use interval epoch instead of {_p(k, 'bad_value')} for the learning-rate scheduler.",
        lambda k: "Don't step the scheduler every batch; its decay is defined per epoch.",
    ],
    "dropout_too_high": [
        lambda k: f"A dropout of {_num(_p(k, 'bad_value'))} leaves almost nothing; lower it to 0.1.",
        lambda k: "Set the dropout probability to 0.2.",
        lambda k: "Use dropout 0.3 instead.",
        lambda k: "Reduce dropout to 5%.",
        lambda k: "Turn off dropout to verify the model can fit, then tune it between 0.1 and 0.3.",
    ],
    "fp16_no_loss_scaling": [
        lambda k: "Re-enable the gradient scaler.",
        lambda k: "Use bf16-mixed precision instead of fp16.",
        lambda k: "Set grad_scaler to true so fp16 gradients do not underflow.",
        lambda k: "Turn loss scaling back on for mixed precision.",
        lambda k: "Switch to full precision (fp32) training.",
    ],
    "target_derived_feature": [
        lambda k: f"The column {_p(k, 'column')} leaks the label; delete it from the feature set and retrain.",
        lambda k: f"Remove {_p(k, 'column')} from the inputs: it is only recorded after the outcome.",
        lambda k: f"Do not merge outcome-dependent columns into the features; drop {_p(k, 'column')}.",
        lambda k: f"Restrict the features to information available at prediction time, excluding {_p(k, 'column')}.",
        lambda k: f"Take out the leaky joined feature {_p(k, 'column')} so validation reflects what the model sees on test.",
    ],
    "eval_random_augmentation": [
        lambda k: "Preprocess the held-out images with a fixed Resize + CenterCrop.",
        lambda k: "Stop reusing the training augmentations at evaluation time.",
        lambda k: "Evaluation images should not be randomly cropped or flipped; remove those ops from eval_transform.",
        lambda k: "Make eval_transform deterministic.",
        lambda k: "Random augmentation belongs in training only; evaluate with a center crop.",
    ],
    "oversample_before_split": [
        lambda k: "Perform the train/val split before any oversampling.",
        lambda k: "Upsample the minority class in the training set only.",
        lambda k: "Resample after splitting, not before.",
        lambda k: f"Run {k.field} on the train part after the split instead of on the full pool.",
        lambda k: "Apply RandomOverSampler to X_train/y_train only, leaving validation untouched.",
    ],
    "join_duplicate_rows": [
        lambda k: f"Keep only one row per id in {_p(k, 'table')} before the merge.",
        lambda k: "Drop duplicate keys from the lookup table before joining it.",
        lambda k: "The join is one-to-many; make it many-to-one by deduplicating the right-hand table on the id.",
        lambda k: f"Collapse {_p(k, 'table')} to its most recent record per id, then join.",
        lambda k: "Call drop_duplicates on the id column of the lookup before the merge.",
    ],
    "normalization_from_test": [
        lambda k: "Calculate the image channel statistics on the training set and reuse them for every split.",
        lambda k: "Normalize pixels with the ImageNet mean/std constants rather than statistics of the test images.",
        lambda k: "The pixel mean/std must not be computed from the test split; compute them from train.",
        lambda k: "Estimate the per-channel normalisation from the training images only.",
        lambda k: "Point the channel statistics at the train manifest instead of the test one.",
    ],
}
KEYWORD_BAG = (
    "learning rate lr step size momentum adam optimizer batch size batch_size train size scaler fit transform"
    " normalise train only split once deduplicate source group test_size hold out label encoder mapping"
    " label2id tokenizer version metric key val test swap"
    " weight decay wd dropout warmup warmup_steps scheduler interval epoch grad scaler loss scaling fp16 bf16"
)


def field_variant(name: str, i: int) -> str:
    """The same field in another notation: capitals, quotes, brackets, or a trailing ()."""
    parts = name.split(".")
    return [
        name,
        name.upper(),
        f'"{name}"',
        parts[0] + "".join(f'["{p}"]' for p in parts[1:]) if len(parts) > 1 else f"{name}()",
    ][i % 4]


def file_variant(name: str, i: int) -> str:
    return [name, f"./{name}", name.upper(), f"runs/latest/{name}"][i % 4]


@dataclasses.dataclass
class TaskData:
    task_id: str
    keys: list[AnswerKey]


def task_ids(version: int) -> tuple[str, ...]:
    """The pinned task ids of one version, in difficulty order."""
    return tuple(f"{family}-v{version}" for family in TASK_ORDER)


def load_keys(seeds: int, version: int = LATEST_VERSION) -> dict[str, TaskData]:
    try:
        from mlopsdebug_generator.core import generate_scenario  # noqa: PLC0415
    except ImportError as exc:
        sys.exit(f"the generator core is not available ({exc}); this benchmark needs real answer keys")
    sealer = Sealer(SECRET)
    out = {}
    for task_id in task_ids(version):
        keys = [sealer.open(generate_scenario(task_id, seed, sealer=sealer, salt=b"").answer_key) for seed in range(seeds)]
        out[task_id] = TaskData(task_id, keys)
    return out


def score_of(key: AnswerKey, d: Diagnosis) -> float:
    return core.grade(key, d, asymmetric_penalty=TASKS[key.task_id].asymmetric_penalty, reveal_answer=False).score


def final(raw: np.ndarray, asymmetric: bool) -> np.ndarray:
    return np.maximum(0.0, 1.0 - 1.5 * (1.0 - raw)) if asymmetric else raw


@dataclasses.dataclass
class Options:
    """Per-option credits over the seeds, and the coherence gates that tie category and field to the fix.

    cat[C,S], files[F,S], fields[D,S], fixes[X,S]: credit of each option on each seed's key.
    cat_gate[C,X]: the category may earn credit with this fix (it is the category of a fault the fix aims at,
    or the fix aims at none). field_gate[X,S]: the field may earn credit (the fix aims at this seed's fault,
    or at none). Exactly what core.grade does.
    """

    cat: np.ndarray
    files: np.ndarray
    fields: np.ndarray
    fixes: np.ndarray
    cat_gate: np.ndarray
    field_gate: np.ndarray
    nested: bool = False  # version 3 on: category and file credit scaled by the field credit


def best_constant(o: Options, asymmetric: bool) -> tuple[float, tuple[int, int, int, int]]:
    """Exhaustive search over (category, file, field, fix) for the best mean score."""
    w = GRADE_WEIGHTS
    best, arg = -1.0, (0, 0, 0, 0)
    located = o.fields[:, None, :] * o.field_gate[None, :, :]  # D x X x S: the field credit
    field_fix = w["field"] * located + w["fix"] * o.fixes[None, :, :]
    for c in range(o.cat.shape[0]):
        category = w["category"] * o.cat[c][None, :] * o.cat_gate[c][:, None]  # X x S
        for f in range(o.files.shape[0]):
            location = category[None, :, :] + w["file"] * o.files[f]
            raw = (location * located if o.nested else location) + field_fix  # D x X x S
            means = final(raw, asymmetric).mean(axis=2)
            i = np.unravel_index(int(np.argmax(means)), means.shape)
            if means[i] > best + 1e-12:
                best, arg = float(means[i]), (c, f, int(i[0]), int(i[1]))
    return best, arg


def subset(o: Options, c: list[int], f: list[int], d: list[int], x: list[int]) -> Options:
    return Options(o.cat[c], o.files[f], o.fields[d], o.fixes[x], o.cat_gate[np.ix_(c, x)], o.field_gate[x], o.nested)


def run_task(data: TaskData, console: Console) -> dict:
    task = TASKS[data.task_id]
    keys, asym = data.keys, task.asymmetric_penalty
    pool = task.fault_pool
    n = len(keys)

    # (c) gold and (d) paraphrases, per fault.
    gold_scores: dict[str, list[float]] = defaultdict(list)
    para_scores: dict[str, list[list[float]]] = {f: [[] for _ in PARAPHRASES[f]] for f in pool}
    for seed_index, key in enumerate(keys):
        gold = Diagnosis(key.category, key.file, key.field, "", gold_fix(key))
        gold_scores[key.fault_id].append(score_of(key, gold))
        names = [key.field, *key.field_aliases]
        for i, paraphrase in enumerate(PARAPHRASES[key.fault_id]):
            d = Diagnosis(
                key.category,
                file_variant(key.file, seed_index + i),
                field_variant(names[(seed_index + i) % len(names)], seed_index + i),
                "",
                paraphrase(key),
            )
            para_scores[key.fault_id][i].append(score_of(key, d))

    # Candidate options for the constant answers.
    canonical_fields = sorted({k.field for k in keys})
    all_field_names = sorted({name for k in keys for name in (k.field, *k.field_aliases)})
    fix_texts: dict[str, str] = {}
    sample_keys: dict[str, list[AnswerKey]] = defaultdict(list)
    for key in keys:
        fix_texts.setdefault(gold_fix(key), f"gold fix of {key.fault_id}")
        if len(sample_keys[key.fault_id]) < 3:
            sample_keys[key.fault_id].append(key)
    for fault_id, samples in sample_keys.items():
        for key in samples:
            for i, paraphrase in enumerate(PARAPHRASES[fault_id]):
                fix_texts.setdefault(paraphrase(key), f"paraphrase {i + 1} of {fault_id}")
    all_golds = " ".join(dict.fromkeys(gold_fix(k) for k in keys))
    stuffed_fixes = {all_golds: "all gold fixes concatenated", KEYWORD_BAG: "keyword bag",
                     all_golds + " " + KEYWORD_BAG: "all gold fixes + keyword bag"}
    for text, label in stuffed_fixes.items():
        fix_texts.setdefault(text, label)
    fix_texts.setdefault("", "empty fix")

    cat = np.array([[1.0 if k.category == c else 0.0 for k in keys] for c in CATEGORIES])
    files = np.array([[match_file(f, k.file).credit for k in keys] for f in ARTIFACT_FILES])
    # Canonical fields, and every alias too: a stricter search than the canonical names alone.
    field_options = [*canonical_fields, *(a for a in all_field_names if a not in canonical_fields), ""]
    fields = np.array([[match_field(name, k.field, k.field_aliases).credit if name else 0.0 for k in keys]
                       for name in field_options])
    fix_labels = list(fix_texts)
    fixes = np.array([[judge_fix(k, text).credit for k in keys] for text in fix_labels])
    targets = [targeted_faults(text) for text in fix_labels]
    cat_gate = np.array([[1.0 if not t or c in {FAULTS[g].category for g in t} else 0.0 for t in targets]
                         for c in CATEGORIES])
    field_gate = np.array([[1.0 if not t or k.fault_id in t else 0.0 for k in keys] for t in targets])
    nested = TASKS[data.task_id].version >= core.NESTED_LOCATION_FROM_VERSION
    options = Options(cat, files, fields, fixes, cat_gate, field_gate, nested)

    # Drop fix texts that behave identically (same credits and same gates) before the search.
    behaviour = np.concatenate([fixes, field_gate, cat_gate.T], axis=1)
    _, keep = np.unique(np.round(behaviour, 9), axis=0, return_index=True)
    keep = sorted(keep)
    search = subset(options, list(range(len(CATEGORIES))), list(range(len(ARTIFACT_FILES))),
                    list(range(len(field_options))), keep)
    best_a, (c, f, d, x) = best_constant(search, asym)
    best_text = fix_labels[keep[x]]
    best_a_answer = (CATEGORIES[c], ARTIFACT_FILES[f], field_options[d], fix_texts[best_text])
    # Cross-check the search against the grader itself.
    regraded = float(np.mean([score_of(k, Diagnosis(CATEGORIES[c], ARTIFACT_FILES[f], field_options[d], "", best_text))
                              for k in keys]))
    assert abs(regraded - best_a) < 1e-9, (regraded, best_a)

    # (b) stuffed: every field name and every fix at once; best single category and file.
    stuffed_field = ", ".join(all_field_names)[: core.FIELD_MAX_CHARS]
    stuffed_rows = [fix_labels.index(text) for text in stuffed_fixes]
    stuffed = Options(
        cat, files,
        np.array([[match_field(stuffed_field, k.field, k.field_aliases).credit for k in keys]]),
        fixes[stuffed_rows], cat_gate[:, stuffed_rows], field_gate[stuffed_rows], nested,
    )
    best_b, _ = best_constant(stuffed, asym)

    # Pure guess: one fault's gold answer submitted for every seed. Any of that fault's categories, files,
    # field names (canonical or alias: all are the gold field) and gold fix texts, best combination.
    guess, guess_label = -1.0, ""
    for fault_id in pool:
        own = [k for k in keys if k.fault_id == fault_id]
        if not own:
            continue
        rows = lambda options, labels: [labels.index(o) for o in sorted(set(options))]  # noqa: E731
        c_rows = rows([k.category for k in own], list(CATEGORIES))
        f_rows = rows([k.file for k in own], list(ARTIFACT_FILES))
        d_rows = rows([n for k in own for n in (k.field, *k.field_aliases)], field_options)
        x_rows = rows([gold_fix(k) for k in own], fix_labels)
        mean, (c, f, d, x) = best_constant(subset(options, c_rows, f_rows, d_rows, x_rows), asym)
        if mean > guess + 1e-12:
            guess = mean
            guess_label = f"gold answer of {fault_id}: field {field_options[d_rows[d]]!r}, file {ARTIFACT_FILES[f_rows[f]]}"

    counts = {f: sum(1 for k in keys if k.fault_id == f) for f in pool}
    locations = {
        f: {
            "files": sorted({k.file for k in keys if k.fault_id == f}),
            "fields": sorted({k.field for k in keys if k.fault_id == f}),
            "aliases": sorted({a for k in keys if k.fault_id == f for a in k.field_aliases}),
        }
        for f in pool
    }
    return {
        "task": data.task_id,
        "n": n,
        "a": best_a,
        "a_answer": best_a_answer,
        "b": best_b,
        "guess": guess,
        "guess_label": guess_label,
        "c": float(np.mean([s for f in pool for s in gold_scores[f]])),
        "d": float(np.mean([s for f in pool for p in para_scores[f] for s in p])),
        "faults": {
            f: {
                "seeds": counts[f],
                "c": float(np.mean(gold_scores[f])) if gold_scores[f] else float("nan"),
                "d": float(np.mean([s for p in para_scores[f] for s in p])) if counts[f] else float("nan"),
                "d_min": min(float(np.mean(p)) for p in para_scores[f]) if counts[f] else float("nan"),
                "d_each": [float(np.mean(p)) if p else float("nan") for p in para_scores[f]],
            }
            for f in pool
        },
        "options": (len(CATEGORIES), len(ARTIFACT_FILES), len(field_options), len(keep)),
        "locations": locations,
    }


# -- blind baselines --

TRAIN_SEED_BASE = 10_000
CHECKS_ONLY_TARGET = 0.35
CLASSIFIER_TARGET = 0.5
PRIOR_TARGET = 0.1


@dataclasses.dataclass
class BlindEpisode:
    """One scenario as a blind agent meets it: the verdict pattern, what its grade would reveal, and the key."""

    example: Example
    key: AnswerKey


def blind_episodes(task_id: str, seeds: range, sealer: Sealer, *, training: bool = False) -> list[BlindEpisode]:
    """The episodes of `seeds` with their verdict pattern and answer. `training`: on the task's train split
    (where it holds faults out), as the learner in `mlopsdebug eval` plays them; otherwise on every fault,
    held-out ones included (the benchmark scores on them)."""
    from mlopsdebug_generator.core import generate_scenario  # noqa: PLC0415

    split = "train" if training and TASKS[task_id].has_heldout_split else "all"
    out = []
    for seed in seeds:
        scenario = generate_scenario(task_id, seed, sealer=sealer, salt=b"", split=split)
        key = sealer.open(scenario.answer_key)
        probe = Diagnosis(key.category, key.file, key.field, "", "")
        revealed = core.grade(
            key, probe, asymmetric_penalty=False, reveal_answer=True, reveal_heldout=not training
        ).answer
        if revealed is None:
            continue
        example = Example(
            task_id, seed, pattern_of({c.check: c.status for c in scenario.sanity_checks}),
            Revealed(revealed.fault_id, revealed.category, revealed.file, revealed.field,
                     tuple(revealed.field_aliases), revealed.fix_rule),
            TASKS[task_id].asymmetric_penalty,
        )  # fmt: skip
        out.append(BlindEpisode(example, key))
    return out


def submit(key: AnswerKey, answer: Answer) -> Grade:
    """The grade of a blind agent's submission, exactly as the episode service would ask for it."""
    diagnosis = Diagnosis(answer.category, answer.file, answer.field, DIAGNOSIS_TEXT, answer.fix)
    return core.grade(key, diagnosis, asymmetric_penalty=TASKS[key.task_id].asymmetric_penalty, reveal_answer=False)


def learn_blind(train: list[BlindEpisode]) -> BlindTable:
    """The table the built-in agents would learn on these episodes: the survey's examples plus graded probes."""
    examples = [e.example for e in train]
    keys = {(e.example.task, e.example.seed): e.key for e in train}
    candidates = fix_candidates(examples)
    probes = []
    for example, answer in probe_plan(examples, candidates):
        credits = {c.kind: c.credit for c in submit(keys[(example.task, example.seed)], answer).components}
        probes.append(Probe(example.task, example.seed, answer.fix, credits["field"], credits["fix"]))
    return learn_table(examples, probes, candidates)


def run_blind(train_seeds: int, test_seeds: int, version: int = LATEST_VERSION) -> dict:
    """Blind baselines and verdict classifiers: learned on seeds 10000.., scored on seeds 0.. (per task)."""
    sealer = Sealer(SECRET)
    tasks = task_ids(version)
    train = {
        t: blind_episodes(t, range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + train_seeds), sealer, training=True)
        for t in tasks
    }
    test = {t: blind_episodes(t, range(test_seeds), sealer) for t in tasks}
    table = learn_blind([e for t in tasks for e in train[t]])
    # The classifiers measure how often the verdicts name the fault, so they learn every fault, held-out ones
    # included, on the same seeds (a classifier that never saw a fault could not name it, which would flatter
    # the verdicts: learned on the train split, hard-v3 read 0.527, on all faults 0.490, on the train faults
    # of all seeds 0.497).
    every_fault = {t: blind_episodes(t, range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + train_seeds), sealer) for t in tasks}
    majority = FaultClassifier.fit(e.example for t in tasks for e in every_fault[t])
    bayes = NaiveBayesClassifier.fit(e.example for t in tasks for e in every_fault[t])

    def accuracy(classifier: FaultClassifier | NaiveBayesClassifier, episodes: list[BlindEpisode]) -> float:
        hits = [classifier.predict(e.example.task, e.example.pattern) == e.example.answer.fault_id for e in episodes]
        return float(np.mean(hits))

    rows = {}
    for task in tasks:
        levels: dict[str, int] = defaultdict(int)
        checks_only, prior = [], []
        for e in test[task]:
            entry, level = table.task(task).lookup(e.example.pattern)
            levels[level] += 1
            checks_only.append(submit(e.key, entry.answer).score)
            prior.append(submit(e.key, table.task(task).prior.answer).score)
        rows[task] = {
            "checks_only": checks_only,
            "prior": prior,
            "prior_answer": table.task(task).prior.answer,
            "patterns": len(table.task(task).patterns),
            "levels": dict(levels),
            "majority": (accuracy(majority, every_fault[task]), accuracy(majority, test[task])),
            "bayes": (accuracy(bayes, every_fault[task]), accuracy(bayes, test[task])),
        }
    return {"rows": rows, "train_seeds": train_seeds, "test_seeds": test_seeds}


def blind_report(blind: dict, console: Console) -> list[str]:
    """Prints the blind-baseline tables and the targets; returns the targets that are not met."""
    rows, n_train, n_test = blind["rows"], blind["train_seeds"], blind["test_seeds"]
    table = Table(title=f"Blind baselines: learned on seeds {TRAIN_SEED_BASE}..{TRAIN_SEED_BASE + n_train - 1},"
                        f" scored on seeds 0..{n_test - 1} per task")  # fmt: skip
    # Classifier columns: accuracy naming the fault from the verdicts, on the training / the test seeds.
    for column in ("task", "checks-only", "prior", "majority acc. train/test", "naive Bayes acc. train/test",
                   "patterns", "answered by pattern/fails/prior"):  # fmt: skip
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, r in rows.items():
        levels = r["levels"]
        table.add_row(
            task, f"{np.mean(r['checks_only']):.3f}", f"{np.mean(r['prior']):.3f}",
            f"{r['majority'][0]:.3f}/{r['majority'][1]:.3f}", f"{r['bayes'][0]:.3f}/{r['bayes'][1]:.3f}",
            str(r["patterns"]),
            f"{levels.get('pattern', 0)}/{levels.get('fail_set', 0)}/{levels.get('prior', 0)}",
        )  # fmt: skip
    checks_all = float(np.mean([s for r in rows.values() for s in r["checks_only"]]))
    prior_all = float(np.mean([s for r in rows.values() for s in r["prior"]]))
    table.add_row("all", f"{checks_all:.3f}", f"{prior_all:.3f}", "", "", "", "", style="bold")
    console.print(table)
    for task, r in rows.items():
        a = r["prior_answer"]
        console.print(f"[bold]{task}[/] prior answer: {a.category} / {a.file} / {a.field!r} / fix {a.fix[:80]!r}")

    def verdict(ok: bool) -> str:
        return "[green]met[/]" if ok else "[red]NOT met[/]"

    unmet = []
    worst = {task: max(r["majority"][1], r["bayes"][1]) for task, r in rows.items()}
    targets = [
        (f"checks-only overall {checks_all:.3f} <= {CHECKS_ONLY_TARGET}", checks_all <= CHECKS_ONLY_TARGET),
        ("verdict classifier test accuracy <= 0.5 on every task ("
         + ", ".join(f"{t} {a:.3f}" for t, a in worst.items()) + ")",
         all(a <= CLASSIFIER_TARGET for a in worst.values())),
        (f"prior overall {prior_all:.3f} <= {PRIOR_TARGET}", prior_all <= PRIOR_TARGET),
    ]  # fmt: skip
    console.print("Blind-baseline targets (issue 13, on seeds not used to learn):")
    for text, ok in targets:
        console.print(f"    {verdict(ok)}: {text}")
        if not ok:
            unmet.append(f"blind baseline target: {text}")
    return unmet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300, help="seeds per task (0..N-1)")
    parser.add_argument("--verbose", action="store_true", help="print every paraphrase's mean")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 30 seeds per task (60 to learn on)")
    parser.add_argument("--train-seeds", type=int, default=300,
                        help=f"seeds per task the blind baselines learn on ({TRAIN_SEED_BASE}..; default 300)")
    parser.add_argument("--version", type=int, default=LATEST_VERSION,
                        help=f"task version to measure (its pinned ids, e.g. easy-v{LATEST_VERSION}; default {LATEST_VERSION})")
    parser.add_argument("--enforce-blind-targets", action="store_true",
                        help="fail (exit 1) when a blind-baseline target is not met")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.train_seeds = 30, 60
    console = Console() if sys.stdout.isatty() else Console(width=140)  # piped: room for the wide tables
    started = time.perf_counter()
    data = load_keys(args.seeds, args.version)
    results = [run_task(data[t], console) for t in task_ids(args.version)]

    table = Table(title=f"Gaming benchmark, task version {args.version}: mean score over seeds 0..{args.seeds - 1} per task")
    for column in ("task", "(a) best constant", "(b) stuffed", "guess bound", "(c) gold", "(d) paraphrases",
                   "search space C x F x D x X"):
        table.add_column(column, justify="right" if column != "task" else "left")
    for r in results:
        table.add_row(r["task"], f"{r['a']:.3f}", f"{r['b']:.3f}", f"{r['guess']:.3f} (+{GUESS_SLACK})",
                      f"{r['c']:.3f}", f"{r['d']:.3f}", " x ".join(map(str, r["options"])))
    console.print(table)

    per_fault = Table(title="Correct answers per fault")
    for column in ("task", "fault", "seeds", "(c) gold", "(d) paraphrases mean", "(d) worst paraphrase"):
        per_fault.add_column(column, justify="left" if column in ("task", "fault") else "right")
    for r in results:
        for fault, v in r["faults"].items():
            per_fault.add_row(r["task"], fault, str(v["seeds"]), f"{v['c']:.3f}", f"{v['d']:.3f}", f"{v['d_min']:.3f}")
    console.print(per_fault)

    for r in results:
        cat, file, field, fix = r["a_answer"]
        console.print(f"[bold]{r['task']}[/] best constant answer: {cat} / {file} / {field!r} / fix {fix[:90]!r}")
        console.print(f"    guess bound from: {r['guess_label']}")
        if args.verbose:
            for fault, v in r["faults"].items():
                console.print(f"    {fault}: paraphrase means " + " ".join(f"{x:.3f}" for x in v["d_each"]))
                where = r["locations"][fault]
                console.print(f"      files {where['files']}; fields {where['fields']}; aliases {where['aliases']}")

    failures = []
    for r in results:
        for fault, v in r["faults"].items():
            if v["seeds"] and (v["c"] < CORRECT_MIN or v["d"] < CORRECT_MIN):
                failures.append(f"{r['task']}/{fault}: (c) {v['c']:.3f} (d) {v['d']:.3f} < {CORRECT_MIN}")
        if r["b"] > r["a"] + 1e-9:
            failures.append(f"{r['task']}: stuffed (b) {r['b']:.3f} beats the best constant (a) {r['a']:.3f}")
        if r["a"] > r["guess"] + GUESS_SLACK + 1e-9:
            failures.append(f"{r['task']}: best constant (a) {r['a']:.3f} beats guessing {r['guess']:.3f} + {GUESS_SLACK}")
    unmet = blind_report(run_blind(args.train_seeds, args.seeds, args.version), console)
    if args.enforce_blind_targets:
        failures.extend(unmet)
    console.print(f"finished in {time.perf_counter() - started:.1f} s")
    if failures:
        for failure in failures:
            console.print(f"[red]FAIL[/] {failure}")
        return 1
    console.print("[green]PASS[/] (c), (d) >= 0.95 on every fault; (b) <= (a); (a) <= guess + 0.01 on every task"
                  + ("; blind-baseline targets" if args.enforce_blind_targets else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
