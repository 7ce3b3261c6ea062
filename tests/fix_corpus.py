"""The fix corpus: a realistic answer key per fault and correct fixes in an engineer's own words.

Shared by the fix-rule tests and the fault contract (every fault's paraphrases must earn full credit).
Adding a fault adds its example key to `make_key` and at least five paraphrases to PARAPHRASES,
written before (and independently of) the rule's patterns.
"""

from __future__ import annotations

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.faults import FAULTS


def make_key(fault_id: str, **overrides) -> AnswerKey:
    """Realistic keys, one per fault (the generator decides these per scenario; values here are typical)."""
    base = {
        "exploding_lr": ("config.yaml", "optimizer.learning_rate", ("optimizer.lr", "learning_rate", "lr"),
                         {"bad_value": 2.5, "safe_max": 1e-2}),
        "wrong_optimizer": ("config.yaml", "optimizer.momentum", ("momentum",), {"bad_value": 0.999, "safe_max": 0.95}),
        "batch_size_overflow": ("config.yaml", "training.batch_size", ("batch_size",),
                                {"bad_value": 4096, "train_size": 1800}),
        "data_leakage_scaler": ("preprocessing.py", "scaler.fit", ("fit_scaler",), {}),
        "data_leakage_overlap": ("preprocessing.py", "split_dataset", ("train_test_split",),
                                 {"mechanism": "double_split"}),
        "wrong_split_ratio": ("preprocessing.py", "test_size", ("data.test_size",), {"bad_value": 0.8}),
        "label_encoder_mismatch": ("preprocessing.py", "label_encoder", ("label_map",), {}),
        "silent_metric_swap": ("eval_results.json", "metrics", ("write_metrics",), {}),
        "tokenizer_version_drift": ("config.yaml", "eval.tokenizer_version", ("tokenizer_version",),
                                    {"train_version": "v3.2", "eval_version": "v3.1"}),
        "eval_on_train_split": ("preprocessing.py", "evaluate_splits", (), {}),
        "eval_drop_last": ("preprocessing.py", "run_evaluation", ("drop_last",), {}),
        "weighted_f1_as_macro": ("preprocessing.py", "compute_metrics", ("macro_f1",), {}),
        "eval_in_train_mode": ("preprocessing.py", "score_split", ("model.eval",), {}),
        "eval_loader_shuffled": ("preprocessing.py", "run_evaluation", ("shuffle",), {}),
        "weight_decay_too_high": ("config.yaml", "optimizer.weight_decay", ("weight_decay", "wd"),
                                  {"bad_value": 5.0, "safe_max": 0.1}),
        "missing_warmup": ("config.yaml", "scheduler.warmup_steps", ("warmup_steps", "num_warmup_steps"),
                           {"bad_value": 0, "safe_min": 20, "safe_max": 5000, "total_steps": 10000,
                            "steps_per_epoch": 2500}),
        "scheduler_interval_mismatch": ("config.yaml", "scheduler.interval", ("lr_scheduler.interval", "interval"),
                                        {"bad_value": "step", "schedule": "step"}),
        "dropout_too_high": ("config.yaml", "model.dropout", ("dropout",), {"bad_value": 0.9, "safe_max": 0.5}),
        "fp16_no_loss_scaling": ("config.yaml", "training.grad_scaler", ("grad_scaler", "loss_scaling"),
                                 {"bad_value": False, "precision": "16-mixed"}),
        "target_derived_feature": ("preprocessing.py", "JOINED", ("activity_score", "crm_export", "merge", "build_datasets"),
                                   {"column": "activity_score"}),
        "eval_random_augmentation": ("preprocessing.py", "eval_transform", ("train_transform",), {}),
        "oversample_before_split": ("preprocessing.py", "oversample",
                                    ("RandomOverSampler", "fit_resample", "build_datasets", "train_test_split"), {}),
        "join_duplicate_rows": ("preprocessing.py", "lookup", ("crm_export", "merge", "read_parquet", "drop_duplicates",
                                                             "build_datasets"), {"table": "crm_export"}),
        "normalization_from_test": ("preprocessing.py", "channel_stats", ("MEAN", "STD", "read_manifest"), {}),
    }[fault_id]
    file, field, aliases, params = base
    spec = FAULTS[fault_id]
    params = {**params, **overrides}
    return AnswerKey(fault_id, spec.category, file, field, aliases, params, spec.task_id, 7, "scn-test", "2.0.0")


# Correct fixes in an engineer's words, written before the rules (independently of their patterns).
PARAPHRASES: dict[str, list[str]] = {
    "exploding_lr": [
        "Drop the learning rate to 3e-4.",
        "lr is way too high at 2.5 - set optimizer.lr: 0.001 and rerun.",
        "Reduce the step size by three orders of magnitude (2.5 -> 0.0025).",
        "Use a learning rate of 1x10^-3 instead of 2.5.",
        "Change learning_rate from 2.5 to 5e-4 in config.yaml; the loss should stop diverging.",
        "Divide the LR by 1000.",
    ],
    "wrong_optimizer": [
        "Bring momentum down to 0.9.",
        "Replace SGD with Adam (lr 1e-3).",
        "momentum: 0.999 is too close to 1; use 0.9 instead.",
        "Switch the optimizer to AdamW.",
        "Set optimizer.momentum = 0.85 so the velocity term stops accumulating.",
        "Keep SGD but use a standard momentum of 0.9 rather than 0.999.",
    ],
    "batch_size_overflow": [
        "Lower the batch size to 64.",
        "batch_size must not exceed the 1800 training samples; set it to 128.",
        "Use a batch size smaller than the training set, e.g. 256.",
        "Set training.batch_size: 32 (it was 4096, more than the whole training split).",
        "Shrink the batch to 512 samples so at least one full batch fits in the 1800 training examples.",
    ],
    "data_leakage_scaler": [
        "Fit the StandardScaler on the training split only and use it to transform validation and test.",
        "Move scaler.fit after train_test_split so it only sees X_train.",
        "Don't fit the normaliser on the full dataset; compute mean and std from the training data alone.",
        "Split first, then fit the scaler on the train portion and apply transform() to the other splits.",
        "Call fit_transform on X_train and plain transform on X_val/X_test instead of fitting on all of X.",
    ],
    "data_leakage_overlap": [
        "Split the data only once, so that every item belongs to exactly one split.",
        "Remove the second train_test_split call; reusing it re-shuffles and puts the same samples in train and validation.",
        "Do a single split and derive the validation set from the training portion only, so train and val are disjoint.",
        "Never re-split the full dataset: carve the validation set out of the training part of the first split.",
        "Split once into train/val/test and keep those indices; don't call the splitter a second time.",
    ],
    "wrong_split_ratio": [
        "Set test_size to 0.2.",
        "The split is inverted: train on 80% and hold out 20%.",
        "Change test_size=0.8 to test_size=0.2 in train_test_split.",
        "Use train_size=0.8 (i.e. test_size 0.2) so most data goes to training.",
        "Hold out 15% for validation instead of 80%.",
    ],
    "label_encoder_mismatch": [
        "Reuse the label encoder fitted during training when evaluating instead of fitting a new one on the eval labels.",
        "Save label2id from training and load it in the eval script.",
        "Make evaluation use the same class-to-index mapping as training.",
        "Don't rebuild the label map at eval time; persist the training mapping and apply it.",
        "Encode eval labels with the training encoder so class indices line up.",
    ],
    "silent_metric_swap": [
        "Write each metric under its own key: validation results to val, test results to test.",
        "The val and test entries are swapped in the results writer; swap them back.",
        "Fix the key mapping in the eval script so val_accuracy holds the validation score and test_accuracy the test score.",
        "Store validation metrics under 'val' and test metrics under 'test' — currently they are written to each other's keys.",
        "Correct the swapped keys when writing eval_results.json.",
    ],
    "tokenizer_version_drift": [
        "Load tokenizer v3.2 (the training version) in evaluation.",
        "Pin the eval tokenizer to the same version used for training.",
        "Evaluation must use the training tokenizer, not v3.1.",
        "Make the eval pipeline load the tokenizer version training used, v3.2, and re-run evaluation.",
        "Use one tokenizer version (v3.2) for both training and eval.",
    ],
    "eval_on_train_split": [
        "The runner scores splits['train'] under the test key; pass splits['test'] instead of the training split.",
        "Compute test_scores on the test set rather than on the training data.",
        "Evaluate the test metrics on the held-out test split, not on the training split the model was fit on.",
        "Replace the training loader with the test loader when computing the test scores.",
        "Never score the training set as test; evaluate the real test partition.",
    ],
    "eval_drop_last": [
        "Set drop_last=False on the evaluation DataLoader.",
        "Remove drop_last from the val/test loaders so the final partial batch is evaluated too.",
        "Don't drop the last incomplete batch during evaluation - every sample has to be scored.",
        "The eval loaders must keep the last batch; use drop_last = False there.",
        "Evaluate all samples of each split: turn off drop_last in the evaluation loaders.",
    ],
    "weighted_f1_as_macro": [
        "Compute macro_f1 as the unweighted mean of the per-class F1 scores.",
        "Use average='macro' instead of average='weighted' for the reported macro F1.",
        "Macro F1 should be f1.mean(); don't weight the per-class F1 by support.",
        "Report the support-weighted F1 under its own name and make macro_f1 the plain average over classes.",
        "Weight every class equally when averaging F1 for the macro score.",
    ],
    "eval_in_train_mode": [
        "Call model.eval() at the start of the scoring function.",
        "The scorer must put the network into evaluation mode so dropout is disabled.",
        "Switch the model to eval mode before computing validation and test metrics.",
        "Don't score the model in training mode; dropout and batch-norm batch statistics distort the numbers.",
        "Add model.eval() before the evaluation loop (it was left in train mode after training).",
    ],
    "weight_decay_too_high": [
        "Lower the weight decay to 0.01.",
        "weight_decay: 5.0 shrinks the weights to nothing; set it to 0.05.",
        "Reduce wd by two orders of magnitude (5 -> 0.05).",
        "Use a standard AdamW weight decay of 1e-2 instead of 5.",
        "Turn off weight decay for now and retrain.",
        "Set optimizer.weight_decay = 0.001 so the model can actually fit the data.",
    ],
    "missing_warmup": [
        "Add a linear warmup of 1000 steps.",
        "Set warmup_steps to 500 so the learning rate ramps up before it reaches the peak.",
        "Warm up over the first 6% of training steps.",
        "Use num_warmup_steps=2000 with the same schedule.",
        "Give the scheduler a warmup (warmup ratio 0.1) instead of starting at the full learning rate.",
        "Configure a warm-up of one epoch before the cosine decay.",
    ],
    "scheduler_interval_mismatch": [
        "Set the scheduler interval to epoch.",
        "Step the StepLR scheduler once per epoch, not after every batch.",
        "lr_scheduler.interval: epoch - the decay is defined in epochs.",
        "Call scheduler.step() at the end of each epoch instead of every optimizer step.",
        "Change interval from step to epoch so the learning rate does not collapse in the first epoch.",
    ],
    "dropout_too_high": [
        "Lower the dropout to 0.1.",
        "dropout: 0.9 drops almost every activation; use 0.2.",
        "Set model.dropout = 0.3.",
        "Use a dropout rate of 10% instead of 90%.",
        "Disable dropout and retrain to check that the model can fit.",
    ],
    "fp16_no_loss_scaling": [
        "Enable the GradScaler for fp16 training.",
        "Set grad_scaler: true so the loss is scaled before backward.",
        "Switch precision to bf16-mixed, which does not need loss scaling.",
        "Turn on dynamic loss scaling to stop the gradients underflowing in half precision.",
        "Train in fp32 (precision 32-true) instead of fp16 without a scaler.",
        "Use torch.amp.GradScaler so small gradients stay representable in float16.",
    ],
    "target_derived_feature": [
        "Drop activity_score from the model inputs: it is computed from the label, so it is not available at prediction time.",
        "Remove the joined column from JOINED; only use features that exist before the outcome is known.",
        "Stop merging the crm_export table into the training data, because its column encodes the target.",
        "Exclude the label-derived feature and retrain on the remaining columns.",
        "Don't feed features derived from the target to the model; take activity_score out of the feature list.",
        "Only join columns that are known at prediction time, and delete the outcome-derived column from the features.",
    ],
    "eval_random_augmentation": [
        "Use a deterministic eval transform: Resize and CenterCrop, no random crops or flips.",
        "eval_transform must not call train_transform(); build a separate resize + center-crop pipeline for validation and test.",
        "Apply augmentation only to the training set and remove RandomResizedCrop/RandomHorizontalFlip from the evaluation transforms.",
        "Don't augment the validation and test images.",
        "Evaluate on center-cropped images without random augmentation, so each pass over val gives the same score.",
        "Keep random crops and flips in train_transform only.",
    ],
    "oversample_before_split": [
        "Split the data first, then oversample only the training split.",
        "Move the RandomOverSampler call after train_test_split and apply it to the training rows only.",
        "Don't resample the whole pool before splitting; balance the classes on the train set alone.",
        "Oversampling belongs after the split: call fit_resample on the training portion, never on validation.",
        "Validation must keep the original class distribution: only upsample the minority classes in the training data, after splitting.",
        "Use SMOTE or RandomOverSampler inside the training fold only, after the split.",
    ],
    "join_duplicate_rows": [
        "Deduplicate the crm_export lookup on the id column before merging it, so each row joins exactly one record.",
        "Reduce the lookup table to one row per customer (e.g. the latest snapshot) before the join.",
        "Use merge(..., validate='many_to_one') on a lookup with unique keys; drop_duplicates(subset=ID_COLUMN) first.",
        "Load the enrichment table through load_table, which drops repeated ids, instead of reading the parquet file raw.",
        "Aggregate the lookup to a single record per key before joining it onto the pool.",
    ],
    "normalization_from_test": [
        "Compute the per-channel pixel mean and std from the training images, not from the test manifest.",
        "MEAN, STD = channel_stats(\"train\"): the normalisation statistics must come from the training split.",
        "Use the published dataset (or ImageNet) channel means and stds as fixed constants for transforms.Normalize instead of measuring them on the test images.",
        "Never estimate image normalization statistics on the test set; derive them from the train split only.",
        "Switch channel_stats to read the train manifest so test images no longer shape the pixel normalisation.",
    ],
    "eval_loader_shuffled": [
        "Set shuffle=False on the evaluation DataLoader.",
        "Don't shuffle the val/test loader: the targets are read in file order, so the predictions must be too.",
        "Take the labels from the same batches as the logits instead of reading them from the split separately.",
        "Remove shuffle from the eval loader so predictions and labels stay aligned.",
        "Keep the evaluation data in its original order when scoring.",
    ],
}
DUPLICATE_SOURCE_PARAPHRASES = [
    "Deduplicate by source id before splitting so copies of one item cannot end up in different splits.",
    "Use GroupShuffleSplit with groups=source_id so all augmented copies of an image stay on one side.",
    "Assign whole source groups to a split (group k-fold on source_id).",
    "Split by source: every derived sample goes to the same split as its parent item.",
    "Drop near-duplicates of the same source item, keeping one copy per source, then split.",
]
