"""preprocessing.py: the run's data-pipeline module, in one of four code styles.

Styles: plain pandas + sklearn functions, an sklearn ColumnTransformer pipeline (both tabular), a
torch Dataset/DataLoader module (vision) and a Hugging Face datasets/tokenizers module (text). The
module also holds the evaluation export, because the evaluation job imports it. A planted fault is
one natural-looking difference from the healthy module (a call on the wrong frame, a second split,
an argument, a label map built from another source); nothing in the code comments on it.

`render` returns the text and the fault's location in it (canonical name + aliases), so the answer
key always names an identifier that really exists in the rendered file.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from mlopsdebug_generator import faults
from mlopsdebug_generator.sites import CodeLocation

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlopsdebug_generator.world import World


def _py_list(name: str, items: Iterable[object]) -> list[str]:
    lines = [f"{name} = ["]
    for item in items:
        lines.append(f"    {json.dumps(item)},")
    lines.append("]")
    return lines


def _fmt_fraction(x: float) -> str:
    return f"{x:g}"


class _Ctx:
    """What every style needs to know about the world, resolved once."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.n = world.names
        ds = world.dataset
        self.ds = ds
        self.group = ds.group_key
        self.mechanism = world.split_mechanism or None
        # Group-aware split unless the split is row-level over grouped data.
        self.group_split = bool(self.group) and self.mechanism != "duplicate_sources"
        self.double = self.mechanism == "double_split"
        self.reseed = world.split_reseed
        self.form = world.names["split_form"]
        self.v = world.val_fraction
        self.ratio_fault = world.split_inverted
        self.label_source = world.label_source or None
        self.swap_site = world.swap_site or None
        self.tok_site = world.tokenizer_site
        self.tok_fault = world.eval_tokenizer_drift
        self.scaler_scope = world.scaler_scope or None
        self.test_split = world.test_scored_on
        self.eval_drop_last = world.eval_drop_last
        self.weighted_macro = world.macro_average == "weighted"
        self.eval_train_mode = world.eval_train_mode
        self.eval_shuffle = world.eval_shuffle
        self.join_table = world.join_table or None
        self.joined_const = world.joined_const
        self.eval_augment = world.eval_augment or None
        self.resample = world.resample_scope or None

    def fraction_constants(self) -> list[str]:
        """Module constant(s) for the validation share, by the world's split form."""
        if self.form == "val_constant":
            return [f"{self.n['frac_const']} = {_fmt_fraction(self.v)}"]
        if self.form == "train_constant":
            return [f"{self.n['train_frac_const']} = {_fmt_fraction(round(1.0 - self.v, 4))}"]
        return []

    def fraction_expr(self) -> str:
        """The held-out share as written at the split call (the planted ratio fault inverts it)."""
        bad = self.ratio_fault
        if self.form == "val_constant":
            return f"1 - {self.n['frac_const']}" if bad else self.n["frac_const"]
        if self.form == "train_constant":
            return self.n["train_frac_const"] if bad else f"1 - {self.n['train_frac_const']}"
        return _fmt_fraction(round(1.0 - self.v, 4)) if bad else _fmt_fraction(self.v)

    def fraction_const_name(self) -> str | None:
        if self.form == "val_constant":
            return self.n["frac_const"]
        if self.form == "train_constant":
            return self.n["train_frac_const"]
        return None


def _resample_imports(c: _Ctx) -> list[str]:
    return ["from imblearn.over_sampling import RandomOverSampler"] if c.resample else []


def _resample_fn(c: _Ctx) -> list[str]:
    """Version 2: random oversampling of the smaller classes (imbalanced-learn)."""
    if not c.resample:
        return []
    f = c.n["frame"]
    return [
        f"def {c.world.resample_fn}({f}: pd.DataFrame) -> pd.DataFrame:",
        '    """Repeat rows of the smaller classes until every class is as frequent as the largest."""',
        f"    resampled, _ = RandomOverSampler(random_state=SEED).fit_resample({f}, {f}[TARGET])",
        "    return resampled.reset_index(drop=True)",
        "",
        "",
    ]


def _resample_call(c: _Ctx, scope: str) -> list[str]:
    """The oversampling call in the builder: on the pool before the split, or on the training split."""
    if c.resample != scope:
        return []
    target = "__pool__" if scope == "pool" else c.n["train_var"]
    return [f"    {target} = {c.world.resample_fn}({target})"]


def _join_lines(c: _Ctx) -> list[str]:
    """Version 2: merge a lookup table's columns onto the pool and the test rows, by id."""
    if not c.join_table:
        return []
    if c.world.join_duplicates:
        source = f'pd.read_parquet(DATA_DIR / "{c.join_table}.parquet")'
    else:
        source = f'load_table("{c.join_table}")'
    return [
        f"    {c.world.lookup_var} = {source}[[ID_COLUMN, *{c.joined_const}]]",
        f'    __pool__ = __pool__.merge({c.world.lookup_var}, on=ID_COLUMN, how="left")',
        f'    test = test.merge({c.world.lookup_var}, on=ID_COLUMN, how="left")',
    ]


def _channel_stats_lines(c: _Ctx) -> list[str]:
    """Version 2 vision: Normalize's statistics computed from a manifest (train, or the frozen test one)."""
    source = c.world.norm_source
    if not source:
        return []
    return [
        "def channel_stats(split: str) -> tuple[tuple[float, ...], tuple[float, ...]]:",
        '    """Per-channel pixel mean and std over the images of one manifest (4 decimals)."""',
        "    total, squares, count = 0.0, 0.0, 0",
        "    for row in read_manifest(split):",
        '        pixels = transforms.functional.to_tensor(Image.open(ROOT / row["path"]).convert("RGB")).flatten(1)',
        "        total, squares, count = total + pixels.sum(1), squares + (pixels**2).sum(1), count + pixels.shape[1]",
        "    mean = total / count",
        "    std = (squares / count - mean**2).sqrt()",
        "    return tuple(round(x, 4) for x in mean.tolist()), tuple(round(x, 4) for x in std.tolist())",
        "",
        "",
        f'MEAN, STD = channel_stats({_config_expr(c, "normalize_stats") or chr(34) + ("test" if source == "test" else "train") + chr(34)})',
        "",
        "",
    ]


def _eval_transform_lines(c: _Ctx) -> list[str]:
    """The evaluation transform: resize and centre-crop (version 1 on one line), or random ops when planted."""
    w = c.world
    head = "def eval_transform() -> transforms.Compose:"
    augment = _config_expr(c, "augment_eval")
    if augment is not None:
        # Version 3: a flag in config.yaml (meant for test-time augmentation experiments) picks the training
        # transform for evaluation; healthy runs leave it off.
        plain = "    return transforms.Compose([transforms.Resize(IMAGE_SIZE), transforms.CenterCrop(IMAGE_SIZE), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])"
        return [head, f"    if {augment}:", "        return train_transform()", plain]
    if c.eval_augment == "reuse":
        return [head, "    return train_transform()"]
    if c.eval_augment == "crop":
        first = w.vision_stats().augmentations[0]
        crop = ("transforms.RandomResizedCrop(IMAGE_SIZE, scale=(0.6, 1.0))," if first.startswith("RandomResizedCrop")
                else "transforms.RandomCrop(IMAGE_SIZE, padding=4),")
        ops = [crop, "transforms.RandomHorizontalFlip(),"]
    elif w.eval_resize:
        resize = "IMAGE_SIZE" if w.eval_resize == w.vision_stats().image_size else str(w.eval_resize)
        ops = [f"transforms.Resize({resize}),", "transforms.CenterCrop(IMAGE_SIZE),"]
    else:
        return [
            head,
            "    return transforms.Compose([transforms.Resize(IMAGE_SIZE), transforms.CenterCrop(IMAGE_SIZE), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])",
        ]
    ops += ["transforms.ToTensor(),", "transforms.Normalize(MEAN, STD),"]
    return [head, "    return transforms.Compose(", "        ["] + [f"            {op}" for op in ops] + ["        ]", "    )"]


def _split_calls(c: _Ctx, pool: str, param: str, seed_kw: str = "seed") -> list[str]:
    """The train/val split in the builder: one seeded call, or (planted) two independent ones."""
    n = c.n
    frac = c.fraction_expr()
    tv, vv = n["train_var"], n["val_var"]
    if c.double:
        if c.reseed == "offset":
            return [
                f"    {tv}, _ = {n['split_fn']}({pool}, {param}={frac}, {seed_kw}=SEED)",
                f"    _, {vv} = {n['split_fn']}({pool}, {param}={frac}, {seed_kw}=SEED + {n['seed_offset']})",
            ]
        return [
            f"    {tv}, _ = {n['split_fn']}({pool}, {param}={frac})",
            f"    _, {vv} = {n['split_fn']}({pool}, {param}={frac})",
        ]
    return [f"    {tv}, {vv} = {n['split_fn']}({pool}, {param}={frac}, {seed_kw}=SEED)"]


def _writer_lines(c: _Ctx, path_type: str) -> list[str]:
    n = c.n
    blocks = '{"val": test_scores, "test": val_scores}' if c.swap_site == "writer" else '{"val": val_scores, "test": test_scores}'
    return [
        f"def {n['writer']}(path: {path_type}, val_scores: dict, test_scores: dict, meta: dict) -> None:",
        '    """eval_results.json: run metadata, the class order used, then one metrics block per split."""',
        f'    report = {{**meta, "metrics": {blocks}}}',
        '    path.write_text(json.dumps(report, indent=2) + "\\n")',
    ]


def _eval_mode_lines(c: _Ctx) -> list[str]:
    """The scorer's switch to evaluation mode (dropout off, batch-norm running statistics), or none, or (version 3)
    a switch to training mode."""
    if c.eval_train_mode and c.world.revision >= 3 and c.world.eval_train_site == "train_call":
        return ["    model.train()"]
    return [] if c.eval_train_mode else ["    model.eval()"]


def _config_expr(c: _Ctx, name: str) -> str | None:
    """Version 3: how the code reads an evaluation setting from config.yaml, or None where it is written in the code."""
    from mlopsdebug_generator.render_config import EVAL_PATHS  # noqa: PLC0415 - render_config imports the world

    if not (c.world.revision >= 3 and c.world.eval_from_config):
        return None
    return "CONFIG" + "".join(f'["{part}"]' for part in EVAL_PATHS[name][c.world.config_layout].split("."))


def _torch_macro_line(c: _Ctx) -> str:
    """The macro-F1 entry of the torch/HF scorers: the unweighted mean, or (planted) support-weighted."""
    average = _config_expr(c, "f1_average")
    if average is not None:
        return f'        "macro_f1": round(float(np.average(f1, weights=matrix.sum(1) if {average} == "weighted" else None)), 4),'
    if c.weighted_macro:
        return '        "macro_f1": round(float((f1 * matrix.sum(1)).sum() / matrix.sum()), 4),'
    return '        "macro_f1": round(float(f1.mean()), 4),'


def _sklearn_macro_line(c: _Ctx) -> str:
    average = _config_expr(c, "f1_average")
    if average is not None:
        return f'        "macro_f1": round(float(report[{average} + " avg"]["f1-score"]), 4),'
    return '        "macro_f1": round(float(report["%s"]["f1-score"]), 4),' % ("weighted avg" if c.weighted_macro else "macro avg")


def _eval_drop_last_arg(c: _Ctx) -> str:
    drop_last = _config_expr(c, "drop_last")
    if drop_last is not None:
        return f", drop_last={drop_last}"
    return ", drop_last=True" if c.eval_drop_last else ""


def _eval_shuffle_arg(c: _Ctx) -> str:
    shuffle = _config_expr(c, "shuffle")
    if shuffle is not None:
        return f", shuffle={shuffle}"
    return ", shuffle=True" if c.eval_shuffle else ""


def _writer_call(c: _Ctx, indent: str = "    ") -> str:
    n = c.n
    args = "test_scores, val_scores" if c.swap_site == "call" else "val_scores, test_scores"
    return f'{indent}{n["writer"]}(RUN_DIR / "eval_results.json", {args}, meta)'


# ------------------------------------------------------------------------------------------------
# Tabular: pandas + sklearn functions


def _tabular_header(c: _Ctx, doc: str, imports: list[str]) -> list[str]:
    w = c.world
    ds = c.ds
    lines = [f'"""{doc}', "", f"Imported by train.py ({c.n['builder']}) and by the evaluation job ({c.n['runner']}).", '"""', ""]
    lines += ["from __future__ import annotations", "", "import json", "from pathlib import Path", ""]
    lines += ["import numpy as np", "import pandas as pd"]
    lines += imports
    lines += ["", f'DATA_DIR = Path("/mnt/datasets/{ds.name}/{w.snapshot}")', f'RUN_DIR = Path("runs/{w.experiment}")']
    lines.append(f'TARGET = "{ds.target}"')
    lines.append(f'ID_COLUMN = "{ds.id_prefix.rstrip("_")}_id"')
    if c.group:
        lines.append(f'GROUP_COLUMN = "{c.group}"')
    lines += _py_list("NUMERIC", [f.name for f in ds.numeric])
    lines += _py_list("CATEGORICAL", [name for name, _ in ds.categorical])
    if c.join_table:
        lines += _py_list(c.joined_const, [w.joined_column])
    lines.append(f"SEED = {w.seed_cfg}")
    lines += c.fraction_constants()
    return lines


def _load_table_lines(c: _Ctx) -> list[str]:
    f = c.n["frame"]
    return [
        "def load_table(name: str) -> pd.DataFrame:",
        '    """One parquet file of the snapshot (train: the labelled pool; test: the frozen test set)."""',
        f'    {f} = pd.read_parquet(DATA_DIR / f"{{name}}.parquet")',
        f"    return {f}.drop_duplicates(subset=[ID_COLUMN]).reset_index(drop=True)",
    ]


def _sklearn_split_fn(c: _Ctx) -> list[str]:
    n, f = c.n, c.n["frame"]
    sig = f"def {n['split_fn']}({f}: pd.DataFrame, test_size: float, seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:"
    if c.group_split:
        return [
            sig,
            f'    """Hold out `test_size` of the {c.group} groups, so every group sits on one side of the split."""',
            "    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)",
            f"    kept, held = next(splitter.split({f}, groups={f}[GROUP_COLUMN]))",
            f"    return {f}.iloc[kept].reset_index(drop=True), {f}.iloc[held].reset_index(drop=True)",
        ]
    return [
        sig,
        '    """Hold out `test_size` of the rows, stratified by the target."""',
        f"    kept, held = train_test_split({f}, test_size=test_size, random_state=seed, stratify={f}[TARGET])",
        "    return kept.reset_index(drop=True), held.reset_index(drop=True)",
    ]


def _sklearn_label_fn(c: _Ctx, training_order: str) -> list[str]:
    n = c.n
    src = {
        None: training_order,
        "sorted": "LabelEncoder().fit(__eframe__[TARGET]).classes_",
        "exported": 'json.loads((DATA_DIR / "label_classes.json").read_text())',
        "appearance": "__eframe__[TARGET].unique()",
    }[c.label_source]
    return [
        f"def {n['label_fn']}(__eframe__: pd.DataFrame) -> tuple[np.ndarray, list[str]]:",
        '    """Integer targets of an evaluation split, and the class name of each index."""',
        f"    {n['label_var']} = {{name: index for index, name in enumerate({src})}}",
        f"    return __eframe__[TARGET].map({n['label_var']}).to_numpy(), list({n['label_var']})",
    ]


def _sklearn_eval_lines(c: _Ctx) -> list[str]:
    n = c.n
    lines = [
        f"def {n['scorer']}(model, frame: pd.DataFrame, features: np.ndarray) -> dict:",
        '    """Loss, accuracy, macro F1 and the per-class report of one split."""',
        f"    targets, class_names = {n['label_fn']}(frame)",
        "    proba = model.predict_proba(features)",
        "    predicted = proba.argmax(axis=1)",
        "    labels = list(range(proba.shape[1]))",
        "    report = classification_report(",
        "        targets, predicted, labels=labels, target_names=class_names, output_dict=True, zero_division=0",
        "    )",
        "    predicted_counts = np.bincount(predicted, minlength=len(labels))",
        "    return {",
        '        "n_samples": int(len(frame)),',
        '        "loss": round(float(log_loss(targets, proba, labels=labels)), 4),',
        '        "accuracy": round(float(report["accuracy"]), 4),',
        _sklearn_macro_line(c),
        '        "per_class": {',
        "            name: {",
        '                "precision": round(report[name]["precision"], 4),',
        '                "recall": round(report[name]["recall"], 4),',
        '                "f1": round(report[name]["f1-score"], 4),',
        '                "support": int(report[name]["support"]),',
        '                "predicted": int(predicted_counts[index]),',
        "            }",
        "            for index, name in enumerate(class_names)",
        "        },",
        "    }",
        "",
        "",
    ]
    lines += _writer_lines(c, "Path")
    lines += [
        "",
        "",
        f"def {n['runner']}(model, splits: dict[str, pd.DataFrame], features: dict[str, np.ndarray], meta: dict) -> None:",
        '    """Score the best checkpoint on val and test and write eval_results.json."""',
        f'    val_scores = {n["scorer"]}(model, splits["val"], features["val"])',
        f'    test_scores = {n["scorer"]}(model, splits["{c.test_split}"], features["{c.test_split}"])',
        f'    meta = {{**meta, "class_names": {n["label_fn"]}(splits["test"])[1]}}',
        _writer_call(c),
    ]
    return lines


def _render_sklearn_functions(c: _Ctx) -> str:
    n = c.n
    imports = ["from sklearn.metrics import classification_report, log_loss"]
    ms = ["GroupShuffleSplit"] if c.group_split else ["train_test_split"]
    imports.append(f"from sklearn.model_selection import {', '.join(ms)}")
    imports.append("from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler")
    imports += _resample_imports(c)
    lines = _tabular_header(c, f"Data pipeline for the {c.ds.name} model: load, split, encode, scale, evaluate.", imports)
    lines += ["", ""] + _load_table_lines(c) + ["", ""] + _sklearn_split_fn(c) + ["", ""] + _resample_fn(c)
    lines += [
        "def fit_labels(train: pd.DataFrame) -> LabelEncoder:",
        '    """Fit the label encoder on the training rows and store its classes next to the checkpoint."""',
        "    encoder = LabelEncoder().fit(train[TARGET])",
        '    (RUN_DIR / "label_classes.json").write_text(json.dumps(encoder.classes_.tolist()))',
        "    return encoder",
        "",
        "",
    ]
    healthy_scaler = c.scaler_scope is None
    if healthy_scaler:
        lines += [
            f"def {n['scale_fn']}(train: pd.DataFrame, *others: pd.DataFrame) -> StandardScaler:",
            '    """Standardise the numeric columns in place, with statistics of the training rows."""',
            f"    {n['scaler']} = StandardScaler()",
            f"    train[NUMERIC] = {n['scaler']}.fit_transform(train[NUMERIC])",
            "    for part in others:",
            f"        part[NUMERIC] = {n['scaler']}.transform(part[NUMERIC])",
            f"    return {n['scaler']}",
            "",
            "",
        ]
    lines += [
        "def one_hot(train: pd.DataFrame) -> OneHotEncoder:",
        '    """One-hot encoder for the categorical columns; categories unseen in training encode as zeros."""',
        '    return OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[CATEGORICAL])',
        "",
        "",
        f"def {n['builder']}(max_train_samples: int | None = None) -> dict:",
        '    """Splits, encoders and feature matrices for train.py."""',
        '    __pool__ = load_table("train")',
        '    test = load_table("test")',
    ]
    lines += _join_lines(c)
    if c.scaler_scope == "pool":
        lines += [f"    {n['scaler']} = StandardScaler()", f"    __pool__[NUMERIC] = {n['scaler']}.fit_transform(__pool__[NUMERIC])",
                  f"    test[NUMERIC] = {n['scaler']}.transform(test[NUMERIC])"]
    elif c.scaler_scope == "pool_and_test":
        lines += [f"    {n['scaler']} = StandardScaler().fit(pd.concat([__pool__, test])[NUMERIC])",
                  f"    __pool__[NUMERIC] = {n['scaler']}.transform(__pool__[NUMERIC])",
                  f"    test[NUMERIC] = {n['scaler']}.transform(test[NUMERIC])"]
    lines += _resample_call(c, "pool")
    lines += _split_calls(c, "__pool__", "test_size")
    tv, vv = n["train_var"], n["val_var"]
    lines += _resample_call(c, "train")
    lines += [
        f"    if max_train_samples is not None and len({tv}) > max_train_samples:",
        f"        {tv} = {tv}.sample(n=max_train_samples, random_state=SEED).reset_index(drop=True)",
    ]
    if healthy_scaler:
        lines.append(f"    {n['scaler']} = {n['scale_fn']}({tv}, {vv}, test)")
    joined = f"part[{c.joined_const}].fillna(0).to_numpy(), " if c.join_table else ""
    lines += [
        f"    encoder = fit_labels({tv})",
        f"    categories = one_hot({tv})",
        f'    splits = {{"train": {tv}, "val": {vv}, "test": test}}',
        "    features = {",
        f"        name: np.hstack([part[NUMERIC].to_numpy(), {joined}categories.transform(part[CATEGORICAL])])",
        "        for name, part in splits.items()",
        "    }",
        '    targets = {name: encoder.transform(part[TARGET]) for name, part in splits.items()}',
        f'    return {{"splits": splits, "features": features, "targets": targets, "scaler": {n["scaler"]}, "encoder": encoder}}',
        "",
        "",
    ]
    lines += _sklearn_label_fn(c, 'json.loads((RUN_DIR / "label_classes.json").read_text())') + ["", ""]
    lines += _sklearn_eval_lines(c)
    return "\n".join(lines) + "\n"


def _render_sklearn_pipeline(c: _Ctx) -> str:
    n = c.n
    pre = n["preprocessor"]
    imports = [
        "from sklearn.compose import ColumnTransformer",
        "from sklearn.impute import SimpleImputer",
        "from sklearn.metrics import classification_report, log_loss",
    ]
    ms = ["GroupShuffleSplit"] if c.group_split else ["train_test_split"]
    imports.append(f"from sklearn.model_selection import {', '.join(ms)}")
    imports.append("from sklearn.pipeline import Pipeline")
    enc = ["OneHotEncoder", "StandardScaler"]
    if c.label_source == "sorted":
        enc.insert(0, "LabelEncoder")
    imports.append(f"from sklearn.preprocessing import {', '.join(enc)}")
    imports += _resample_imports(c)
    lines = _tabular_header(c, f"Feature pipeline for the {c.ds.name} model: a ColumnTransformer plus splits and evaluation.", imports)
    lines += _py_list("CLASS_ORDER", c.ds.classes)
    lines += ["", ""] + _load_table_lines(c) + ["", ""] + _sklearn_split_fn(c) + ["", ""] + _resample_fn(c)
    joined_step = [f'            ("joined", SimpleImputer(strategy="median"), {c.joined_const}),'] if c.join_table else []
    lines += [
        f"def {n['pre_builder']}() -> ColumnTransformer:",
        '    """Median-impute and scale the numeric columns, one-hot encode the categorical ones."""',
        "    numeric = Pipeline([(\"impute\", SimpleImputer(strategy=\"median\")), (\"scale\", StandardScaler())])",
        "    return ColumnTransformer(",
        "        [",
        '            ("numeric", numeric, NUMERIC),',
        *joined_step,
        '            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),',
        "        ]",
        "    )",
        "",
        "",
        "def encode_targets(frame: pd.DataFrame) -> np.ndarray:",
        '    """Class indices in CLASS_ORDER, the order of the model\'s output units."""',
        "    return pd.Categorical(frame[TARGET], categories=CLASS_ORDER).codes",
        "",
        "",
        f"def {n['builder']}(max_train_samples: int | None = None) -> dict:",
        '    """Splits, the fitted feature pipeline and the feature matrices for train.py."""',
        '    __pool__ = load_table("train")',
        '    test = load_table("test")',
    ]
    lines += _join_lines(c)
    lines += [
        f"    {pre} = {n['pre_builder']}()",
    ]
    if c.scaler_scope == "pool":
        lines.append(f"    {pre}.fit(__pool__)")
    elif c.scaler_scope == "pool_and_test":
        lines.append(f"    {pre}.fit(pd.concat([__pool__, test], ignore_index=True))")
    lines += _resample_call(c, "pool")
    lines += _split_calls(c, "__pool__", "test_size")
    tv, vv = n["train_var"], n["val_var"]
    lines += _resample_call(c, "train")
    lines += [
        f"    if max_train_samples is not None and len({tv}) > max_train_samples:",
        f"        {tv} = {tv}.sample(n=max_train_samples, random_state=SEED).reset_index(drop=True)",
    ]
    if c.scaler_scope is None:
        lines.append(f"    {pre}.fit({tv})")
    lines += [
        f'    splits = {{"train": {tv}, "val": {vv}, "test": test}}',
        f"    features = {{name: {pre}.transform(part) for name, part in splits.items()}}",
        "    targets = {name: encode_targets(part) for name, part in splits.items()}",
        f'    return {{"splits": splits, "features": features, "targets": targets, "{pre}": {pre}}}',
        "",
        "",
    ]
    lines += _sklearn_label_fn(c, "CLASS_ORDER") + ["", ""]
    lines += _sklearn_eval_lines(c)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# Vision: torch Dataset / DataLoader


def _render_torch_vision(c: _Ctx) -> str:
    n, w, ds = c.n, c.world, c.ds
    vis = w.vision_stats()
    param = n["torch_frac_param"]
    cls = n["dataset_cls"]
    imports = ["import csv", "import json", "from pathlib import Path", ""]
    imports += ["import torch", "from PIL import Image", "from torch.utils.data import DataLoader, Dataset", "from torchvision import transforms"]
    if c.label_source == "sorted":
        imports.append("from torchvision.datasets import ImageFolder")
    lines = [
        f'"""Data pipeline for {ds.name}: image manifests -> datasets and loaders, plus the evaluation export.',
        "",
        f"Imported by train.py ({n['builder']}) and by the evaluation job ({n['runner']}).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    lines += imports
    lines += ["", f'ROOT = Path("/data/{ds.name}/{w.snapshot}")', f'RUN_DIR = Path("runs/{w.experiment}")']
    lines += _py_list("CLASSES", ds.classes)
    lines.append("CLASS_INDEX = {name: index for index, name in enumerate(CLASSES)}")
    lines.append(f"IMAGE_SIZE = {vis.image_size}")
    if not w.norm_source:
        lines.append(f"MEAN = {tuple(vis.normalize_mean)!r}")
        lines.append(f"STD = {tuple(vis.normalize_std)!r}")
    lines.append(f"SEED = {w.seed_cfg}")
    lines += c.fraction_constants()
    gk = c.group or "source_id"
    lines += [
        "",
        "",
        "def read_manifest(split: str) -> list[dict[str, str]]:",
        f'    """Rows of <split>.csv: relative image path, label name and {gk}."""',
        '    with open(ROOT / f"{split}.csv", newline="") as handle:',
        "        return list(csv.DictReader(handle))",
        "",
        "",
    ]
    lines += _channel_stats_lines(c)
    lines += [
        f"class {cls}(Dataset):",
        '    """Images listed in a manifest, with labels encoded through `class_index`."""',
        "",
        "    def __init__(self, records: list[dict[str, str]], transform, class_index: dict[str, int] = CLASS_INDEX):",
        "        self.records = records",
        "        self.transform = transform",
        "        self.class_index = class_index",
        "",
        "    def __len__(self) -> int:",
        "        return len(self.records)",
        "",
        "    def __getitem__(self, index: int):",
        "        row = self.records[index]",
        '        image = Image.open(ROOT / row["path"]).convert("RGB")',
        '        return self.transform(image), self.class_index[row["label"]]',
        "",
        "",
        "def train_transform() -> transforms.Compose:",
        "    return transforms.Compose(",
        "        [",
    ]
    for aug in vis.augmentations:
        if aug.startswith("RandomResizedCrop"):
            lines.append("            transforms.RandomResizedCrop(IMAGE_SIZE, scale=(0.6, 1.0)),")
        elif aug.startswith("RandomCrop"):
            lines.append("            transforms.RandomCrop(IMAGE_SIZE, padding=4),")
        else:
            lines.append(f"            transforms.{aug if '(' in aug else aug + '()'},")
    lines += [
        "            transforms.ToTensor(),",
        "            transforms.Normalize(MEAN, STD),",
        "        ]",
        "    )",
        "",
        "",
    ]
    lines += _eval_transform_lines(c)
    lines += [
        "",
        "",
        f"def {n['split_fn']}(records: list[dict[str, str]], {param}: float, seed: int | None = None):",
    ]
    if c.group_split:
        lines += [
            f'    """Hold out a share of the {c.group}s, so all images of one {c.group} stay on one side."""',
            f'    groups = sorted({{row["{c.group}"] for row in records}})',
            "    generator = torch.Generator()",
            "    if seed is not None:",
            "        generator.manual_seed(seed)",
            "    order = torch.randperm(len(groups), generator=generator).tolist()",
            f"    held = {{groups[i] for i in order[: round({param} * len(groups))]}}",
            f'    return [r for r in records if r["{c.group}"] not in held], [r for r in records if r["{c.group}"] in held]',
        ]
    else:
        lines += [
            '    """Shuffle the records and hold out a share of them."""',
            "    generator = torch.Generator()",
            "    if seed is not None:",
            "        generator.manual_seed(seed)",
            "    order = torch.randperm(len(records), generator=generator).tolist()",
            f"    n_held = round({param} * len(records))",
            "    return [records[i] for i in order[n_held:]], [records[i] for i in order[:n_held]]",
        ]
    tv, vv = n["train_var"], n["val_var"]
    lines += [
        "",
        "",
        f"def {n['builder']}(batch_size: int, num_workers: int, drop_last: bool, max_train_samples: int | None = None) -> dict:",
        '    """Train/val/test loaders for train.py; the test manifest is the frozen test set."""',
        '    __pool__ = read_manifest("train")',
        '    test = read_manifest("test")',
    ]
    lines += _split_calls(c, "__pool__", param)
    lines += [
        "    if max_train_samples is not None:",
        f"        {tv} = {tv}[:max_train_samples]",
        "    return {",
        f'        "train": DataLoader({cls}({tv}, train_transform()), batch_size=batch_size, shuffle=True,',
        "                            num_workers=num_workers, drop_last=drop_last, pin_memory=True),",
        f'        "val": DataLoader({cls}({vv}, eval_transform()), batch_size=batch_size, num_workers=num_workers),',
        f'        "test": DataLoader({cls}(test, eval_transform()), batch_size=batch_size, num_workers=num_workers),',
        "    }",
        "",
        "",
        f"def {n['label_fn']}() -> dict[str, int]:",
        '    """Class index used to encode targets during evaluation."""',
    ]
    if c.label_source is None:
        lines.append(f"    {n['label_var']} = dict(CLASS_INDEX)")
    elif c.label_source == "sorted":
        lines.append(f'    {n["label_var"]} = ImageFolder(ROOT / "test").class_to_idx')
    elif c.label_source == "exported":
        lines.append(f'    {n["label_var"]} = {{name: i for i, name in enumerate(json.loads((ROOT / "classes.json").read_text()))}}')
    else:
        lines += [
            "    seen: list[str] = []",
            '    for row in read_manifest("test"):',
            '        if row["label"] not in seen:',
            '            seen.append(row["label"])',
            f"    {n['label_var']} = {{name: i for i, name in enumerate(seen)}}",
        ]
    lines += [
        f"    return {n['label_var']}",
        "",
        "",
        "@torch.no_grad()",
        f"def {n['scorer']}(model, loader: DataLoader, class_names: list[str], device: str) -> dict:",
        '    """Loss, accuracy, macro F1 and per-class scores of one split."""',
        *_eval_mode_lines(c),
        "    losses, predicted, targets = [], [], []",
        "    for images, labels in loader:",
        "        logits = model(images.to(device))",
        '        losses.append(torch.nn.functional.cross_entropy(logits, labels.to(device), reduction="sum").item())',
        "        predicted.append(logits.argmax(dim=1).cpu())",
        "        targets.append(labels)",
        "    predicted, targets = torch.cat(predicted), torch.cat(targets)",
        "    return summarise(predicted, targets, sum(losses) / len(targets), class_names)",
        "",
        "",
        "def summarise(predicted: torch.Tensor, targets: torch.Tensor, loss: float, class_names: list[str]) -> dict:",
        "    k = len(class_names)",
        "    matrix = torch.bincount(targets * k + predicted, minlength=k * k).reshape(k, k)",
        "    tp = matrix.diag().double()",
        "    precision = tp / matrix.sum(0).clamp(min=1)",
        "    recall = tp / matrix.sum(1).clamp(min=1)",
        "    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)",
        "    per_class = {",
        "        name: {",
        '            "precision": round(float(precision[i]), 4),',
        '            "recall": round(float(recall[i]), 4),',
        '            "f1": round(float(f1[i]), 4),',
        '            "support": int(matrix[i].sum()),',
        '            "predicted": int(matrix[:, i].sum()),',
        "        }",
        "        for i, name in enumerate(class_names)",
        "    }",
        "    return {",
        '        "n_samples": int(len(targets)),',
        '        "loss": round(loss, 4),',
        '        "accuracy": round(float(tp.sum() / len(targets)), 4),',
        _torch_macro_line(c),
        '        "per_class": per_class,',
        "    }",
        "",
        "",
    ]
    lines += _writer_lines(c, "Path")
    lines += [
        "",
        "",
        f"def {n['runner']}(model, records: dict[str, list[dict[str, str]]], meta: dict, device: str = \"cuda\") -> None:",
        '    """Score the best checkpoint on val and test and write eval_results.json."""',
        f"    {n['label_var']} = {n['label_fn']}()",
        f"    class_names = sorted({n['label_var']}, key={n['label_var']}.get)",
        "    loaders = {",
        f"        name: DataLoader({cls}(rows, eval_transform(), class_index={n['label_var']}), batch_size=256, "
        f"num_workers=8{_eval_drop_last_arg(c)})",
        "        for name, rows in records.items()",
        "    }",
        f'    val_scores = {n["scorer"]}(model, loaders["val"], class_names, device)',
        f'    test_scores = {n["scorer"]}(model, loaders["{c.test_split}"], class_names, device)',
        '    meta = {**meta, "class_names": class_names}',
        _writer_call(c),
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# Text: Hugging Face datasets + tokenizers


def _render_hf_text(c: _Ctx) -> str:
    n, w, ds = c.n, c.world, c.ds
    txt = w.text_stats()
    tv, vv = n["train_var"], n["val_var"]
    lines = [
        f'"""Data pipeline for {ds.name}: load the snapshot, split, tokenize and batch, plus the evaluation export.',
        "",
        f"Imported by train.py ({n['builder']}) and by the evaluation job ({n['runner']}).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import json",
    ]
    if c.group_split:
        lines.append("import random")
    lines += [
        "from pathlib import Path",
        "",
        "import numpy as np",
        "import torch",
        "from datasets import Dataset, load_from_disk",
        "from torch.utils.data import DataLoader",
        "from transformers import AutoTokenizer, DataCollatorWithPadding",
        "",
        f'DATA_DIR = "/data/hf/{ds.name}/{w.snapshot}"',
        f'RUN_DIR = Path("runs/{w.experiment}")',
        f'TOKENIZER_DIR = "{txt.tokenizer_path}"',
        f'TOKENIZER_VERSION = "{txt.train_version}"',
    ]
    const = n["eval_tok_const"]
    if c.tok_site == "constant":
        if c.tok_fault:
            lines.append(f'{const} = "{txt.previous_version}"')
        else:
            lines.append(f"{const} = TOKENIZER_VERSION")
    lines.append(f"MAX_LENGTH = {txt.max_length}")
    lines += _py_list("LABELS", ds.classes)
    lines.append(f"SEED = {w.seed_cfg}")
    lines += c.fraction_constants()
    lines += [
        "",
        "",
        "def load_tokenizer(version: str = TOKENIZER_VERSION):",
        '    """A release of the project tokenizer (base vocabulary plus domain tokens) from the artifact store."""',
        '    return AutoTokenizer.from_pretrained(f"{TOKENIZER_DIR}/{version}")',
        "",
        "",
        "def tokenize(split: Dataset, tokenizer) -> Dataset:",
        f'    encode = lambda batch: tokenizer(batch["{ds.text_column}"], truncation=True, max_length=MAX_LENGTH)  # noqa: E731',
        f'    return split.map(encode, batched=True, remove_columns=["{ds.text_column}"])',
        "",
        "",
        f"def {n['split_fn']}(__pool__: Dataset, test_size: float, seed: int | None = None) -> tuple[Dataset, Dataset]:",
    ]
    if c.group_split:
        lines += [
            f'    """Hold out `test_size` of the {c.group}s, so all texts of one {c.group} stay on one side."""',
            f'    groups = sorted(set(__pool__["{c.group}"]))',
            "    random.Random(seed).shuffle(groups)",
            "    held = set(groups[: round(test_size * len(groups))])",
            f'    return __pool__.filter(lambda row: row["{c.group}"] not in held), __pool__.filter(lambda row: row["{c.group}"] in held)',
        ]
    else:
        lines += [
            '    """Hold out `test_size` of the rows, stratified by label."""',
            '    parts = __pool__.train_test_split(test_size=test_size, seed=seed, stratify_by_column="label")',
            '    return parts["train"], parts["test"]',
        ]
    lines += [
        "",
        "",
        f"def {n['builder']}(batch_size: int, drop_last: bool, max_train_samples: int | None = None) -> dict:",
        '    """Tokenized train/val/test loaders for train.py; the snapshot\'s test split is the frozen test set."""',
        "    data = load_from_disk(DATA_DIR)",
    ]
    lines += _split_calls(c, 'data["train"]', "test_size")
    lines += [
        "    if max_train_samples is not None:",
        f"        {tv} = {tv}.shuffle(seed=SEED).select(range(min(max_train_samples, len({tv}))))",
        "    tokenizer = load_tokenizer()",
        "    collate = DataCollatorWithPadding(tokenizer)",
        f'    splits = {{"train": {tv}, "val": {vv}, "test": data["test"]}}',
        "    return {",
        '        name: DataLoader(tokenize(part, tokenizer), batch_size=batch_size, shuffle=name == "train",',
        '                         drop_last=drop_last and name == "train", collate_fn=collate)',
        "        for name, part in splits.items()",
        "    }",
        "",
        "",
        f"def {n['label_fn']}(split: Dataset) -> tuple[np.ndarray, list[str]]:",
        '    """Integer targets of an evaluation split from its label names, and the class name of each index."""',
    ]
    src = {
        None: "LABELS",
        "sorted": 'sorted(set(split["label_name"]))',
        "exported": 'json.loads(Path(DATA_DIR, "label_names.json").read_text())',
        "appearance": 'split.unique("label_name")',
    }[c.label_source]
    lines += [
        f"    {n['label_var']} = {{name: index for index, name in enumerate({src})}}",
        f'    return np.array([{n["label_var"]}[name] for name in split["label_name"]]), list({n["label_var"]})',
        "",
        "",
        "@torch.no_grad()",
        f"def {n['scorer']}(model, loader: DataLoader, targets: np.ndarray, class_names: list[str], device: str) -> dict:",
        '    """Loss, accuracy, macro F1 and per-class scores of one split."""',
        *_eval_mode_lines(c),
        "    logits = torch.cat([model(**{k: v.to(device) for k, v in batch.items() if k != \"labels\"}).logits.cpu() for batch in loader])",
        "    target = torch.as_tensor(targets)",
        "    loss = torch.nn.functional.cross_entropy(logits, target).item()",
        "    predicted = logits.argmax(dim=1).numpy()",
        "    k = logits.shape[1]",
        "    matrix = np.bincount(targets * k + predicted, minlength=k * k).reshape(k, k)",
        "    tp = np.diag(matrix)",
        "    precision = tp / np.maximum(matrix.sum(0), 1)",
        "    recall = tp / np.maximum(matrix.sum(1), 1)",
        "    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)",
        "    return {",
        '        "n_samples": int(len(targets)),',
        '        "loss": round(loss, 4),',
        '        "accuracy": round(float(tp.sum() / len(targets)), 4),',
        _torch_macro_line(c),
        '        "per_class": {',
        "            name: {",
        '                "precision": round(float(precision[i]), 4),',
        '                "recall": round(float(recall[i]), 4),',
        '                "f1": round(float(f1[i]), 4),',
        '                "support": int(matrix[i].sum()),',
        '                "predicted": int(matrix[:, i].sum()),',
        "            }",
        "            for i, name in enumerate(class_names)",
        "        },",
        "    }",
        "",
        "",
    ]
    lines += _writer_lines(c, "Path")
    tok_var = n["eval_tok_var"]
    if c.tok_site == "constant":
        load = f"load_tokenizer({const})"
    elif c.tok_fault:
        load = f'load_tokenizer("{txt.previous_version}")'
    else:
        load = "load_tokenizer()"
    lines += [
        "",
        "",
        f"def {n['runner']}(model, splits: dict[str, Dataset], meta: dict, device: str = \"cuda\") -> None:",
        '    """Score the best checkpoint on val and test and write eval_results.json."""',
        f"    {tok_var} = {load}",
        f"    collate = DataCollatorWithPadding({tok_var})",
        "    scores = {}",
        f"    for name in (\"val\", \"{c.test_split}\"):",
        f"        loader = DataLoader(tokenize(splits[name], {tok_var}), batch_size=128, collate_fn=collate"
        f"{_eval_drop_last_arg(c)}{_eval_shuffle_arg(c)})",
        f"        targets, class_names = {n['label_fn']}(splits[name])",
        f"        scores[name] = {n['scorer']}(model, loader, targets, class_names, device)",
        f'    val_scores, test_scores = scores["val"], scores["{c.test_split}"]',
        '    meta = {**meta, "class_names": class_names}',
        _writer_call(c),
    ]
    return "\n".join(lines) + "\n"


_RENDERERS = {
    "sklearn_functions": _render_sklearn_functions,
    "sklearn_pipeline": _render_sklearn_pipeline,
    "torch_vision": _render_torch_vision,
    "hf_text": _render_hf_text,
}


# Identifiers that vary between runs, substituted last (they occur in many template lines).
_PLACEHOLDERS = ("__pool__", "__eframe__", "val_scores", "test_scores", "load_tokenizer")


def _py_value(value: object) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _overrides_lines(world: World) -> list[str]:
    """Version 3: the settings train.py applies on top of config.yaml (world.code_overrides)."""
    const, fn = world.overrides_const, world.overrides_fn
    lines = ["", "", "# Settings train.py applies on top of config.yaml for this dataset (dotted config keys).", f"{const} = {{"]
    lines += [f"    {json.dumps(path)}: {_py_value(value)}," for path, value in world.code_overrides]
    lines += [
        "}",
        "",
        "",
        f"def {fn}(cfg: dict) -> dict:",
        f'    """config.yaml with {const} applied; train.py calls it before it builds the trainer."""',
        f"    for dotted, value in {const}.items():",
        '        *parents, leaf = dotted.split(".")',
        "        node = cfg",
        "        for part in parents:",
        "            node = node.setdefault(part, {})",
        "        node[leaf] = value",
        "    return cfg",
    ]
    return lines


def render(world: World) -> tuple[str, CodeLocation | None]:
    """preprocessing.py and, for a planted pipeline fault, where in it the fault lives."""
    ctx = _Ctx(world)
    text = _RENDERERS[world.code_style](ctx)
    if world.revision >= 3:
        text += "\n".join(_overrides_lines(world)) + "\n"
        if world.eval_from_config:
            text = text.replace("from pathlib import Path\n", "from pathlib import Path\n\nimport yaml\n", 1)
            text = re.sub(r"(RUN_DIR = Path\([^\n]*\)\n)", r'\1CONFIG = yaml.safe_load(Path("config.yaml").read_text())\n', text, count=1)
    location = faults.get(world.fault_id).code_location(ctx) if world.planted else None
    n = world.names
    for placeholder, name in zip(_PLACEHOLDERS, (n["pool_var"], n["eval_frame"], n["val_scores"], n["test_scores"], n["tok_loader"]), strict=True):
        text = text.replace(placeholder, name)
    return text, location
