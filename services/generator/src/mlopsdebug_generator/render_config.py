"""config.yaml in one of three layouts, emitted by hand (deterministic and fast; tests round-trip it).

Layouts: "sections" (experiment/model/data/optimizer/scheduler/training/eval), "lightning" (a
LightningCLI file: trainer/model.optimizer/model.lr_scheduler/data) and "nested" (run/model/dataset/
train.optim/train.schedule/eval). The dotted paths of the three config faults differ per layout.
"""

from __future__ import annotations

import re

from mlopsdebug_generator import catalog
from mlopsdebug_generator.world import World

# Dotted path of each config field per layout, and the names an engineer may use for the same field.
FIELD_PATHS: dict[str, dict[str, str]] = {
    "learning_rate": {"sections": "optimizer.learning_rate", "lightning": "model.optimizer.lr", "nested": "train.optim.lr"},
    "momentum": {"sections": "optimizer.momentum", "lightning": "model.optimizer.momentum", "nested": "train.optim.momentum"},
    "batch_size": {"sections": "data.batch_size", "lightning": "data.batch_size", "nested": "train.batch_size"},
    "weight_decay": {
        "sections": "optimizer.weight_decay", "lightning": "model.optimizer.weight_decay",
        "nested": "train.optim.weight_decay",
    },
    "dropout": {"sections": "model.dropout", "lightning": "model.dropout", "nested": "model.dropout"},
    "warmup_steps": {
        "sections": "scheduler.warmup_steps", "lightning": "model.lr_scheduler.warmup_steps",
        "nested": "train.schedule.warmup_steps",
    },
    "scheduler_interval": {
        "sections": "scheduler.interval", "lightning": "model.lr_scheduler.interval", "nested": "train.schedule.interval",
    },
    "grad_scaler": {"sections": "training.grad_scaler", "lightning": "trainer.grad_scaler", "nested": "train.grad_scaler"},
}
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "learning_rate": (
        "optimizer.learning_rate", "optimizer.lr", "model.optimizer.lr", "train.optim.lr", "optim.lr",
        "learning_rate", "lr",
    ),
    "momentum": (
        "optimizer.momentum", "model.optimizer.momentum", "train.optim.momentum", "optim.momentum", "momentum",
        "sgd.momentum",
    ),
    "batch_size": (
        "data.batch_size", "train.batch_size", "training.batch_size", "dataloader.batch_size", "batch_size",
        "train_batch_size",
    ),
    "weight_decay": (
        "optimizer.weight_decay", "model.optimizer.weight_decay", "train.optim.weight_decay", "optim.weight_decay",
        "weight_decay", "wd",
    ),
    "dropout": ("model.dropout", "dropout", "model.dropout_rate", "dropout_rate", "hidden_dropout_prob"),
    "warmup_steps": (
        "scheduler.warmup_steps", "model.lr_scheduler.warmup_steps", "train.schedule.warmup_steps",
        "lr_scheduler.warmup_steps", "schedule.warmup_steps", "warmup_steps", "num_warmup_steps", "warmup",
    ),
    "scheduler_interval": (
        "scheduler.interval", "model.lr_scheduler.interval", "train.schedule.interval", "lr_scheduler.interval",
        "schedule.interval", "interval",
    ),
    "grad_scaler": (
        "training.grad_scaler", "trainer.grad_scaler", "train.grad_scaler", "grad_scaler", "loss_scaling",
        "amp.grad_scaler", "scaler",
    ),
}

# Version 3: evaluation settings the evaluation code may read from config.yaml (World.eval_from_config).
EVAL_PATHS: dict[str, dict[str, str]] = {
    "shuffle": {"sections": "eval.shuffle", "lightning": "data.eval_shuffle", "nested": "eval.shuffle"},
    "f1_average": {"sections": "eval.f1_average", "lightning": "data.eval_f1_average", "nested": "eval.f1_average"},
    "drop_last": {"sections": "eval.drop_last", "lightning": "data.eval_loader_drop_last", "nested": "eval.drop_last"},
    "augment_eval": {"sections": "data.augment_eval", "lightning": "data.augment_eval", "nested": "dataset.augment_eval"},
    # Vision runs whose Normalize statistics are computed from a manifest: which one.
    "normalize_stats": {"sections": "data.normalize_stats", "lightning": "data.normalize_stats", "nested": "dataset.normalize_stats"},
}
EVAL_ALIASES: dict[str, tuple[str, ...]] = {
    "shuffle": ("eval.shuffle", "data.eval_shuffle", "eval_shuffle"),
    "f1_average": ("eval.f1_average", "data.eval_f1_average", "eval_f1_average", "f1_average"),
    "drop_last": ("eval.drop_last", "data.eval_loader_drop_last", "eval_loader_drop_last"),
    "normalize_stats": ("data.normalize_stats", "dataset.normalize_stats", "normalize_stats"),
    "augment_eval": ("data.augment_eval", "dataset.augment_eval", "augment_eval"),
}


def eval_settings(w: World) -> dict[str, object]:
    """The evaluation settings config.yaml holds when the evaluation code reads them from there."""
    settings: dict[str, object] = {"shuffle": w.eval_shuffle, "f1_average": w.macro_average, "drop_last": w.eval_drop_last}
    if w.modality == "vision":
        settings["augment_eval"] = bool(w.eval_augment)
    if w.modality == "vision" and w.norm_source:
        settings["normalize_stats"] = "test" if w.norm_source == "test" else "train"
    return settings


_PLAIN = re.compile(r"^[A-Za-z_./][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "none", "~", "y", "n"}


def yaml_float(x: float) -> str:
    """A float literal that YAML 1.1 (PyYAML) reads back as the same float."""
    if x == 0:
        return "0.0"
    if 1e-3 <= abs(x) < 1e6:
        text = repr(x)
        return text if ("." in text or "e" in text) else text + ".0"
    mantissa, exponent = f"{x:.6e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    sign = exponent[0]
    return f"{mantissa}e{sign}{int(exponent[1:]):02d}"


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_float(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_yaml(doc: dict, indent: int = 0) -> list[str]:
    """Block mappings, flow sequences of scalars; keys in insertion order."""
    lines: list[str] = []
    pad = "  " * indent
    for key, value in doc.items():
        if isinstance(value, dict):
            if value:
                lines.append(f"{pad}{key}:")
                lines.extend(emit_yaml(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {{}}")
        elif isinstance(value, (list, tuple)):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines


def _optimizer_block(w: World, lr_key: str, name_key: str) -> dict:
    block: dict = {name_key: w.optimizer, lr_key: w.lr}
    if w.optimizer == "sgd":
        block["momentum"] = w.momentum
        block["nesterov"] = w.nesterov
    elif w.optimizer == "rmsprop":
        block["momentum"] = w.momentum
        block["alpha"] = 0.99
        block["eps"] = 1e-8
    else:
        block["betas"] = list(w.betas)
        block["eps"] = 1e-8
    block["weight_decay"] = w.weight_decay
    return block


def _schedule_block(w: World, name_key: str, min_key: str) -> dict:
    s = w.schedule
    block: dict = {name_key: s.kind}
    if s.kind in ("cosine", "linear", "constant"):
        block["warmup_steps"] = s.warmup_steps
    if s.kind == "cosine":
        block[min_key] = s.min_lr
    elif s.kind == "step":
        block["step_size"] = s.step_size
        block["gamma"] = s.gamma
    elif s.kind == "exponential":
        block["gamma"] = s.gamma
    elif s.kind == "onecycle":
        block["pct_start"] = s.pct_start
        block["div_factor"] = s.div_factor
        block["final_div_factor"] = s.final_div_factor
    block["interval"] = "epoch" if s.kind in ("step", "exponential") else "step"
    if s.per_batch:
        block["interval"] = "step"
    return block


def _data_extras(w: World) -> dict:
    if w.modality == "vision":
        return {"image_size": w.vision_stats().image_size}
    if w.modality == "text":
        return {"max_length": w.text_stats().max_length}
    return {}


def _amp_fields(w: World) -> dict:
    """Version 2 lists whether fp16 training scales the loss (a GradScaler), next to the precision."""
    return {"grad_scaler": w.grad_scaler} if w.revision >= 2 else {}


def _early_stopping(w: World, metric_key: str) -> dict | None:
    if not w.patience:
        return None
    return {metric_key: "val_loss", "mode": "min", "patience": w.patience, "min_delta": w.min_delta}


def config_document(w: World) -> dict:
    ds = w.dataset
    metrics = ["accuracy", "macro_f1"]
    root = f"{ds.storage}/{w.snapshot}"
    if w.config_layout == "sections":
        return {
            "experiment": {"name": w.experiment, "seed": w.seed_cfg, "output_dir": f"runs/{w.experiment}", "tags": [w.team, ds.name]},
            "model": {"name": w.model.name, "pretrained": w.pretrained, "num_classes": len(w.classes), "dropout": w.dropout},
            "data": {
                "dataset": ds.name,
                "snapshot": w.snapshot,
                "root": root,
                "batch_size": w.batch_size,
                "num_workers": w.num_workers,
                "drop_last": w.drop_last,
                "max_train_samples": w.max_train_samples,
                **_data_extras(w),
            },
            "optimizer": _optimizer_block(w, "learning_rate", "name"),
            "scheduler": _schedule_block(w, "name", "min_lr"),
            "training": {
                "epochs": w.epochs,
                "precision": w.precision, **_amp_fields(w),
                "gradient_clip_norm": w.grad_clip,
                "log_every_n_steps": w.log_every,
                "early_stopping": _early_stopping(w, "monitor"),
                "checkpoint": {"monitor": "val_loss", "mode": "min", "save_top_k": 1},
            },
            "eval": {"batch_size": w.eval_batch_size, "splits": ["val", "test"], "metrics": metrics},
            "hardware": {"accelerator": "gpu", "devices": 1},
        }
    if w.config_layout == "lightning":
        callbacks: dict = {}
        es = _early_stopping(w, "monitor")
        if es:
            callbacks["early_stopping"] = es
        callbacks["model_checkpoint"] = {"monitor": "val_loss", "mode": "min", "save_top_k": 1}
        return {
            "seed_everything": w.seed_cfg,
            "trainer": {
                "accelerator": "gpu",
                "devices": 1,
                "max_epochs": w.epochs,
                "precision": w.precision, **_amp_fields(w),
                "gradient_clip_val": w.grad_clip,
                "log_every_n_steps": w.log_every,
                "default_root_dir": f"runs/{w.experiment}",
                "callbacks": callbacks,
            },
            "model": {
                "arch": w.model.name,
                "pretrained": w.pretrained,
                "num_classes": len(w.classes),
                "dropout": w.dropout,
                "optimizer": _optimizer_block(w, "lr", "name"),
                "lr_scheduler": _schedule_block(w, "name", "eta_min"),
            },
            "data": {
                "dataset": ds.name,
                "snapshot": w.snapshot,
                "root": root,
                "batch_size": w.batch_size,
                "eval_batch_size": w.eval_batch_size,
                "num_workers": w.num_workers,
                "drop_last": w.drop_last,
                "max_train_samples": w.max_train_samples,
                **_data_extras(w),
            },
        }
    return {
        "run": {"name": w.experiment, "seed": w.seed_cfg, "output_dir": f"runs/{w.experiment}", "owner": w.team},
        "model": {"type": w.model.name, "pretrained": w.pretrained, "num_classes": len(w.classes), "dropout": w.dropout},
        "dataset": {"name": ds.name, "snapshot": w.snapshot, "root": root, **_data_extras(w)},
        "train": {
            "epochs": w.epochs,
            "batch_size": w.batch_size,
            "drop_last": w.drop_last,
            "num_workers": w.num_workers,
            "max_samples": w.max_train_samples,
            "precision": w.precision, **_amp_fields(w),
            "clip_grad_norm": w.grad_clip,
            "log_interval": w.log_every,
            "optim": _optimizer_block(w, "lr", "type"),
            "schedule": _schedule_block(w, "type", "final_lr"),
            "early_stop": _early_stopping(w, "metric"),
        },
        "eval": {"batch_size": w.eval_batch_size, "splits": ["val", "test"], "metrics": metrics},
    }


def _with_eval_settings(w: World, doc: dict) -> dict:
    """Version 3: the evaluation settings, where the evaluation code reads them from config.yaml."""
    if w.revision >= 3 and w.eval_from_config:
        for name, value in eval_settings(w).items():
            section, leaf = EVAL_PATHS[name][w.config_layout].split(".")
            doc[section][leaf] = value
    return doc


def _show_configured(w: World, doc: dict) -> dict:
    """Version 3: knobs the run sets in code (preprocessing.py's overrides) keep their older value here."""
    for kind, value in w.config_shown.items():
        *parents, leaf = FIELD_PATHS[kind][w.config_layout].split(".")
        node = doc
        for part in parents:
            node = node[part]
        if leaf in node:
            node[leaf] = value
    return doc


def render(w: World) -> str:
    header = [
        f"# {w.experiment}: {w.model.name} on {w.dataset.name} ({catalog.OPTIMIZER_DISPLAY[w.optimizer]}, {w.schedule.kind} schedule)",
        f"# owner: {w.team}",
    ]
    return "\n".join(header + emit_yaml(_show_configured(w, _with_eval_settings(w, config_document(w))))) + "\n"
