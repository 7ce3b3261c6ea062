"""The JSON artifacts: dataset_stats.json, eval_results.json and model_card.json.

Written as a real pipeline would (json.dumps with indent=2, keys in a fixed order), from the same
world numbers the log and the checks use.
"""

from __future__ import annotations

import json
from typing import Any

from mlopsdebug_generator import catalog, evaluation
from mlopsdebug_generator.world import World


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


_encode_str = json.encoder.encode_basestring  # the C implementation when available
_LITERALS = {None: "null", True: "true", False: "false"}


def _scalar(value: Any) -> str | None:
    """JSON text of a scalar, or None for containers (json.dumps' own float and int spelling)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite float in a JSON artifact")
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool or value is None:
        return _LITERALS[value]
    if isinstance(value, (dict, list, tuple)):
        return None
    raise TypeError(f"cannot encode {kind.__name__} in a JSON artifact")


_INFINITIES = (float("inf"), float("-inf"))
_float_text, _int_text = float.__repr__, int.__repr__


def _emit(obj: dict | list, depth: int, out: list[str]) -> None:
    """Append the indent=2 JSON text of a dict or list (scalars are inlined by the caller).

    The common scalars (str, float, int) are spelled here rather than through _scalar(): most of a
    document's items are, and a call per item was most of the cost."""
    newline = "\n" + "  " * (depth + 1)
    if isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        out.append("{")
        separator = newline
        for key, value in obj.items():
            kind = type(value)
            if kind is str:
                text: str | None = _encode_str(value)
            elif kind is float and value == value and value not in _INFINITIES:
                text = _float_text(value)
            elif kind is int:
                text = _int_text(value)
            else:
                text = _scalar(value)
            if text is None:
                out.append(separator + _encode_str(key) + ": ")
                _emit(value, depth + 1, out)
            else:
                out.append(separator + _encode_str(key) + ": " + text)
            separator = "," + newline
        out.append("\n" + "  " * depth + "}")
        return
    if not obj:
        out.append("[]")
        return
    out.append("[")
    separator = newline
    for value in obj:
        kind = type(value)
        if kind is str:
            text = _encode_str(value)
        elif kind is float and value == value and value not in _INFINITIES:
            text = _float_text(value)
        elif kind is int:
            text = _int_text(value)
        else:
            text = _scalar(value)
        if text is None:
            out.append(separator)
            _emit(value, depth + 1, out)
        else:
            out.append(separator + text)
        separator = "," + newline
    out.append("\n" + "  " * depth + "]")


def dumps(doc: dict) -> str:
    """Byte-identical to json.dumps(doc, indent=2, ensure_ascii=False) plus a newline, several times faster."""
    out: list[str] = []
    _emit(doc, 0, out)
    out.append("\n")
    return "".join(out)


_dumps = dumps


def _counts(w: World, split: int) -> dict[str, int]:
    return {name: int(c) for name, c in zip(w.classes, w.splits.counts[split], strict=True)}


_SPLITS = ("train", "val", "test")


def dataset_stats(w: World, generated_at: str) -> str:
    ds = w.dataset
    sp = w.splits
    splits: dict = {}
    for i, name in enumerate(_SPLITS):
        entry: dict = {"n_samples": int(sp.n[i])}
        if i == 0 and sp.n[0] < sp.n_train_available:
            entry["subsampled_from"] = int(sp.n_train_available)
        entry["id_examples"] = list(sp.id_examples[i])
        if w.feature_association is not None:
            entry["n_unique_ids"] = int(sp.unique_ids[i] if sp.unique_ids else sp.n[i])
        if sp.groups is not None:
            entry["n_groups"] = int(sp.groups[i])
        entry["class_counts"] = _counts(w, i)
        splits[name] = entry
    doc: dict = {
        "dataset": ds.name,
        "snapshot": w.snapshot,
        "source": f"{ds.storage}/{w.snapshot}",
        "modality": w.modality,
        "generated_at": generated_at,
        "num_classes": len(w.classes),
        "label_map": {name: i for i, name in enumerate(w.classes)},
        "splits": splits,
        "n_unique_ids": int(sp.n_unique_ids),
    }
    if sp.groups is not None:
        doc["group_key"] = ds.group_key
        doc["n_unique_groups"] = int(sp.n_unique_groups)
    if w.modality == "tabular":
        tab = w.tabular_stats()
        names = [f.name for f in ds.numeric]
        numeric = {
            feat: {
                split: {"mean": _sig(tab.raw_mean[i, j]), "std": _sig(tab.raw_std[i, j])}
                for i, split in enumerate(_SPLITS)
            }
            for j, feat in enumerate(names)
        }
        standardized = {
            split: {
                "mean": {feat: round(float(tab.scaled_mean[i, j]), 4) for j, feat in enumerate(names)},
                "std": {feat: round(float(tab.scaled_std[i, j]), 4) for j, feat in enumerate(names)},
            }
            for i, split in enumerate(_SPLITS)
        }
        categorical = {
            name: {
                "n_categories": int(size),
                "unseen_in_val": int(tab.unseen_categories[0, j]),
                "unseen_in_test": int(tab.unseen_categories[1, j]),
            }
            for j, (name, size) in enumerate(ds.categorical)
        }
        doc["features"] = {"numeric": numeric, "standardized": standardized, "categorical": categorical}
        if w.feature_association is not None:
            doc["features"].update(_association_stats(w, names))
        doc["preprocessing"] = {
            "scaler": {
                "type": "StandardScaler",
                "n_samples_seen": int(tab.scaler_samples),
                "mean": {feat: _sig(tab.scaler_mean[j]) for j, feat in enumerate(names)},
                "scale": {feat: _sig(tab.scaler_scale[j]) for j, feat in enumerate(names)},
            },
            "categorical_encoder": {
                "type": "OneHotEncoder",
                "handle_unknown": "ignore",
                "n_output_features": int(sum(size for _, size in ds.categorical)),
            },
        }
        if w.resample_scope:
            # The pool before the split, or the training split (the pool less val) after it.
            before = sp.pool_rows if w.resample_scope == "pool" else sp.pool_rows - sp.n[1]
            doc["preprocessing"]["resampling"] = {
                "type": "RandomOverSampler",
                "n_rows_in": int(before),
                "n_rows_out": int(sp.n_train_available + (sp.n[1] if w.resample_scope == "pool" else 0)),
            }
    elif w.modality == "text":
        txt = w.text_stats()
        doc["features"] = {
            "tokens_per_sample": {
                split: {"mean": float(txt.mean_tokens[i]), "p95": float(txt.p95_tokens[i])} for i, split in enumerate(_SPLITS)
            },
            "truncated_fraction": {split: float(txt.truncated[i]) for i, split in enumerate(_SPLITS)},
            "unk_rate": {split: float(txt.unk_rate[i]) for i, split in enumerate(_SPLITS)},
        }
        doc["preprocessing"] = {
            "tokenizer": txt.tokenizer_path,
            "tokenizer_version": txt.train_version,
            "vocab_size": txt.vocab_train,
            "max_length": txt.max_length,
            "lowercase": txt.lowercase,
        }
    else:
        vis = w.vision_stats()
        doc["features"] = {
            "image_size": [vis.image_size, vis.image_size],
            "channels": int(vis.pixel_mean.shape[1]),
            "pixel_mean": {split: [float(x) for x in vis.pixel_mean[i]] for i, split in enumerate(_SPLITS)},
            "pixel_std": {split: [float(x) for x in vis.pixel_std[i]] for i, split in enumerate(_SPLITS)},
        }
        doc["preprocessing"] = {
            "resize": vis.image_size,
            "normalize": {"mean": list(vis.normalize_mean), "std": list(vis.normalize_std)},
            "train_augmentations": list(vis.augmentations),
        }
        if w.eval_resize:
            doc["preprocessing"]["eval_transforms"] = _eval_transforms(w)
    return _dumps(doc)


def _association_stats(w: World, names: list[str]) -> dict:
    """Version 2: how strongly each input tracks the target per split, and the joined columns' match rate."""
    matrix = w.feature_association
    assert matrix is not None  # version 2 worlds measure it
    association: dict[str, dict[str, float | None]] = {
        feat: {split: float(matrix[j, i]) for i, split in enumerate(_SPLITS)}
        for j, feat in enumerate(names)
    }
    out: dict = {"target_association": association}
    if w.join_table:
        association[w.joined_column] = dict(zip(_SPLITS, w.joined_association, strict=True))
        out["joined_columns"] = {
            w.joined_column: {
                "source": f"{w.join_table}.parquet",
                "missing_fraction": dict(zip(_SPLITS, w.joined_missing, strict=True)),
            }
        }
    return out


def _eval_transforms(w: World) -> list[str]:
    """The evaluation transform's ops as the pipeline reports them."""
    vis = w.vision_stats()
    if w.eval_augment == "reuse":
        return list(vis.augmentations)
    if w.eval_augment == "crop":
        return [vis.augmentations[0], "RandomHorizontalFlip"]
    return [f"Resize({w.eval_resize})", f"CenterCrop({vis.image_size})"]


def _split_block(scores: evaluation.SplitScores, class_names: tuple[str, ...]) -> dict:
    per_class = {
        name: {
            "precision": scores.precision[i],
            "recall": scores.recall[i],
            "f1": scores.f1[i],
            "support": scores.support[i],
            "predicted": scores.predicted[i],
        }
        for i, name in enumerate(class_names)
    }
    return {
        "n_samples": scores.n_samples,
        "loss": scores.loss,
        "accuracy": scores.accuracy,
        "macro_f1": scores.macro_f1,
        "per_class": per_class,
    }


def eval_results(w: World, evaluated_at: str) -> str:
    ev = w.eval
    doc: dict = {
        "run_id": w.run_id,
        "checkpoint": ev.checkpoint,
        "evaluated_at": evaluated_at,
        "primary_metric": w.primary_metric,
        "class_names": list(ev.class_names),
        "metrics": {"val": _split_block(ev.val, ev.class_names), "test": _split_block(ev.test, ev.class_names)},
    }
    if w.modality == "text":
        txt = w.text_stats()
        doc["inputs"] = {
            "tokenizer": txt.tokenizer_path,
            "tokenizer_version": txt.eval_version,
            "vocab_size": txt.vocab_eval,
            "max_length": txt.max_length,
            "val": {"mean_tokens": float(txt.eval_mean_tokens[0]), "unk_rate": float(txt.eval_unk_rate[0])},
            "test": {"mean_tokens": float(txt.eval_mean_tokens[1]), "unk_rate": float(txt.eval_unk_rate[1])},
        }
        if not w.eval_records_tokenizer:  # version 4: this evaluation job logs the tokenizer's path only
            doc["inputs"] = {"tokenizer": txt.tokenizer_path, "max_length": txt.max_length}
    doc["eval_config"] = {"batch_size": w.eval_batch_size, "precision": w.precision, "device": w.gpu.name}
    return _dumps(doc)


_TASK_NAMES = {"vision": "image-classification", "text": "text-classification", "tabular": "tabular-classification"}
_INTENDED = {
    "vision": "Internal benchmark model for {d}; not validated for production traffic.",
    "text": "Classification of {d}-style texts for internal analytics; English only.",
    "tabular": "Scoring of {d} records for offline analysis; not for automated decisions about individuals.",
}


def model_card(w: World, created_at: str) -> str:
    ev = w.eval
    traj = w.trajectory
    pretrained: object = False
    if w.pretrained:
        pretrained = "imagenet-1k" if w.modality == "vision" else w.model.name
    training: dict = {
        "optimizer": catalog.OPTIMIZER_DISPLAY[w.optimizer],
        "learning_rate": w.lr,
        "batch_size": w.batch_size,
        "scheduler": w.schedule.kind,
        "epochs_planned": w.epochs,
        "epochs_completed": traj.epochs_completed,
        "best_epoch": traj.best_epoch,
        "status": traj.status,
        "precision": w.precision,
        "hardware": f"1x {w.gpu.name}",
        "wall_clock_seconds": w.wall_clock_seconds,
    }
    doc: dict = {
        "model_id": f"{w.team}/{w.experiment}",
        "run_id": w.run_id,
        "created_at": created_at,
        "architecture": w.model.name,
        "family": w.model.family,
        "parameters": w.params_count,
        "pretrained": pretrained,
        "task": _TASK_NAMES[w.modality],
        "dataset": {
            "name": w.dataset.name,
            "snapshot": w.snapshot,
            "splits": {name: int(n) for name, n in zip(_SPLITS, w.splits.n, strict=True)},
        },
        "id2label": {str(i): f"LABEL_{i}" if w.card_generic_labels else name for i, name in enumerate(w.classes)},
    }
    if w.modality == "text":
        txt = w.text_stats()
        doc["tokenizer"] = {
            "path": txt.tokenizer_path,
            "version": txt.train_version,
            "vocab_size": txt.vocab_train,
            "max_length": txt.max_length,
        }
    doc["training"] = training
    doc["metrics"] = {
        "primary": w.primary_metric,
        "val": {"accuracy": ev.val.accuracy, "macro_f1": ev.val.macro_f1},
        "test": {"accuracy": ev.test.accuracy, "macro_f1": ev.test.macro_f1},
    }
    doc["intended_use"] = _INTENDED[w.modality].format(d=w.dataset.name)
    doc["limitations"] = (
        f"Trained on the {w.snapshot} snapshot of {w.dataset.name}; performance on data collected later or from "
        "other sources has not been measured."
    )
    return _dumps(doc)
