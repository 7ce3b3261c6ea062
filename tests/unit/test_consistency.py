"""Cross-artifact consistency of generated scenarios: 1,000 seeds per task, every invariant, every seed.

The checker re-derives everything from the rendered artifacts (YAML/JSON parsers, regexes over
train.log, an independent learning-rate schedule), not from generator internals, so it catches
artifacts that disagree with each other. A planted fault breaks exactly the invariants its mechanism
breaks (a metric swap makes eval_results' val block the test split's), and the checker expects that.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable

import pytest
import yaml

from mlopsdebug_common.domain import CHECK_STATUSES, SANITY_CHECKS, Scenario
from mlopsdebug_common.faults import ARTIFACT_FILES, FAULTS
from mlopsdebug_common.rpc import MAX_MESSAGE_BYTES
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASK_ORDER, TASKS
from mlopsdebug_common.validation import STEP_BATCH_MAX_STEPS
from mlopsdebug_generator import core

SEEDS_PER_TASK = 1000
# A StepBatch is applied before its response is sent, so the response must always fit in a message:
# the largest batch of full-artifact reads, with room for the rest of each observation.
ARTIFACT_MAX_BYTES = MAX_MESSAGE_BYTES // STEP_BATCH_MAX_STEPS - 16 * 1024
SEALER = Sealer(b"consistency-test-secret-0123456789")
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Words that would give the fault away: substrings anywhere (case-insensitive), plus words that are
# matched at a word start so that "debug" or "default" do not count as "bug" or "fault".
HINT_SUBSTRINGS = (
    "leak", "mismatch", "swap", "drift", "wrong", "overflow", "explod", "incorrect", "stale", "invert",
    "contaminat", "corrupt", *FAULTS,
)
HINT_WORDS = re.compile(r"\b(?:bug|fault|planted|fixme|todo|hack|oops|broken|mistake)")


def hint_in(text: str) -> str | None:
    """The first hint word in `text`, or None."""
    lowered = text.lower()
    for word in HINT_SUBSTRINGS:
        if word in lowered:
            return word
    match = HINT_WORDS.search(lowered)
    return match.group(0) if match else None

EPOCHS_PATH = {"sections": "training.epochs", "lightning": "trainer.max_epochs", "nested": "train.epochs"}
LOG_EVERY_PATH = {
    "sections": "training.log_every_n_steps",
    "lightning": "trainer.log_every_n_steps",
    "nested": "train.log_interval",
}
BATCH_PATH = {"sections": "data.batch_size", "lightning": "data.batch_size", "nested": "train.batch_size"}
LR_PATH = {"sections": "optimizer.learning_rate", "lightning": "model.optimizer.lr", "nested": "train.optim.lr"}
OPTIMIZER_PATH = {"sections": "optimizer", "lightning": "model.optimizer", "nested": "train.optim"}
SCHEDULE_PATH = {"sections": "scheduler", "lightning": "model.lr_scheduler", "nested": "train.schedule"}
DROP_LAST_PATH = {"sections": "data.drop_last", "lightning": "data.drop_last", "nested": "train.drop_last"}
CAP_PATH = {"sections": "data.max_train_samples", "lightning": "data.max_train_samples", "nested": "train.max_samples"}

RE_DATA = re.compile(r"data: dataset (\S+) snapshot (\S+): train=([\d,]+) val=([\d,]+) test=([\d,]+) classes=(\d+)")
RE_OPTIM = re.compile(r"optim: (\w+) lr=(\S+)")
RE_MOMENTUM = re.compile(r" momentum=(\S+)")
RE_SCHED = re.compile(r"optim: (\w+) schedule .* total_steps=([\d,]+)")
RE_TRAINER = re.compile(
    r"trainer: epochs=(\d+) batch_size=(\d+) drop_last=(True|False) steps_per_epoch=([\d,]+) .* log_every_n_steps=(\d+)"
)
RE_MODEL = re.compile(r"model: (\S+) pretrained=(True|False) params=([\d,]+)")
RE_STEP = re.compile(
    r"train: epoch (\d+)/(\d+) step (\d+)/(\d+) global_step=([\d,]+) loss=(\S+) lr=(\S+) grad_norm=(\S+)$"
)
RE_NAN = re.compile(r"loss is nan at epoch (\d+)/(\d+) step (\d+)/(\d+) global_step=([\d,]+)")
RE_EPOCH = re.compile(
    r"train: epoch (\d+)/(\d+) done train_loss=(\S+) train_acc=(\S+) val_loss=(\S+) val_acc=(\S+)"
    r"(?: val_macro_f1=(\S+))? lr=(\S+) grad_norm=(\S+) time=(\S+)s$"
)
RE_INIT = re.compile(r"eval: epoch 0/(\d+) val_loss=(\S+) val_acc=(\S+) \(before training\)")
RE_CKPT = re.compile(r"ckpt: saved checkpoints/epoch=(\d+)-val_loss=(\S+)\.ckpt")
RE_FINISH = re.compile(r"finished status=(\w+) epochs=(\d+)/(\d+) best_epoch=(\d+) wall_clock=(\S+)s$")
RE_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) (INFO|WARNING|ERROR)\s+\S+: ")
RE_TOKENIZER = re.compile(r"data: tokenizer (\S+)/(\S+) vocab_size=([\d,]+) max_length=(\d+)")


def dig(doc: dict, path: str):
    for part in path.split("."):
        doc = doc[part]
    return doc


def num(text: str) -> int:
    return int(text.replace(",", ""))


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def reference_lr(schedule: dict, peak: float, step: int, steps_per_epoch: int, total: int) -> float:
    """The learning rate at 0-based `step`, written independently of the generator from the config."""
    kind = schedule.get("name") or schedule.get("type")
    warm = schedule.get("warmup_steps", 0)
    if kind == "onecycle":
        up = max(1.0, schedule["pct_start"] * total - 1.0)
        initial = peak / schedule["div_factor"]
        final = initial / schedule["final_div_factor"]
        if step <= up:
            pct = step / up
            return peak + (initial - peak) / 2.0 * (math.cos(math.pi * pct) + 1.0)
        pct = min(1.0, (step - up) / max(1.0, total - 1.0 - up))
        return final + (peak - final) / 2.0 * (math.cos(math.pi * pct) + 1.0)
    factor = min(1.0, (step + 1) / warm) if warm else 1.0
    if kind == "cosine":
        floor = schedule.get("min_lr", schedule.get("eta_min", schedule.get("final_lr")))
        if step < warm:
            return peak * factor
        progress = min(1.0, max(0.0, (step - warm) / max(1.0, total - warm)))
        return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if kind == "linear":
        if step < warm:
            return peak * factor
        return peak * min(1.0, max(0.0, (total - step) / max(1.0, total - warm)))
    epoch = step // max(1, steps_per_epoch)
    if schedule.get("interval") == "step":  # Lightning steps the scheduler after every optimizer step
        epoch = step
    if kind == "step":
        return peak * factor * schedule["gamma"] ** (epoch // schedule["step_size"])
    if kind == "exponential":
        return peak * factor * schedule["gamma"] ** epoch
    return peak * factor


class ParsedLog:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        body = "\n".join(self.lines)
        self.data = RE_DATA.search(body)
        self.optim = RE_OPTIM.search(body)
        self.sched = RE_SCHED.search(body)
        self.trainer = RE_TRAINER.search(body)
        self.model = RE_MODEL.search(body)
        self.init = RE_INIT.search(body)
        self.finish = RE_FINISH.search(body)
        self.tokenizer = RE_TOKENIZER.search(body)
        self.steps = [m for line in self.lines if (m := RE_STEP.search(line))]
        self.nan = RE_NAN.search(body)
        self.epochs = [m for line in self.lines if (m := RE_EPOCH.search(line))]
        self.ckpts = [m for line in self.lines if (m := RE_CKPT.search(line))]
        self.momentum = RE_MOMENTUM.search(self.optim.string[self.optim.start():].splitlines()[0]) if self.optim else None


def _float(text: str) -> float:
    return math.nan if text == "nan" else float(text)


RE_OVERRIDES_LOG = re.compile(r"config overrides from preprocessing\.(\w+): (.*)$", re.MULTILINE)
RE_DROPOUT_LOG = re.compile(r"model: \S+ pretrained=\S+ params=\S+ dropout=(\S+)")


def apply_code_overrides(config: dict, code: str, log_text: str, expect: Callable[[bool, str], None]) -> dict:
    """Version 3: the dict of dotted config keys in preprocessing.py that train.py applies over config.yaml
    (the log names it and lists its keys); returns the entries, and applies them to `config` in place."""
    named = RE_OVERRIDES_LOG.search(log_text)
    if named is None:
        return {}
    block = re.search(rf"^{named.group(1)} = (\{{.*?^\}})", code, re.MULTILINE | re.DOTALL)
    expect(block is not None, "overrides named in the log but not in the code")
    if block is None:
        return {}
    entries = ast.literal_eval(block.group(1))
    expect(list(entries) == named.group(2).split(", "), "override keys: code vs log")
    for dotted, value in entries.items():
        *parents, leaf = dotted.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return entries


def check_scenario(scenario: Scenario) -> list[str]:
    """Every cross-artifact invariant of one scenario; returns the violations."""
    problems: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    key = SEALER.open(scenario.answer_key)
    fault = key.fault_id
    arts = {a.name: a for a in scenario.artifacts}
    expect(tuple(arts) == ARTIFACT_FILES, "artifacts out of order")
    expect(tuple(c.check for c in scenario.sanity_checks) == SANITY_CHECKS, "checks out of order")
    for name, doc in arts.items():
        size = len(doc.content.encode())
        expect(size <= ARTIFACT_MAX_BYTES, f"{name} is {size:,} bytes: a full StepBatch of reads could overflow")
    checks = {c.check: c for c in scenario.sanity_checks}
    for c in scenario.sanity_checks:
        expect(c.status in CHECK_STATUSES, f"{c.check}: bad status {c.status}")
        expect(all(isinstance(v, float) and math.isfinite(v) for v in c.metrics.values()), f"{c.check}: metrics")
        expect(len(c.details) <= 20, f"{c.check}: too many details")

    config = yaml.load(arts["config.yaml"].content, Loader=YAML_LOADER)  # noqa: S506 - YAML_LOADER is a safe loader
    stats = json.loads(arts["dataset_stats.json"].content)
    results = json.loads(arts["eval_results.json"].content)
    card = json.loads(arts["model_card.json"].content)
    log = ParsedLog(arts["train.log"].content)
    code = arts["preprocessing.py"].content
    summary = scenario.run_summary
    layout = "lightning" if "trainer" in config else ("nested" if "train" in config else "sections")
    # What the run used: config.yaml with preprocessing.py's overrides (version 3) applied.
    overrides = apply_code_overrides(config, code, arts["train.log"].content, expect)
    dropout_logged = RE_DROPOUT_LOG.search(arts["train.log"].content)
    if dropout_logged is not None:
        expect(close(float(dropout_logged.group(1)), float(dig(config, "model.dropout"))), "dropout: config vs log")

    # --- answer key: the field really exists where the key says, with the key's bad value --------------
    spec = FAULTS[fault]
    expect(fault in TASKS[scenario.task_id].fault_pool, "fault outside the task pool")
    expect(key.category == spec.category, "category")
    expect(set(spec.params) <= set(key.params), "answer key params")
    expect(key.field not in key.field_aliases and len(set(key.field_aliases)) == len(key.field_aliases), "aliases")
    expect(all(isinstance(v, (str, int, float, bool)) for v in key.params.values()), "params are JSON scalars")
    named = RE_OVERRIDES_LOG.search(arts["train.log"].content)
    in_overrides = [a[len(key.field) + 1:] for a in key.field_aliases if a.startswith(key.field + ".")]
    in_overrides = in_overrides if named is not None and named.group(1) == key.field else []
    if key.file == "config.yaml" and "bad_value" not in key.params:  # an evaluation setting read from config.yaml
        expect(dig(config, key.field) in (True, "weighted", "test"), "config evaluation setting is not the planted one")
    elif key.file == "preprocessing.py" and in_overrides:  # a config value set in the code's overrides
        expect(len(in_overrides) == 1 and in_overrides[0] in overrides, "overridden field not in the overrides")
        value, bad = dig(config, in_overrides[0]), key.params["bad_value"]
        expect(value == bad if isinstance(bad, str) else close(float(value), float(bad)), "override != bad_value")
    elif key.file == "config.yaml":
        value, bad = dig(config, key.field), key.params["bad_value"]
        if isinstance(bad, str):  # a setting such as a scheduler interval
            expect(value == bad, "config field != bad_value")
        else:
            expect(close(float(value), float(bad)), "config field != bad_value")
    else:
        expect(key.file == "preprocessing.py", "file")
        expect(re.search(rf"(?<![\w.]){re.escape(key.field)}(?!\w)", code) is not None, f"field {key.field} not in code")

    # --- config <-> train.log header <-> model card ----------------------------------------------------
    lr = float(dig(config, LR_PATH[layout]))
    expect(log.optim is not None and close(float(log.optim.group(2)), lr), "lr: config vs log")
    expect(close(card["training"]["learning_rate"], lr), "lr: config vs model card")
    optim_cfg = dig(config, OPTIMIZER_PATH[layout])
    if "momentum" in optim_cfg:
        expect(log.momentum is not None and close(float(log.momentum.group(1)), float(optim_cfg["momentum"])), "momentum")
    batch = int(dig(config, BATCH_PATH[layout]))
    epochs = int(dig(config, EPOCHS_PATH[layout]))
    log_every = int(dig(config, LOG_EVERY_PATH[layout]))
    drop_last = bool(dig(config, DROP_LAST_PATH[layout]))
    trainer = log.trainer
    expect(trainer is not None, "trainer header")
    if trainer is None:
        return problems
    expect(int(trainer.group(1)) == epochs == card["training"]["epochs_planned"] == summary.epochs_planned, "epochs")
    expect(int(trainer.group(2)) == batch == card["training"]["batch_size"], "batch size")
    expect((trainer.group(3) == "True") == drop_last, "drop_last")
    expect(int(trainer.group(5)) == log_every, "log_every_n_steps")
    num_classes = int(dig(config, "model.num_classes"))
    expect(num_classes == stats["num_classes"] == len(stats["label_map"]) == len(card["id2label"]), "num_classes")
    expect(log.model is not None and num(log.model.group(3)) == card["parameters"], "parameter count")
    expect(log.model.group(1) == card["architecture"] == summary.model, "architecture")

    # --- settings that several artifacts repeat ---------------------------------------------------------
    snapshot = stats["snapshot"]
    expect(snapshot == card["dataset"]["snapshot"] == log.data.group(2) and snapshot in arts["config.yaml"].content, "snapshot")
    expect(optim_cfg.get("name", optim_cfg.get("type")).lower() == log.optim.group(1).lower() == card["training"]["optimizer"].lower(), "optimizer")
    expect(card["training"]["precision"] == results["eval_config"]["precision"] and f"precision={card['training']['precision']}" in trainer.group(0), "precision")
    schedule_cfg = dig(config, SCHEDULE_PATH[layout])
    schedule_name = schedule_cfg.get("name") or schedule_cfg.get("type")
    expect(card["training"]["scheduler"] == schedule_name == log.sched.group(1), "scheduler")
    expect((log.model.group(2) == "True") == bool(dig(config, "model.pretrained")) == bool(card["pretrained"]), "pretrained")
    eval_batch = config["eval"]["batch_size"] if "eval" in config else config["data"]["eval_batch_size"]
    expect(results["eval_config"]["batch_size"] == eval_batch, "eval batch size")
    seed_cfg = {"sections": "experiment.seed", "lightning": "seed_everything", "nested": "run.seed"}[layout]
    seed_cfg = dig(config, seed_cfg)
    expect(f" seed={seed_cfg}" in arts["train.log"].content and f"SEED = {seed_cfg}" in code, "seed")
    if summary.modality == "text":
        max_length = dig(config, "data.max_length" if layout != "nested" else "dataset.max_length")
        expect(max_length == stats["preprocessing"]["max_length"] == card["tokenizer"]["max_length"] == results["inputs"]["max_length"], "max_length")
        expect(f"MAX_LENGTH = {max_length}" in code, "max_length in code")
    if summary.modality == "vision":
        size = dig(config, "data.image_size" if layout != "nested" else "dataset.image_size")
        expect(stats["features"]["image_size"] == [size, size] and f"IMAGE_SIZE = {size}" in code, "image size")
    if "group_key" in stats:
        groups = [stats["splits"][name]["n_groups"] for name in ("train", "val", "test")]
        shared = checks["data_leakage"].metrics["shared_groups_train_val"]
        expect(sum(groups) - shared == stats["n_unique_groups"], "unique groups")

    # --- split sizes: stats <-> log header <-> model card <-> steps per epoch ----------------------------
    splits = stats["splits"]
    sizes = [splits[s]["n_samples"] for s in ("train", "val", "test")]
    expect(log.data is not None and [num(log.data.group(i)) for i in (3, 4, 5)] == sizes, "split sizes: stats vs log")
    expect([card["dataset"]["splits"][s] for s in ("train", "val", "test")] == sizes, "split sizes: stats vs card")
    expect(int(log.data.group(6)) == num_classes, "classes in log header")
    for name in ("train", "val", "test"):
        expect(sum(splits[name]["class_counts"].values()) == splits[name]["n_samples"], f"class counts of {name}")
    cap = dig(config, CAP_PATH[layout])
    if cap is not None:
        expect(sizes[0] <= cap, "train split exceeds max_train_samples")
    if "subsampled_from" in splits["train"]:
        expect(sizes[0] == cap and splits["train"]["subsampled_from"] > cap, "subsampled train")
    n_train = sizes[0]
    spe = n_train // batch if drop_last else math.ceil(n_train / batch)
    expect(num(trainer.group(4)) == spe, f"steps_per_epoch {trainer.group(4)} != {spe}")
    expect(log.sched is not None and num(log.sched.group(2)) == spe * epochs, "total_steps")
    # Oversampling repeats rows within a split: version 2 tabular stats count each split's distinct ids.
    distinct = [splits[s].get("n_unique_ids", splits[s]["n_samples"]) for s in ("train", "val", "test")]
    expect(all(d <= n for d, n in zip(distinct, sizes, strict=True)), "distinct ids per split")
    expect(sum(distinct) - stats["n_unique_ids"] == checks["data_leakage"].metrics["shared_ids_train_val"], "shared ids")
    resampling = stats.get("preprocessing", {}).get("resampling")
    expect((resampling is not None) == ("RandomOverSampler(" in code), "oversampling in stats and code")
    expect(distinct[1:] == sizes[1:] or fault in ("oversample_before_split", "join_duplicate_rows"), "val/test rows are distinct")
    expect((distinct[2] < sizes[2]) == (fault == "join_duplicate_rows"), "repeated test rows")
    if resampling is not None:
        before_split = resampling["n_rows_out"] == sizes[1] + splits["train"].get("subsampled_from", sizes[0])
        expect(before_split == (fault == "oversample_before_split"), "oversampling scope")
    label_map = stats["label_map"]
    generic = card["id2label"] == {str(i): f"LABEL_{i}" for i in range(len(label_map))}  # version 4: no class names
    expect(generic or {str(v): k for k, v in label_map.items()} == card["id2label"], "label map vs id2label")

    # --- logged steps: positions and the learning-rate schedule -------------------------------------------
    schedule = dig(config, SCHEDULE_PATH[layout])
    for m in log.steps:
        epoch, step, global_step = int(m.group(1)), int(m.group(3)), num(m.group(5))
        expect(global_step == (epoch - 1) * spe + step and global_step % log_every == 0, "step position")
        expected_lr = reference_lr(schedule, lr, global_step - 1, spe, spe * epochs)
        expect(close(float(m.group(7)), expected_lr, rel=2e-3, abs_=1e-12), f"lr at step {global_step}")
    if log.nan:
        expect(summary.training_status == "diverged", "nan line without divergence")

    # --- epochs, checkpoints, early stopping, final line -------------------------------------------------
    finish = log.finish
    expect(finish is not None, "finished line")
    completed = int(finish.group(2))
    best_epoch = int(finish.group(4))
    expect(finish.group(1) == summary.training_status == card["training"]["status"], "status")
    expect(completed == len(log.epochs) == summary.epochs_completed == card["training"]["epochs_completed"], "epochs completed")
    expect(best_epoch == card["training"]["best_epoch"], "best epoch")
    expect(close(float(finish.group(5)), summary.wall_clock_seconds) and close(card["training"]["wall_clock_seconds"], summary.wall_clock_seconds), "wall clock")
    val_losses = [float(m.group(5)) for m in log.epochs]
    if val_losses:
        expect(best_epoch == 1 + val_losses.index(min(val_losses)), "best epoch is the lowest val loss")
        running = math.inf
        improving = []
        for i, v in enumerate(val_losses, start=1):
            if v < running:
                running = v
                improving.append(i)
        expect([int(m.group(1)) for m in log.ckpts] == improving, "checkpoints at improvements")
        expect(results["checkpoint"] == f"checkpoints/epoch={best_epoch:02d}-val_loss={min(val_losses):.4f}.ckpt", "eval checkpoint")
        expect(close(summary.final_val_loss, val_losses[-1]) or summary.training_status == "diverged", "final val loss")
    else:
        expect(results["checkpoint"] == "checkpoints/last.ckpt", "no epoch: last checkpoint")
    # Early stopping fires exactly where the val-loss curve says (patience epochs without a min_delta gain).
    stop = re.search(r"early_stopping: val_loss did not improve by more than (\S+) for (\d+) epochs .* stopping at epoch (\d+)/", arts["train.log"].content)
    if stop:
        min_delta, patience, at = float(stop.group(1)), int(stop.group(2)), int(stop.group(3))
        expect(at == completed and summary.training_status == "early_stopped", "early stop epoch")
        best_so_far, since, fired = math.inf, 0, 0
        for i, v in enumerate(val_losses, start=1):
            since = 0 if v < best_so_far - min_delta else since + 1
            best_so_far = min(best_so_far, v)
            if since >= patience:
                fired = i
                break
        expect(fired == at, f"early stopping at {at}, the curve says {fired}")
    steps_taken = spe > 0
    if not steps_taken:
        expect(all(m.group(3) == "nan" for m in log.epochs) and len(set(val_losses)) <= 1, "zero-step epochs")

    # --- evaluation: internal consistency of each split block -------------------------------------------
    metrics = results["metrics"]
    for name in ("val", "test"):
        block = metrics[name]
        per_class = block["per_class"]
        expect(list(per_class) == results["class_names"], f"{name}: per-class order")
        expect(sum(c["support"] for c in per_class.values()) == block["n_samples"], f"{name}: supports")
        expect(sum(c["predicted"] for c in per_class.values()) == block["n_samples"], f"{name}: predictions")
        correct = sum(round(c["recall"] * c["support"]) for c in per_class.values())
        expect(abs(correct / block["n_samples"] - block["accuracy"]) < 1e-3, f"{name}: accuracy vs per-class recall")
        mean_f1 = sum(c["f1"] for c in per_class.values()) / len(per_class)
        if fault == "weighted_f1_as_macro":  # the support-weighted mean, under the macro name
            weighted = sum(c["f1"] * c["support"] for c in per_class.values()) / block["n_samples"]
            expect(abs(weighted - block["macro_f1"]) < 1e-3, f"{name}: weighted F1 as macro F1")
        else:
            expect(abs(mean_f1 - block["macro_f1"]) < 1e-3, f"{name}: macro F1")
    expect(sorted(results["class_names"]) == sorted(label_map), "evaluation class set")
    for name in ("val", "test"):
        for m in ("accuracy", "macro_f1"):
            expect(card["metrics"][name][m] == metrics[name][m], f"model card {name} {m}")
    primary = results["primary_metric"]
    expect(summary.val_metric == metrics["val"][primary] and summary.test_metric == metrics["test"][primary], "run summary metrics")

    swapped = fault == "silent_metric_swap"
    order = ("test", "val") if swapped else ("val", "train" if fault == "eval_on_train_split" else "test")
    supports = {n: c["support"] for n, c in metrics["test"]["per_class"].items()}
    if fault == "eval_drop_last":  # whole batches only: at most one batch short, never more rows than the split
        for name in ("val", "test"):
            rows, scored = splits[name]["n_samples"], metrics[name]["n_samples"]
            batch = 256 if scenario.run_summary.modality == "vision" else 128
            expect(scored <= rows and scored % batch == 0 and rows - scored < batch, f"eval {name} size in whole batches")
    else:
        expect(metrics["val"]["n_samples"] == splits[order[0]]["n_samples"], "eval val size")
        expect(metrics["test"]["n_samples"] == splits[order[1]]["n_samples"], "eval test size")
        expect(supports == splits[order[1]]["class_counts"], "eval test supports vs class counts")
    relabelled = fault == "label_encoder_mismatch"
    expect((results["class_names"] != list(label_map)) == relabelled, "class order vs training")
    if best_epoch and val_losses:
        best_line = log.epochs[best_epoch - 1]
        log_val_acc = float(best_line.group(6))
        reported_val = metrics["test"] if swapped else metrics["val"]
        # Random evaluation transforms: evaluation's pass over val differs from the one the log recorded.
        if fault in ("label_encoder_mismatch", "tokenizer_version_drift", "eval_in_train_mode", "eval_random_augmentation",
                     "eval_loader_shuffled"):
            expect(abs(metrics["val"]["accuracy"] - log_val_acc) > 0.002, "eval recomputation should differ")
        elif fault == "eval_drop_last":
            pass  # a subset of val: close to the log's value, not equal
        elif fault == "weighted_f1_as_macro":
            expect(reported_val["accuracy"] == log_val_acc, "eval val accuracy vs log best epoch")
        else:
            expect(reported_val["accuracy"] == log_val_acc, "eval val accuracy vs log best epoch")
            expect(reported_val["loss"] == float(best_line.group(5)), "eval val loss vs log best epoch")
            if best_line.group(7):
                expect(reported_val["macro_f1"] == float(best_line.group(7)), "eval val macro F1 vs log")
        gap = checks["metric_gap_analysis"].metrics
        expect(gap["val_accuracy"] == metrics["val"]["accuracy"] and gap["test_accuracy"] == metrics["test"]["accuracy"], "gap check numbers")
        expect(gap["train_log_best_val_accuracy"] == log_val_acc, "gap check log number")

    # --- modality-specific numbers shared by stats, results, card, log and checks --------------------------
    if summary.modality == "text":
        pre = stats["preprocessing"]
        expect(card["tokenizer"]["version"] == pre["tokenizer_version"] == log.tokenizer.group(2), "tokenizer version")
        expect(card["tokenizer"]["vocab_size"] == pre["vocab_size"] == num(log.tokenizer.group(3)), "vocab size")
        drift = fault == "tokenizer_version_drift"
        inputs = results["inputs"]
        if "tokenizer_version" not in inputs:  # version 4: an evaluation job may record the tokenizer's path only
            expect(set(inputs) == {"tokenizer", "max_length"}, "eval inputs: the tokenizer's path only")
        else:
            expect((inputs["tokenizer_version"] != pre["tokenizer_version"]) == drift, "eval tokenizer version")
            feats = stats["features"]
            same = (
                inputs["val"]["mean_tokens"] == feats["tokens_per_sample"]["val"]["mean"]
                and inputs["val"]["unk_rate"] == feats["unk_rate"]["val"]
            )
            expect(same != drift, "eval-time tokenization of val")
    if summary.modality == "tabular":
        scaler = stats["preprocessing"]["scaler"]
        seen = checks["feature_statistics"].metrics.get("scaler_samples_seen", scaler["n_samples_seen"])  # v3: may be unknown
        expect(seen == scaler["n_samples_seen"], "scaler rows")
        fitted_on_train = scaler["n_samples_seen"] == sizes[0]
        expect(fitted_on_train != (fault == "data_leakage_scaler"), "scaler fit scope")
        if fitted_on_train:
            std = stats["features"]["standardized"]["train"]
            expect(set(std["mean"].values()) == {0.0} and set(std["std"].values()) == {1.0}, "standardized train stats")
        association = stats["features"].get("target_association")
        joined = stats["features"].get("joined_columns", {})
        if association is not None:
            expect(set(association) == set(stats["features"]["numeric"]) | set(joined), "association per input")
            encoded = [f for f, v in association.items() if min(v["train"], v["val"]) >= 0.8]
            expect(bool(encoded) == (fault == "target_derived_feature"), "an input encoding the label")
        for column, entry in joined.items():
            table = entry["source"].removesuffix(".parquet")
            read = f'load_table("{table}")' in code or f'DATA_DIR / "{table}.parquet"' in code
            expect(read and f'"{column}",' in code, "joined column in code")
    if summary.modality == "vision" and "eval_transforms" in stats["preprocessing"]:
        random_eval = any(op.startswith("Random") for op in stats["preprocessing"]["eval_transforms"])
        expect(random_eval == (fault == "eval_random_augmentation"), "random evaluation transforms")
        body = code[code.index("def eval_transform"):].split("\n\n\n")[0]
        flag = re.search(r"if (CONFIG\[[^\n]*\]):", body)
        if flag:  # version 3: a config.yaml flag picks the training transform
            path = ".".join(re.findall(r'\["(\w+)"\]', flag.group(1)))
            expect(bool(dig(config, path)) == random_eval, "eval_transform flag vs stats")
        else:
            expect(("Random" in body or "train_transform()" in body) == random_eval, "eval_transform code vs stats")
        normalize = stats["preprocessing"]["normalize"]["mean"]
        from_test = normalize == stats["features"]["pixel_mean"]["test"] != stats["features"]["pixel_mean"]["train"]
        expect(from_test == (fault == "normalization_from_test"), "normalisation statistics from the test images")
        configured = 'channel_stats(CONFIG[' in code and dig(config, {"nested": "dataset"}.get(layout, "data") + ".normalize_stats") == "test"
        expect(from_test == ('channel_stats("test")' in code or configured), "normalisation source in code")
        expect(('MEAN = (' in code) != ("def channel_stats" in code), "normalisation constants or computed")
    cb = checks["class_balance"].metrics
    expect(cb["train_samples"] == sizes[0] and cb["val_samples"] == sizes[1], "class balance sizes")
    lc = checks["label_consistency"].metrics
    differing = sum(1 for i, n in enumerate(results["class_names"]) if card["id2label"][str(i)] != n)
    if generic:
        expect("indices_differing" not in lc and checks["label_consistency"].status != "pass", "generic labels unverified")
    else:
        expect(lc["indices_differing"] == differing, "label consistency count")

    # --- run summary and clocks ---------------------------------------------------------------------------
    expect(summary.dataset == stats["dataset"] == card["dataset"]["name"] == log.data.group(1), "dataset name")
    expect(summary.run_id == results["run_id"] == card["run_id"], "run id")
    expect(re.fullmatch(r"run-\d{8}-[0-9a-f]{8}", summary.run_id) is not None, "run id format")
    expect(summary.run_id[4:12] == summary.started_at[:10].replace("-", ""), "run id date")
    expect(re.fullmatch(r"scn-[0-9a-f]{24}", scenario.scenario_id) is not None, "scenario id format")
    expect(scenario.answer_key.scenario_id == scenario.scenario_id, "sealed key scenario")
    stamps = []
    for line in log.lines:
        m = RE_STAMP.match(line)
        expect(m is not None, f"log line format: {line[:60]}")
        if m:
            stamps.append(f"{m.group(1)},{m.group(2)}")
    expect(stamps == sorted(stamps), "log timestamps are monotonic")
    expect(stamps and stamps[0][:19].replace(" ", "T") + "Z" == summary.started_at, "first log line is the start")
    modified = [arts[n].last_modified for n in ("preprocessing.py", "config.yaml")]
    expect(modified[0] <= modified[1] <= summary.started_at, "code and config predate the run")
    later = [summary.started_at] + [arts[n].last_modified for n in ("dataset_stats.json", "train.log", "eval_results.json", "model_card.json")]
    expect(later == sorted(later), "artifact times follow the run")
    expect(arts["train.log"].last_modified[:16] == stamps[-1][:16].replace(" ", "T"), "train.log mtime is its last line")

    # --- nothing names the fault --------------------------------------------------------------------------
    texts = [a.content for a in scenario.artifacts] + [a.description for a in scenario.artifacts]
    texts += [scenario.scenario_id, summary.run_id, summary.model, summary.dataset]
    for c in scenario.sanity_checks:
        texts += [c.summary, *c.details, *c.metrics]
    for text in texts:
        hit = hint_in(text)
        if hit:
            at = text.lower().find(hit)
            problems.append(f"hint word {hit!r} in: ...{text[max(0, at - 40):at + 40]}...")
            break
    return problems


def _scan(task_id: str, seeds: range, check: Callable[[Scenario], list[str]]) -> dict[int, list[str]]:
    failures: dict[int, list[str]] = {}
    for seed in seeds:
        problems = check(core.generate_scenario(task_id, seed, sealer=SEALER))
        if problems:
            failures[seed] = problems
    return failures


class TestConsistencyChecker:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_every_invariant_holds_for_1000_seeds(self, task_id):
        """All cross-artifact invariants and the hint-word scan pass for 1,000 consecutive seeds."""
        failures = _scan(task_id, range(SEEDS_PER_TASK), check_scenario)
        shown = {seed: problems[:3] for seed, problems in list(failures.items())[:5]}
        assert not failures, f"{len(failures)} of {SEEDS_PER_TASK} {task_id} scenarios inconsistent: {shown}"

    def test_checker_catches_a_disagreeing_artifact(self):
        """The checker is not vacuous: editing one number in one artifact is reported."""
        scenario = core.generate_scenario("easy", 5, sealer=SEALER)
        log = scenario.artifact("train.log")
        tampered_log = re.sub(r"(optim: \w+ lr=)(\S+)", lambda m: m.group(1) + repr(float(m.group(2)) * 3), log.content)
        swapped = tuple(
            a if a.name != "train.log" else type(a)(a.name, tampered_log, a.description, a.last_modified)
            for a in scenario.artifacts
        )
        import dataclasses

        problems = check_scenario(dataclasses.replace(scenario, artifacts=swapped))
        assert "lr: config vs log" in problems

    def test_checker_catches_a_hint_word(self):
        """A comment naming the problem in preprocessing.py is reported by the scan."""
        import dataclasses

        scenario = core.generate_scenario("medium", 3, sealer=SEALER)
        arts = tuple(
            dataclasses.replace(a, content=a.content + "# the split here is wrong\n") if a.name == "preprocessing.py" else a
            for a in scenario.artifacts
        )
        problems = check_scenario(dataclasses.replace(scenario, artifacts=arts))
        assert any(p.startswith("hint word 'wrong'") for p in problems)
