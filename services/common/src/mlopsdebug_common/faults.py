"""The faults: what category each belongs to and which parameters its answer key carries.

The generator decides, per scenario, the exact file, canonical field and aliases (they depend on the
rendered artifacts, e.g. the variable names of preprocessing.py); the grader picks the fix rule by
fault id and reads the listed parameters from the key.
"""

from __future__ import annotations

import dataclasses
from typing import Final

CATEGORIES: Final[tuple[str, ...]] = (
    "config_error",
    "data_leakage",
    "evaluation_bug",
    "preprocessing_bug",
    "label_mismatch",
    "architecture_bug",
)

ARTIFACT_FILES: Final[tuple[str, ...]] = (
    "config.yaml",
    "train.log",
    "dataset_stats.json",
    "preprocessing.py",
    "eval_results.json",
    "model_card.json",
)


@dataclasses.dataclass(frozen=True, slots=True)
class FaultSpec:
    fault_id: str
    task_id: str
    category: str
    # Names of the entries the answer key's `params` must hold for this fault's fix rule.
    params: tuple[str, ...]
    # Held out from training (as Procgen's test levels): drawn only when a reset asks for the held-out
    # split (or all faults), so a team can measure generalisation to faults its agent never trained on.
    heldout: bool = False


FAULTS: Final[dict[str, FaultSpec]] = {
    f.fault_id: f
    for f in (
        # The learning rate is orders of magnitude too high; loss diverges to NaN.
        FaultSpec("exploding_lr", "easy", "config_error", ("bad_value", "safe_max")),
        # SGD with momentum so close to 1 that the effective step oscillates.
        FaultSpec("wrong_optimizer", "easy", "config_error", ("bad_value", "safe_max")),
        # The batch size exceeds the number of training samples.
        FaultSpec("batch_size_overflow", "easy", "config_error", ("bad_value", "train_size")),
        # The scaler is fitted on all data before splitting.
        FaultSpec("data_leakage_scaler", "medium", "data_leakage", ()),
        # Train and validation share items: split twice, or duplicates of one source item in both.
        FaultSpec("data_leakage_overlap", "medium", "data_leakage", ("mechanism",)),
        # test_size is inverted, so the model trains on the small part.
        FaultSpec("wrong_split_ratio", "medium", "preprocessing_bug", ("bad_value",)),
        # Evaluation uses a label map that differs from training's.
        FaultSpec("label_encoder_mismatch", "hard", "label_mismatch", ()),
        # Validation and test metrics are written under each other's keys.
        FaultSpec("silent_metric_swap", "hard", "evaluation_bug", ()),
        # Evaluation loads an older tokenizer than training (text models only).
        FaultSpec("tokenizer_version_drift", "hard", "evaluation_bug", ("train_version", "eval_version")),
        # The "test" metrics are computed on the training split.
        FaultSpec("eval_on_train_split", "hard", "evaluation_bug", ()),
        # Evaluation loaders drop the last, incomplete batch: metrics on a subset of each split.
        FaultSpec("eval_drop_last", "hard", "evaluation_bug", (), heldout=True),
        # The support-weighted F1 is reported under the name macro_f1.
        FaultSpec("weighted_f1_as_macro", "hard", "evaluation_bug", ()),
        # The model is scored in training mode (dropout active, batch-norm batch statistics).
        FaultSpec("eval_in_train_mode", "hard", "evaluation_bug", ()),
        # The evaluation loader shuffles, but the labels are read from the split in file order.
        FaultSpec("eval_loader_shuffled", "hard", "evaluation_bug", ()),
        # Weight decay orders of magnitude too high; the model underfits and the loss plateaus near chance.
        FaultSpec("weight_decay_too_high", "easy", "config_error", ("bad_value", "safe_max")),
        # No learning-rate warmup for a transformer at a high peak rate; the loss blows up in the first steps.
        FaultSpec("missing_warmup", "easy", "config_error", ("bad_value", "safe_min", "safe_max", "total_steps")),
        # An epoch-based scheduler stepped per batch; the learning rate decays to ~0 in the first epoch.
        FaultSpec("scheduler_interval_mismatch", "easy", "config_error", ("bad_value", "schedule")),
        # Dropout close to 1; the model cannot fit.
        FaultSpec("dropout_too_high", "easy", "config_error", ("bad_value", "safe_max"), heldout=True),
        # fp16 mixed precision without loss scaling; gradients underflow and the loss stalls.
        FaultSpec("fp16_no_loss_scaling", "easy", "config_error", ("bad_value", "precision"), heldout=True),
        # A column joined onto the pool encodes the label (recorded after the outcome); the test rows lack it.
        FaultSpec("target_derived_feature", "medium", "data_leakage", ("column",)),
        # Evaluation transforms crop and flip at random (the training augmentations), so every pass differs.
        FaultSpec("eval_random_augmentation", "medium", "preprocessing_bug", (), heldout=True),
        # Minority classes are oversampled on the whole pool before the split: copies land in train and val.
        FaultSpec("oversample_before_split", "medium", "data_leakage", ()),
        # A lookup table with several rows per id is merged before the split: each row's copies straddle it.
        FaultSpec("join_duplicate_rows", "medium", "data_leakage", ("table",), heldout=True),
        # Image normalisation statistics are computed on the frozen test manifest (the scaler's vision sibling).
        FaultSpec("normalization_from_test", "medium", "data_leakage", ()),
    )
}


# The fault pool of each (task family, task version). Version 1 is the seed's: three faults per task,
# kept so that results published before the pools grew stay reproducible under "easy-v1" etc.
FAULT_POOLS: Final[dict[tuple[str, int], tuple[str, ...]]] = {
    ("easy", 1): ("exploding_lr", "wrong_optimizer", "batch_size_overflow"),
    ("medium", 1): ("data_leakage_scaler", "data_leakage_overlap", "wrong_split_ratio"),
    ("hard", 1): ("label_encoder_mismatch", "silent_metric_swap", "tokenizer_version_drift"),
}
# Version 3 draws from the same faults as version 2; it changes where a fault's root cause may sit, how noisy
# the sanity checks are, and how location credit is given (docs/grading.md). Version 4 draws from them too; it
# makes the sanity checks noisier still (more benign trips, more misses, checks shared by more faults).
for _family in ("easy", "medium", "hard"):
    for _version in (2, 3, 4):
        FAULT_POOLS[(_family, _version)] = tuple(f.fault_id for f in FAULTS.values() if f.task_id == _family)
