"""The world model behind a scenario: one simulated training run, with or without its planted fault.

A world is drawn from seeded streams in a fixed order: the base run (model, dataset, code style,
config, hardware, clock), then the fault's details (bad values, mechanism variant), then the data
splits, training and evaluation, which is where a planted fault changes the run through its real
mechanism. The healthy twin of a world (`planted=False`) shares every draw of the base run and of the
fault's details and simply does not apply them, so it is "the same run without the fault".

Every artifact and sanity check is rendered from a World, so numbers that appear twice agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from mlopsdebug_generator import catalog, evaluation, faults, ids, training
from mlopsdebug_generator.catalog import ADAPTIVE_OPTIMIZERS, SAFE_MAX_LR, DatasetSpec, Gpu, ModelSpec
from mlopsdebug_generator.draws import nice_round as _nice_round
from mlopsdebug_generator.draws import pick as _pick
from mlopsdebug_generator.draws import uniform_int as _int
from mlopsdebug_generator.faults.base import EvalInputs, FaultParams, NoParams, TrainingEffects

CODE_STYLES = {
    "tabular": ("sklearn_functions", "sklearn_pipeline"),
    "vision": ("torch_vision",),
    "text": ("hf_text",),
}
CONFIG_LAYOUTS = ("sections", "lightning", "nested")


@dataclasses.dataclass(slots=True)
class SplitData:
    """Sizes, class counts and source statistics of the three splits (index 0 train, 1 val, 2 test)."""

    n: tuple[int, int, int]
    n_train_available: int  # train rows before max_train_samples
    counts: np.ndarray  # (3, K) in training class order
    id_examples: tuple[tuple[str, ...], ...]
    shared_ids: int  # ids present in both train and val
    n_unique_ids: int
    groups: tuple[int, int, int] | None  # distinct source groups per split
    shared_groups: int
    n_unique_groups: int
    content_duplicates: int  # val items whose content duplicates a train item under another id
    val_seen_fraction: float
    val_seen_strength: float
    pool_rows: int  # rows of the labelled pool the pipeline split into train/val
    healthy_train: int  # train size the intended split would give (what the author sized the config for)
    # Distinct ids per split when oversampling repeats rows within a split (None: every row is distinct).
    unique_ids: tuple[int, int, int] | None = None


@dataclasses.dataclass(slots=True)
class TabularStats:
    raw_mean: np.ndarray  # (3, F) per split, raw units
    raw_std: np.ndarray
    scaler_mean: np.ndarray  # (F,)
    scaler_scale: np.ndarray
    scaler_samples: int
    scaled_mean: np.ndarray  # (3, F)
    scaled_std: np.ndarray
    unseen_categories: np.ndarray  # (2, C) categories unseen at fit time, in val and test
    input_dim: int


@dataclasses.dataclass(slots=True)
class TextStats:
    tokenizer_name: str
    tokenizer_path: str
    train_version: str
    eval_version: str
    vocab_train: int
    vocab_eval: int
    max_length: int
    lowercase: bool
    mean_tokens: np.ndarray  # (3,) with the training tokenizer
    p95_tokens: np.ndarray
    truncated: np.ndarray
    unk_rate: np.ndarray
    eval_mean_tokens: np.ndarray  # (2,) val, test as the evaluation tokenised them
    eval_unk_rate: np.ndarray
    # The tokenizer release before train_version (what an evaluation pinned to it would load).
    previous_version: str
    previous_vocab: int


@dataclasses.dataclass(slots=True)
class VisionStats:
    image_size: int
    pixel_mean: np.ndarray  # (3, C)
    pixel_std: np.ndarray
    normalize_mean: tuple[float, ...]
    normalize_std: tuple[float, ...]
    augmentations: tuple[str, ...]


@dataclasses.dataclass(slots=True)
class EvalReport:
    class_names: tuple[str, ...]  # evaluation's index -> name
    val: evaluation.SplitScores  # as written under metrics.val
    test: evaluation.SplitScores  # as written under metrics.test
    checkpoint: str
    seconds: float


@dataclasses.dataclass(slots=True)
class World:
    task_id: str
    seed: int
    generator_version: str
    # The task version the world is built for: behaviour added after version 1 applies only from its
    # version on, so pinned task ids ("easy-v1") reproduce their published scenarios byte for byte.
    revision: int
    fault_id: str
    planted: bool
    scenario_id: str
    run_id: str
    started_at: dt.datetime
    modality: str
    dataset: DatasetSpec
    model: ModelSpec
    code_style: str
    config_layout: str
    names: dict[str, str]
    gpu: Gpu
    host: str
    torch_version: str
    site_packages: str
    team: str
    experiment: str
    git_commit: str
    precision: str
    seed_cfg: int
    num_workers: int
    snapshot: str
    pretrained: bool
    dropout: float
    max_length: int  # text models: tokenizer truncation length
    # Splitting
    val_fraction: float
    test_fraction: float  # 0 when the dataset ships an official test split
    split_param: float  # held-out fraction the val carve really used (== val_fraction unless planted)
    max_train_samples: int | None
    classes: tuple[str, ...]  # training index -> name
    eval_classes: tuple[str, ...]  # evaluation index -> name (differs only with a label fault)
    # Optimisation
    optimizer: str
    lr: float  # as configured (the bad value when planted)
    healthy_lr: float
    lr_opt: float
    momentum: float | None
    healthy_momentum: float | None
    nesterov: bool
    weight_decay: float
    betas: tuple[float, float]
    batch_size: int
    healthy_batch_size: int
    drop_last: bool
    eval_batch_size: int
    epochs: int
    schedule: training.Schedule
    patience: int
    min_delta: float
    grad_clip: float | None
    log_every: int
    params_count: int
    # The fault's drawn details (typed per plugin); the healthy twin has the same ones, unapplied.
    details: FaultParams = dataclasses.field(default_factory=NoParams)
    # Knobs a planted fault turns (healthy values by default); the simulation and renderers read them.
    split_mechanism: str = ""  # "" | "double_split" | "duplicate_sources"
    split_reseed: str = "offset"  # how a second split call is seeded: "offset" | "unseeded"
    split_inverted: bool = False  # the held-out share is written as 1 - fraction
    scaler_scope: str = ""  # "" (train split) | "pool" | "pool_and_test"
    label_source: str = ""  # "" (training's map) | "sorted" | "exported" | "appearance"
    swap_site: str = ""  # "" | "call" | "writer": val/test metric blocks exchanged there
    tokenizer_site: str = "call"  # how evaluation names its tokenizer: "call" | "constant"
    eval_tokenizer_drift: bool = False  # evaluation loads the previous tokenizer release
    test_scored_on: str = "test"  # the split evaluation scores under the "test" key
    eval_drop_last: bool = False  # evaluation loaders drop the last, incomplete batch
    macro_average: str = "macro"  # what eval_results calls macro_f1: "macro" or (planted) "weighted"
    eval_train_mode: bool = False  # the scorer never switches the model to evaluation mode
    eval_shuffle: bool = False  # the evaluation loader shuffles while the labels are read in file order
    # Healthy noise of version 2 (see _draw_check_noise): real runs trip checks for benign reasons.
    test_shift: float = 0.0  # the test split is harder than val (collected later): accuracy points lost
    benign_spike: float = 0.0  # a recovered gradient spike (bad batch): factor on one logged norm
    benign_spike_at: float = 0.5
    tabular_duplicates: int = 0  # val rows duplicating train rows under other ids (re-exports)
    # fp16 training scales the loss (torch.amp.GradScaler) so small gradients do not underflow; rendered
    # from version 2 on, where healthy bf16/fp32 runs list it either way (it only acts in fp16).
    grad_scaler: bool = True
    # Data-pipeline variation of version 2 (see _draw_data_noise) and the knobs data faults turn.
    join_table: str = ""  # tabular: a lookup table merged on the id column before the split ("" = none)
    joined_column: str = ""  # the column the join adds to the model's inputs
    joined_const: str = "JOINED"  # the module constant listing the joined columns
    joined_missing: tuple[float, float, float] = (0.0, 0.0, 0.0)  # share of rows without a match, per split
    # |correlation| with the target per split: numeric features (F, 3), then the joined column (3,).
    feature_association: np.ndarray | None = None
    joined_association: tuple[float | None, float | None, float | None] = (0.0, 0.0, 0.0)
    target_leak_acc: float = 0.0  # the joined column encodes the label: the accuracy it lets val reach
    target_leak_drop: float = 0.0  # test accuracy lost when the frozen test rows lack the column
    leak_lift: float = 0.0  # filled by the simulation: accuracy the encoded label added on val
    eval_resize: int = 0  # vision: Resize() before the centre crop of eval_transform (0 = version 1 code)
    eval_augment: str = ""  # "" | "reuse" (eval_transform returns train_transform()) | "crop" (random crop + flip)
    eval_augment_drop: float = 0.0  # accuracy lost to randomly cropped evaluation inputs
    # Random oversampling of the smaller classes: "" (none), "train" (the training split, after the
    # split) or "pool" (the labelled pool, before the split: copies of one row land on both sides).
    resample_scope: str = ""
    resample_fn: str = "oversample"  # the pipeline function that resamples
    # Extra rows per id that the joined lookup table holds (its history, not deduplicated): a merge
    # repeats each row 1 + Poisson(join_duplicates) times, before the split (0 = one row per id).
    join_duplicates: float = 0.0
    # Vision: where Normalize's mean/std come from: "" (published or ImageNet constants), "pool" (computed
    # on the train manifest, version 2 noise) or "test" (computed on the frozen test manifest).
    norm_source: str = ""
    test_pixel_shift: float = 0.0  # the test images' channel means sit this many stds from train's
    # Version 3: settings train.py applies on top of config.yaml, from a dict in preprocessing.py (see
    # _draw_overrides). Entries are (dotted config path, value); config_shown holds what config.yaml shows
    # for a knob whose effective value comes from the code (by config kind, e.g. "learning_rate").
    code_overrides: tuple[tuple[str, object], ...] = ()
    config_shown: dict[str, object] = dataclasses.field(default_factory=dict)
    overrides_const: str = ""
    overrides_fn: str = ""
    # A planted config fault's bad value sits in the code's overrides (config.yaml keeps the healthy one).
    fault_in_code: bool = False
    # Version 3: evaluation settings (loader shuffle, the F1 average reported as macro_f1) read from config.yaml's
    # evaluation section rather than written in the code; and how a scorer left in training mode shows:
    # "missing" (no model.eval()) or "train_call" (model.train(), as in MC-dropout code it was copied from).
    eval_from_config: bool = False
    eval_train_site: str = "missing"
    lookup_var: str = "lookup"  # the variable a joined lookup table is read into (named per run from version 3)
    v3_duplicates: int = 0  # version 3 noise: val items duplicating train content under other ids, any modality
    # Version 4: whether the evaluation job records the tokenizer release, vocabulary and token statistics of
    # what it scored (text runs; many evaluation scripts log only the tokenizer's path).
    eval_records_tokenizer: bool = True
    # Version 4: the checkpoint was saved without class names, so model_card.json's id2label holds generic
    # names (LABEL_0, LABEL_1, ...), as a model config does when nobody passed it the label names.
    card_generic_labels: bool = False
    # Filled in by the simulation
    splits: SplitData = None  # type: ignore[assignment]
    tabular: TabularStats | None = None
    text: TextStats | None = None
    vision: VisionStats | None = None
    trajectory: training.Trajectory = None  # type: ignore[assignment]
    eval: EvalReport = None  # type: ignore[assignment]
    best_val: evaluation.SplitScores = None  # type: ignore[assignment]  # training loop's view of the best epoch
    benign_warnings: tuple[tuple[str, str, str], ...] = ()
    wall_clock_seconds: float = 0.0
    data_seconds: float = 0.0
    setup_seconds: float = 0.0
    nominal_epoch_seconds: float = 0.0
    config_age_seconds: float = 0.0
    code_age_seconds: float = 0.0
    # The world's seed sequence: extra_rng(world, i) gives independent streams for behaviour added
    # in later versions, so that new draws never shift the draws of published versions.
    seq: np.random.SeedSequence | None = None
    # preprocessing.py and the fault's location in it, once rendered (see render.code).
    code_cache: tuple | None = None

    def tabular_stats(self) -> TabularStats:
        """The tabular statistics, which only a tabular world has (checked here once, not at every use)."""
        if self.tabular is None:
            raise AssertionError(f"a {self.modality} world has no tabular statistics")
        return self.tabular

    def text_stats(self) -> TextStats:
        """The text statistics, which only a text world has (checked here once, not at every use)."""
        if self.text is None:
            raise AssertionError(f"a {self.modality} world has no text statistics")
        return self.text

    def vision_stats(self) -> VisionStats:
        """The vision statistics, which only a vision world has (checked here once, not at every use)."""
        if self.vision is None:
            raise AssertionError(f"a {self.modality} world has no vision statistics")
        return self.vision

    @property
    def fault(self) -> str | None:
        """The fault in effect: None for a healthy twin."""
        return self.fault_id if self.planted else None

    @property
    def primary_metric(self) -> str:
        return self.dataset.primary_metric

    def at(self, offset_seconds: float) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=offset_seconds)


# --------------------------------------------------------------------------------------------------
# Base run


def _choose_optimizer(fault: faults.Fault, model: ModelSpec, rng: np.random.Generator, revision: int) -> str:
    forced = fault.forced_optimizer(revision)
    if forced is not None:
        return forced
    options = fault.optimizer_options(tuple(model.lr), revision)
    # SGD is the classic choice for CNNs trained from scratch; make it common there.
    if "sgd" in options and model.family in ("resnet", "efficientnet", "cnn") and rng.random() < 0.45:
        return "sgd"
    return _pick(rng, options)


_NAME_POOLS: dict[str, tuple[str, ...]] = {
    "writer": ("write_eval_results", "save_eval_report", "dump_metrics", "export_eval_results"),
    "runner": ("run_evaluation", "evaluate_checkpoint", "evaluate_splits", "final_evaluation"),
    "scorer": ("score_split", "compute_metrics", "evaluate_split", "split_metrics"),
    "split_fn": ("split_holdout", "make_split", "holdout_split", "carve_split"),
    "builder": ("build_datasets", "load_splits", "prepare_data", "make_datasets"),
    "frac_const": ("VAL_FRACTION", "VAL_SIZE", "HOLDOUT_FRACTION"),
    "train_frac_const": ("TRAIN_FRACTION", "TRAIN_SPLIT", "TRAIN_SIZE"),
    "label_fn": ("encode_eval_targets", "eval_targets", "load_eval_labels", "targets_for_eval"),
    "label_var": ("eval_label_index", "target_index", "label_lookup", "class_to_id"),
    "eval_tok_var": ("eval_tokenizer", "scoring_tokenizer", "test_tokenizer"),
    "eval_tok_const": ("EVAL_TOKENIZER_VERSION", "EVAL_TOKENIZER_REVISION", "SCORING_TOKENIZER_VERSION"),
    "scaler": ("scaler", "feature_scaler", "std_scaler", "num_scaler"),
    "scale_fn": ("scale_numeric", "standardise", "normalise_features", "fit_scaler"),
    "preprocessor": ("preprocessor", "feature_pipeline", "column_transformer", "feature_union"),
    "pre_builder": ("build_preprocessor", "make_feature_pipeline", "feature_transformer"),
    "frame": ("df", "frame", "table", "data"),
    "dataset_cls": ("LabeledImages", "ImageRecords", "TileDataset", "ImageListDataset"),
    "val_var": ("val_part", "valid_part", "val_split"),
    "train_var": ("train_part", "fit_part", "train_split"),
    "torch_frac_param": ("val_fraction", "holdout", "val_share"),
    "pool_var": ("pool", "labelled", "dev_pool", "full_train"),
    "eval_frame": ("frame", "part", "split_frame", "eval_df"),
    "tok_loader": ("load_tokenizer", "get_tokenizer", "tokenizer_release"),
}


def _draw_names(rng: np.random.Generator) -> dict[str, str]:
    names = {key: _pick(rng, pool) for key, pool in _NAME_POOLS.items()}
    scores = _pick(rng, ("scores", "metrics", "results", "report"))
    names["val_scores"], names["test_scores"] = f"val_{scores}", f"test_{scores}"
    names["seed_offset"] = str(_pick(rng, (1, 1, 2, 7, 11, 100)))
    # How the validation share is written at the split call: a literal, a val constant, or 1 - a train constant.
    names["split_form"] = _pick(rng, ("literal", "val_constant", "train_constant"))
    return names


# --------------------------------------------------------------------------------------------------
# Build


def build_world(
    task_id: str,
    seed: int,
    fault_id: str,
    planted: bool,
    *,
    world_seq: np.random.SeedSequence,
    scenario_id: str,
    run_suffix: str,
    generator_version: str,
    revision: int,
) -> World:
    base_seq, fault_seq, data_seq, train_seq, eval_seq, noise_seq, feature_seq = world_seq.spawn(7)
    rng = np.random.Generator(np.random.PCG64(base_seq))

    fault = faults.get(fault_id)
    modality = fault.choose_modality(rng, revision)
    dataset = fault.choose_dataset(modality, rng, revision)
    modality = dataset.modality
    model = _pick(rng, fault.model_options(catalog.MODELS_BY_MODALITY[modality], revision))
    optimizer = _choose_optimizer(fault, model, rng, revision)
    code_style = _pick(rng, CODE_STYLES[modality])
    layout = _pick(rng, CONFIG_LAYOUTS)
    names = _draw_names(rng)
    gpu = _pick(rng, catalog.GPUS)
    started_at = ids.draw_start_time(rng)
    prefixes = catalog.HOST_PREFIXES if gpu.speed >= 1.0 else tuple(p for p in catalog.HOST_PREFIXES if p not in ("dgx", "a100-pool"))
    host = f"{_pick(rng, prefixes)}-{_int(rng, 1, 48):02d}"
    torch_version = _pick(rng, catalog.TORCH_VERSIONS)
    site = _pick(rng, catalog.PYTHON_SITE)
    team = _pick(rng, catalog.TEAM_NAMES)
    git_commit = ids.short_hex(rng, 7)
    precision_options = ("bf16-mixed", "16-mixed", "32-true") if gpu.bf16 else ("16-mixed", "32-true")
    precision = _pick(rng, precision_options)
    seed_cfg = int(_pick(rng, (0, 7, 13, 42, 1234, 2024, 31337)))
    num_workers = int(_pick(rng, (2, 4, 8, 12, 16)))
    snapshot_day = started_at - dt.timedelta(days=_int(rng, 3, 120))
    snapshot = snapshot_day.strftime("%Y-%m-%d")
    pretrained = model.pretrained and bool(rng.random() < 0.9)
    dropout = float(_pick(rng, (0.0, 0.1, 0.1, 0.2, 0.3)))

    # Splits: the val carve (and a test carve when there is no official test split).
    val_fraction = float(_pick(rng, (0.1, 0.15, 0.2, 0.25)))
    test_fraction = 0.0 if dataset.official_test else float(_pick(rng, (0.1, 0.15, 0.2)))
    big_pool = dataset.pool_size > 150_000
    cap_roll = rng.random()
    forced_cap = fault.train_cap(rng, revision)
    if forced_cap is not None:
        max_train = forced_cap
    elif big_pool and cap_roll < 0.6:
        max_train = int(_pick(rng, (50_000, 100_000, 120_000, 200_000)))
    elif cap_roll < 0.12:
        max_train = int(_pick(rng, (2_000, 3_000, 5_000)))
    else:
        max_train = None

    # Optimisation.
    batch_size = int(_pick(rng, model.batch_sizes))
    batch_ref = model.batch_sizes[len(model.batch_sizes) // 2]
    lr_opt = model.lr[optimizer]
    healthy_lr = _nice_round(lr_opt * math.sqrt(batch_size / batch_ref) * 2.0 ** rng.uniform(-0.6, 0.6), 1)
    if optimizer in ADAPTIVE_OPTIMIZERS:
        healthy_lr = min(healthy_lr, SAFE_MAX_LR)
    momentum = None
    nesterov = False
    if optimizer == "sgd":
        momentum = float(_pick(rng, (0.85, 0.9, 0.9, 0.9, 0.95)))
        nesterov = bool(rng.random() < 0.5)
    elif optimizer == "rmsprop":
        momentum = float(_pick(rng, (0.0, 0.0, 0.9)))
    weight_decay = float(
        _pick(rng, (5e-4, 1e-4, 5e-5)) if optimizer == "sgd" else _pick(rng, (0.0, 0.01, 0.05, 1e-4))
    )
    betas = (0.9, float(_pick(rng, (0.999, 0.999, 0.98))))
    epochs = _int(rng, model.epochs[0], model.epochs[1] + 1)
    schedule_kind = _pick(rng, catalog.SCHEDULERS)
    # The author sizes warmup for this run: at most a tenth of the (estimated) optimizer steps.
    pool_est = dataset.pool_size * (1.0 - test_fraction) * (1.0 - val_fraction)
    steps_est = math.ceil(min(pool_est, max_train or pool_est) / batch_size) * epochs
    warmups = tuple(x for x in (0, 100, 200, 500, 1000) if x <= 0.1 * steps_est) or (0,)
    if schedule_kind == "onecycle":
        schedule = training.Schedule("onecycle", pct_start=float(_pick(rng, (0.25, 0.3))), div_factor=25.0)
    elif schedule_kind in ("cosine", "linear"):
        schedule = training.Schedule(
            schedule_kind,
            warmup_steps=int(_pick(rng, warmups)),
            min_lr=_nice_round(healthy_lr * float(_pick(rng, (0.0, 0.01, 0.001))), 1) if schedule_kind == "cosine" else 0.0,
        )
    elif schedule_kind == "step":
        schedule = training.Schedule(
            "step", step_size=max(1, epochs // int(_pick(rng, (3, 4)))), gamma=float(_pick(rng, (0.1, 0.2, 0.5)))
        )
    elif schedule_kind == "exponential":
        schedule = training.Schedule("exponential", gamma=float(_pick(rng, (0.95, 0.9, 0.97))))
    else:
        schedule = training.Schedule("constant", warmup_steps=int(_pick(rng, (0,) + warmups)))
    patience = int(_pick(rng, (0, 3, 3, 5, 5, 8))) if epochs > 6 else int(_pick(rng, (0, 2)))
    min_delta = float(_pick(rng, (0.0, 0.001, 0.001, 0.0005)))
    grad_clip = _pick(rng, (None, 1.0, 1.0, 5.0)) if modality != "text" else _pick(rng, (1.0, 1.0, None))
    eval_batch = int(_pick(rng, (128, 256, 512)))
    max_length = int(_pick(rng, dataset.max_lengths)) if modality == "text" else 0
    drop_last = bool(rng.random() < (0.6 if modality != "tabular" else 0.25))
    experiment = f"{dataset.name.replace('_', '-')}-{model.family}-{ids.short_hex(rng, 4)}"

    world = World(
        task_id=task_id,
        seed=seed,
        generator_version=generator_version,
        revision=revision,
        fault_id=fault_id,
        planted=planted,
        scenario_id=scenario_id,
        run_id=f"run-{started_at:%Y%m%d}-{run_suffix}",
        started_at=started_at,
        modality=modality,
        dataset=dataset,
        model=model,
        code_style=code_style,
        config_layout=layout,
        names=names,
        gpu=gpu,
        host=host,
        torch_version=torch_version,
        site_packages=site,
        team=team,
        experiment=experiment,
        git_commit=git_commit,
        precision=precision,
        seed_cfg=seed_cfg,
        num_workers=num_workers,
        snapshot=snapshot,
        pretrained=pretrained,
        dropout=dropout,
        max_length=max_length,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        split_param=val_fraction,
        max_train_samples=max_train,
        classes=(),
        eval_classes=(),
        optimizer=optimizer,
        lr=healthy_lr,
        healthy_lr=healthy_lr,
        lr_opt=lr_opt,
        momentum=momentum,
        healthy_momentum=momentum,
        nesterov=nesterov,
        weight_decay=weight_decay,
        betas=betas,
        batch_size=batch_size,
        healthy_batch_size=batch_size,
        drop_last=drop_last,
        eval_batch_size=eval_batch,
        epochs=epochs,
        schedule=schedule,
        patience=patience,
        min_delta=min_delta,
        grad_clip=grad_clip,
        log_every=50,
        params_count=0,
    )
    world.seq = world_seq
    if revision >= 2:
        _draw_check_noise(world)
        _draw_config_extras(world)
        _draw_data_noise(world)
    world.classes = _training_class_order(world)
    world.eval_classes = world.classes

    fault_rng = np.random.Generator(np.random.PCG64(fault_seq))
    world.details = fault.draw(world, fault_rng)
    if revision >= 3:
        _draw_overrides(world, fault)
        _draw_eval_sites(world)
    if revision >= 4:
        _draw_benign_conditions_v4(world)
    kind = getattr(fault, "config_kind", None)
    configured = config_knob(world, kind) if revision >= 3 and kind else None
    if planted:
        fault.plant(world)
    if revision >= 3 and kind:
        _place_config_fault(world, kind, configured)

    data_rng = np.random.Generator(np.random.PCG64(data_seq))
    _build_splits(world, data_rng)
    if revision >= 3 and world.v3_duplicates and not world.splits.content_duplicates:
        world.splits.content_duplicates = world.v3_duplicates
    _build_features(world, np.random.Generator(np.random.PCG64(feature_seq)))
    fault.after_features(world)
    world.params_count = _parameter_count(world)
    world.log_every = _log_interval(world)

    train_rng = np.random.Generator(np.random.PCG64(train_seq))
    _simulate_training(world, train_rng, batch_ref)

    eval_rng = np.random.Generator(np.random.PCG64(eval_seq))
    _evaluate(world, eval_rng)

    noise_rng = np.random.Generator(np.random.PCG64(noise_seq))
    world.benign_warnings = _benign_warnings(world, noise_rng)
    world.config_age_seconds = float(noise_rng.uniform(120.0, 3 * 86400.0))
    world.code_age_seconds = world.config_age_seconds + float(noise_rng.uniform(3600.0, 30 * 86400.0))
    return world


# Children of the world sequence 0-6 are the stages of version 1 (see build_world); later versions take
# their own, one per feature area, so that adding one never changes the draws of another:
#   7: config-fault knobs (warmup, schedule interval, precision, regularisation, accumulation, early stopping)
#   8: data-pipeline knobs (feature engineering, resampling, augmentation, normalisation, joins)
#   9: evaluation knobs (eval mode, thresholds, loaders, metric averaging)
#  10: sanity-check noise
#  11: version 3's code overrides of config.yaml (and where a config fault sits)
#  12: version 3's sanity-check noise
#  13: version 3's evaluation sites (settings read from config.yaml, how training mode is left on)
#  14: version 4's benign conditions of healthy runs (see _draw_benign_conditions_v4)
EXTRA_STREAMS = {
    "config": 7, "data": 8, "evaluation": 9, "check_noise": 10, "overrides": 11, "check_noise_v3": 12, "eval_sites": 13,
    "benign_v4": 14,
}


def extra_rng(world: World, area: str) -> np.random.Generator:
    """A fresh generator on the world's stream for `area` (same draws every time it is asked for)."""
    assert world.seq is not None  # set when the world is built
    return np.random.Generator(np.random.PCG64(ids.child_sequence(world.seq, EXTRA_STREAMS[area])))


# Version 3: names of the dict of config overrides in preprocessing.py and of the function train.py applies it with.
OVERRIDE_CONSTS = ("TRAIN_OVERRIDES", "RUN_OVERRIDES", "CONFIG_OVERRIDES", "HPARAM_OVERRIDES")
OVERRIDE_FNS = ("apply_overrides", "override_config", "with_overrides", "patch_config")
# How often a planted config fault's value is set in the code's overrides rather than in config.yaml, and how
# often a healthy knob is (config.yaml then shows an older value than the one the run used).
FAULT_IN_CODE_RATE = 0.45
KNOB_IN_CODE_RATE = 0.3
# Knobs a healthy run may set in code, and the older values config.yaml may still show for them.
_KNOB_NOISE_KINDS = ("learning_rate", "weight_decay", "dropout")


def config_knob(world: World, kind: str) -> object:
    """The value config.yaml renders for a config field kind (render_config.FIELD_PATHS), from the world's knobs."""
    if kind == "learning_rate":
        return world.lr
    if kind == "momentum":
        return world.momentum
    if kind == "batch_size":
        return world.batch_size
    if kind == "weight_decay":
        return world.weight_decay
    if kind == "dropout":
        return world.dropout
    if kind == "warmup_steps":
        return world.schedule.warmup_steps
    if kind == "scheduler_interval":
        s = world.schedule
        return "step" if s.per_batch or s.kind not in ("step", "exponential") else "epoch"
    if kind == "grad_scaler":
        return world.grad_scaler
    raise ValueError(f"unknown config kind {kind!r}")


def _config_path(world: World, kind: str) -> str:
    from mlopsdebug_generator.render_config import FIELD_PATHS  # noqa: PLC0415 - the renderers import this module

    return FIELD_PATHS[kind][world.config_layout]


def _older_value(kind: str, value: object, rng: np.random.Generator) -> object:
    """A sane value a knob had before the run set it in code (what config.yaml still shows)."""
    if kind == "learning_rate":
        rate = float(value)  # pyright: ignore[reportArgumentType] - a learning-rate knob holds a float
        return float(_nice_round(rate * float(_pick(rng, (0.3, 0.5, 2.0, 3.0)))))
    if kind == "weight_decay":
        return float(_pick(rng, tuple(x for x in (0.0, 1e-4, 5e-4, 0.01, 0.05) if x != value)))
    return float(_pick(rng, tuple(x for x in (0.0, 0.1, 0.2, 0.3) if x != value)))


def _draw_overrides(world: World, fault: faults.Fault) -> None:
    """Version 3: preprocessing.py holds a dict of settings train.py applies on top of config.yaml.

    Teams keep dataset-specific settings next to the data code; most entries are harmless (loader and
    determinism flags), and now and then a knob of the run is set there, so config.yaml shows an older value
    than the one the run used (train.log and the model card show the effective one). Drawn for every world,
    healthy or not, so neither the dict nor an overridden knob points at a fault.
    """
    rng = extra_rng(world, "overrides")
    world.overrides_const = str(_pick(rng, OVERRIDE_CONSTS))
    world.overrides_fn = str(_pick(rng, OVERRIDE_FNS))
    data = {"sections": "data", "lightning": "data", "nested": "train"}[world.config_layout]
    trainer = {"sections": "training", "lightning": "trainer", "nested": "train"}[world.config_layout]
    benign = (
        (f"{data}.pin_memory", True),
        (f"{data}.persistent_workers", True),
        (f"{data}.prefetch_factor", int(_pick(rng, (2, 4, 8)))),
        (f"{trainer}.deterministic", bool(rng.random() < 0.5)),
        (f"{trainer}.benchmark", True),
    )
    chosen = sorted(int(i) for i in rng.choice(len(benign), size=int(rng.integers(1, 4)), replace=False))
    entries: list[tuple[str, object]] = [benign[i] for i in chosen]
    knob_roll, knob_kind = rng.random(), str(_pick(rng, _KNOB_NOISE_KINDS))
    effective = config_knob(world, knob_kind)
    older = _older_value(knob_kind, effective, rng)
    if knob_roll < KNOB_IN_CODE_RATE and knob_kind != getattr(fault, "config_kind", None):
        world.config_shown[knob_kind] = older
        entries.append((_config_path(world, knob_kind), effective))
    world.code_overrides = tuple(entries)
    world.fault_in_code = bool(rng.random() < FAULT_IN_CODE_RATE)


def _draw_eval_sites(world: World) -> None:
    """Version 3: whether the evaluation code reads its settings from config.yaml, and how a scorer would be
    left in training mode. Drawn for every world, so where the settings live never points at a fault."""
    rng = extra_rng(world, "eval_sites")
    world.eval_from_config = bool(rng.random() < 0.5)
    world.eval_train_site = "train_call" if rng.random() < 0.5 else "missing"
    # A test set collected later than the training pool, more often and further off than version 2's noise.
    shift_roll, shift = rng.random(), float(rng.uniform(0.05, 0.09))
    if world.test_shift == 0.0 and shift_roll < 0.5:
        world.test_shift = shift
    # Vision: test images from another camera or batch, their channel means off by a fraction of a std.
    pixel_roll, pixel_shift = rng.random(), float(rng.uniform(0.12, 0.3))
    if world.modality == "vision" and pixel_roll < 0.5:
        world.test_pixel_shift = pixel_shift
    # Re-posted items duplicated under new ids across train and val, in every modality.
    dup_roll, dups = rng.random(), int(rng.integers(1, 7))
    world.v3_duplicates = dups if dup_roll < 0.45 else 0
    world.lookup_var = str(_pick(rng, ("lookup", "side_table", "joined_rows", "extra_frame")))


# Version 4: how often a run that has none of these yet gets one (each drawn for every world, fault or not).
LATER_TEST_SET_RATE = 0.8
RECOVERED_SPIKE_RATE = 0.6
REPOSTED_ITEMS_RATE = 0.7
CAMERA_CHANGE_RATE = 0.4
UNRECORDED_TOKENIZER_RATE = 0.7
TRAIN_RESAMPLING_RATE = 0.5
GENERIC_LABELS_RATE = 0.4


def _draw_benign_conditions_v4(world: World) -> None:
    """Version 4: the benign conditions of versions 2 and 3 are as common as they are in real projects.

    A test set collected later than the pool (test accuracy a few points below val), a bad batch whose
    gradient spike training recovers from, items re-posted under new ids in train and val, test images from
    another camera or batch. And most text runs' evaluation jobs do not record which tokenizer release
    they loaded (eval_results.json lists its path only), more tabular runs rebalance the training split by
    oversampling its smaller classes after the split (a balanced train split, as a fault's pre-split
    oversampling also gives), and many checkpoints are saved without class names (model_card.json's id2label
    reads LABEL_0, LABEL_1, ...). Each shows in the artifacts like any other measurement (eval_results.json,
    train.log, dataset_stats.json, model_card.json) and trips the checks that look for it whatever the run's fault, so the
    verdicts overlap across faults. Drawn in a fixed order for every world, planted or healthy.
    """
    rng = extra_rng(world, "benign_v4")
    shift_roll, shift = rng.random(), float(rng.uniform(0.05, 0.1))
    spike_roll, spike, spike_at = rng.random(), float(rng.uniform(9.0, 90.0)), float(rng.uniform(0.25, 0.9))
    dup_roll, dups = rng.random(), int(rng.integers(1, 7))
    pixel_roll, pixel_shift = rng.random(), float(rng.uniform(0.12, 0.3))
    tokenizer_roll = rng.random()
    resample_roll = rng.random()
    labels_roll = rng.random()
    if world.test_shift == 0.0 and shift_roll < LATER_TEST_SET_RATE:
        world.test_shift = shift
    if world.benign_spike == 0.0 and spike_roll < RECOVERED_SPIKE_RATE:
        world.benign_spike, world.benign_spike_at = spike, spike_at
    if world.v3_duplicates == 0 and dup_roll < REPOSTED_ITEMS_RATE:
        world.v3_duplicates = dups
    if world.modality == "vision" and world.test_pixel_shift == 0.0 and pixel_roll < CAMERA_CHANGE_RATE:
        world.test_pixel_shift = pixel_shift
    world.eval_records_tokenizer = not (world.modality == "text" and tokenizer_roll < UNRECORDED_TOKENIZER_RATE)
    # (A run that merges a lookup table is not also resampled here: the merge already repeats rows.)
    if world.modality == "tabular" and not world.resample_scope and not world.join_table and resample_roll < TRAIN_RESAMPLING_RATE:
        world.resample_scope = "train"
    world.card_generic_labels = bool(labels_roll < GENERIC_LABELS_RATE)


def _place_config_fault(world: World, kind: str, configured: object) -> None:
    """A planted config fault in code: config.yaml keeps the value it had, the overrides set the bad one."""
    if not (world.planted and world.fault_in_code):
        return
    world.config_shown[kind] = configured
    world.code_overrides = (*world.code_overrides, (_config_path(world, kind), config_knob(world, kind)))


def _draw_check_noise(world: World) -> None:
    """Benign causes that make real sanity checks warn or fail on healthy runs (version 2 on).

    A test set collected later than the training pool is harder than the validation split; a bad
    batch spikes the gradient norm once and training recovers; re-exported rows duplicate a few
    training rows under new ids. Each is common in practice, shows in the artifacts like any other
    measurement, and trips the check that looks for it, so a verdict alone does not name a fault.
    """
    rng = extra_rng(world, "check_noise")
    if rng.random() < 0.25:
        world.test_shift = float(rng.uniform(0.02, 0.07))
    if rng.random() < 0.3:
        world.benign_spike = float(rng.uniform(9.0, 90.0))
        world.benign_spike_at = float(rng.uniform(0.25, 0.9))
    if rng.random() < 0.3:
        world.tabular_duplicates = int(rng.integers(1, 9))
def _draw_config_extras(world: World) -> None:
    """Healthy values of the config knobs that version 2 renders (before the fault's details)."""
    rng = extra_rng(world, "config")
    # A GradScaler is a no-op outside fp16, so bf16 and fp32 configs carry either setting.
    scaler_roll = rng.random()
    world.grad_scaler = True if world.precision == "16-mixed" else bool(scaler_roll < 0.5)


JOIN_TABLES = ("crm_export", "account_snapshot", "enrichment", "customer_360", "ops_extract")
JOIN_COLUMNS = (
    "account_status_code", "activity_score", "days_since_update", "review_flag_count", "risk_band",
    "segment_score", "contact_count_90d", "case_priority",
)
JOIN_CONSTS = ("JOINED", "EXTRA_COLUMNS", "ENRICHMENT_COLUMNS", "LOOKUP_COLUMNS")
RESAMPLE_FNS = ("oversample", "balance_classes", "upsample_minority", "resample_classes")


def _draw_data_noise(world: World) -> None:
    """Data-pipeline variation of version 2, drawn from its own stream in a fixed order.

    Half the tabular runs merge a lookup table on the id column and feed one of its columns to the
    model (a join that misses some rows, and in a fifth of runs most of the frozen test rows, which
    predate the lookup snapshot); every tabular run reports how strongly each input tracks the target;
    vision runs resize before the centre crop at evaluation, to the crop size or 8/7 of it.
    """
    rng = extra_rng(world, "data")
    join_roll = rng.random()
    table, column, const = _pick(rng, JOIN_TABLES), _pick(rng, JOIN_COLUMNS), _pick(rng, JOIN_CONSTS)
    missing = rng.uniform(0.0, 0.03, 3)
    late_test = rng.random() < 0.2
    late_missing = float(rng.uniform(0.3, 1.0))
    joined_assoc = rng.uniform(0.02, 0.35) * (1.0 + 0.03 * rng.standard_normal(3))
    wide_resize = rng.random() < 0.5
    resample_train = rng.random() < 0.3
    resample_fn = _pick(rng, RESAMPLE_FNS)
    computed_norm = rng.random() < 0.5
    if world.modality == "tabular":
        n_numeric = len(world.dataset.numeric)
        base = rng.uniform(0.01, 0.42, n_numeric)
        split_noise = 1.0 + 0.04 * rng.standard_normal((n_numeric, 3))
        world.feature_association = np.round(np.clip(base[:, None] * split_noise, 0.0, 1.0), 3)
        if join_roll < 0.5:
            world.join_table, world.joined_column, world.joined_const = table, column, const
        world.resample_fn = resample_fn
        if resample_train:
            world.resample_scope = "train"
        test_missing = late_missing if late_test else float(missing[2])
        world.joined_missing = (round(float(missing[0]), 4), round(float(missing[1]), 4), round(test_missing, 4))
        world.joined_association = tuple(round(float(x), 3) for x in joined_assoc)  # type: ignore[assignment]
    elif world.modality == "vision":
        size = max(world.dataset.image_size, world.model.min_image_size)
        world.eval_resize = int(round(size * 8 / 7)) if wide_resize else size
        if computed_norm and not world.pretrained:
            world.norm_source = "pool"


def _training_class_order(world: World) -> tuple[str, ...]:
    """Index -> class name as training encodes labels. sklearn's LabelEncoder sorts class names."""
    if world.code_style == "sklearn_functions":
        return tuple(sorted(world.dataset.classes))
    return world.dataset.classes


# --------------------------------------------------------------------------------------------------
# Data


def _allocate(total: int, weights: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Integer class counts summing to `total`: proportional, with multinomial-like noise if asked."""
    if noise > 0:
        return rng.multinomial(total, weights)
    raw = weights * total
    counts = np.floor(raw).astype(np.int64)
    remainder = total - int(counts.sum())
    if remainder:
        order = np.argsort(-(raw - counts), kind="stable")[:remainder]
        counts[order] += 1
    return counts


def _group_pgf(x: float, lam: float) -> float:
    """E[x^s] for group sizes s = 1 + Poisson(lam)."""
    return x * math.exp(lam * (x - 1.0))


def _id(dataset: DatasetSpec, index: int) -> str:
    return f"{dataset.id_prefix}{index:0{dataset.id_digits}d}"


def _build_splits(world: World, rng: np.random.Generator) -> None:
    ds = world.dataset
    weights = np.array([ds.class_weights[ds.classes.index(c)] for c in world.classes])
    # The snapshot drops a few rows (dedup, unreadable files) relative to the published size.
    pool = int(ds.pool_size * (1.0 - rng.uniform(0.0, 0.012)))
    if ds.official_test:
        n_test = int(ds.official_test * (1.0 - rng.uniform(0.0, 0.004)))
        rest = pool
    else:
        n_test = math.ceil(world.test_fraction * pool)
        rest = pool - n_test
    grouped_split = ds.group_key is not None
    mechanism = world.split_mechanism
    row_split = mechanism == "duplicate_sources"

    held = world.split_param
    if world.code_style == "torch_vision":
        n_val = int(round(held * rest))
    else:
        n_val = math.ceil(held * rest)
    if grouped_split and not row_split:
        # GroupShuffleSplit holds out a share of groups; the row count lands near the target.
        n_val = int(round(n_val * (1.0 + 0.012 * rng.standard_normal())))
    n_train_avail = rest - n_val
    n_train = n_train_avail if world.max_train_samples is None else min(world.max_train_samples, n_train_avail)

    stratified = world.code_style in ("sklearn_functions", "sklearn_pipeline") and not grouped_split
    noise = 0.0 if stratified else 1.0
    test_counts = _allocate(n_test, weights, rng, noise if not ds.official_test else 0.0)
    val_counts = _allocate(n_val, weights, rng, noise)
    train_counts = _allocate(n_train, weights, rng, noise)
    counts = np.stack([train_counts, val_counts, test_counts])

    id_space = pool + (ds.official_test if ds.official_test else 0)
    picks = (rng.random((3, 3)) * id_space).astype(np.int64)
    picks.sort(axis=1)
    examples = tuple(tuple(_id(ds, i) for i in row) for row in picks.tolist())

    shared_ids = 0
    shared_groups = 0
    seen_fraction = 0.0
    seen_strength = 1.0
    if mechanism == "double_split":
        # The val rows come from a second, independently shuffled split of the same pool.
        overlap = int(rng.hypergeometric(n_train_avail, rest - n_train_avail, n_val))
        if n_train < n_train_avail:
            overlap = int(rng.hypergeometric(overlap, n_train_avail - overlap, n_train)) if overlap else 0
        shared_ids = max(1, overlap)
        seen_fraction = shared_ids / n_val
        seen_strength = 1.0

    groups = None
    n_unique_groups = 0
    if ds.group_key:
        lam = ds.group_mean_size - 1.0
        g_pool = rest / ds.group_mean_size
        g_test = n_test / ds.group_mean_size
        if row_split:
            f_t = n_train / rest
            f_v = n_val / rest
            g_train = g_pool * (1.0 - _group_pgf(1.0 - f_t, lam))
            g_val = g_pool * (1.0 - _group_pgf(1.0 - f_v, lam))
            both = g_pool * (
                1.0 - _group_pgf(1.0 - f_t, lam) - _group_pgf(1.0 - f_v, lam) + _group_pgf(max(0.0, 1.0 - f_t - f_v), lam)
            )
            shared_groups = max(1, int(round(both * (1.0 + 0.02 * rng.standard_normal()))))
            # A val row shares its source with a train row unless all its group mates stayed out of train.
            none_in_train = math.exp(-lam * f_t) * (1.0 + lam * (1.0 - f_t)) / (1.0 + lam)
            seen_fraction = max(shared_groups / max(1, n_val), 1.0 - none_in_train)
            seen_strength = 0.55 if world.modality != "text" else 0.35
        else:
            g_train = n_train / ds.group_mean_size
            g_val = n_val / ds.group_mean_size
        g_counts = (
            max(1, int(round(g_train * (1.0 + 0.004 * rng.standard_normal())))),
            max(1, int(round(g_val * (1.0 + 0.004 * rng.standard_normal())))),
            max(1, int(round(g_test * (1.0 + 0.004 * rng.standard_normal())))),
        )
        shared_groups = min(shared_groups, g_counts[0], g_counts[1])
        groups = g_counts
        n_unique_groups = sum(g_counts) - shared_groups

    # Healthy noise: a few items duplicated under different ids across splits (re-uploads, reposts).
    content_dups = 0
    if world.modality in ("text", "vision") and rng.random() < 0.35:
        content_dups = int(rng.integers(1, max(2, min(12, n_val // 800 + 2))))
    elif world.modality == "tabular":
        content_dups = world.tabular_duplicates

    n_unique_ids = n_train + n_val + n_test - shared_ids
    unique_ids = None
    if world.join_duplicates:
        n_train, n_val, n_test, n_train_avail, counts, shared_ids, seen_fraction, unique_ids = _duplicated(
            world, weights, rest, n_test
        )
        seen_strength = 1.0
        n_unique_ids = sum(unique_ids) - shared_ids
    if world.resample_scope:
        n_train, n_val, n_train_avail, counts, resampled_shared, resampled_seen, _, unique_ids = _resampled(
            world, weights, rest, counts
        )
        if world.resample_scope == "pool":
            shared_ids, seen_fraction, seen_strength = resampled_shared, resampled_seen, 1.0
        # Oversampling the train split keeps whatever overlap the split itself made (e.g. a second split).
        shared_ids = min(shared_ids, unique_ids[0], unique_ids[1])
        n_unique_ids = unique_ids[0] + unique_ids[1] + n_test - shared_ids
        unique_ids = (unique_ids[0], unique_ids[1], n_test)

    world.splits = SplitData(
        n=(n_train, n_val, n_test),
        n_train_available=n_train_avail,
        counts=counts,
        id_examples=examples,
        shared_ids=shared_ids,
        n_unique_ids=n_unique_ids,
        unique_ids=unique_ids,
        groups=groups,
        shared_groups=shared_groups,
        n_unique_groups=n_unique_groups,
        content_duplicates=content_dups,
        val_seen_fraction=min(1.0, seen_fraction),
        val_seen_strength=seen_strength,
        pool_rows=rest,
        healthy_train=min(rest - math.ceil(world.val_fraction * rest), world.max_train_samples or rest)
        if not (world.resample_scope or world.join_duplicates) else n_train,  # sized for the rows the run saw
    )


def _duplicated(world: World, weights: np.ndarray, rest: int, n_test: int) -> tuple:
    """Split sizes and overlap when a merge repeats every row 1 + Poisson(lam) times before the split (no draws).

    The copies of one id are split independently, so ids land in train and val alike; the test rows,
    merged the same way, hold repeats too but no id of the pool.
    """
    lam = world.join_duplicates
    mean = 1.0 + lam
    total = int(round(rest * mean))
    n_test = int(round(n_test * mean))
    n_val = math.ceil(world.split_param * total)
    n_avail = total - n_val
    cap = world.max_train_samples
    n_train = n_avail if cap is None else min(cap, n_avail)
    v = n_val / total
    train_side = (1.0 - v) * (n_train / n_avail)
    # The copies keep the class mix: proportional counts in every split.
    counts = np.stack([_allocate(n, weights, None, 0.0) for n in (n_train, n_val, n_test)])  # type: ignore[arg-type]
    no_train, no_val = _group_pgf(1.0 - train_side, lam), _group_pgf(1.0 - v, lam)
    neither = _group_pgf(max(0.0, 1.0 - train_side - v), lam)
    unique_train = int(round(rest * (1.0 - no_train)))
    unique_val = int(round(rest * (1.0 - no_val)))
    shared = min(unique_train, unique_val, int(round(rest * (1.0 - no_train - no_val + neither))))
    # A val row has lam other copies on average (Poisson): it was trained on unless none went to train.
    seen = 1.0 - math.exp(-lam * train_side)
    unique_test = int(round(n_test / mean))
    return n_train, n_val, n_test, n_avail, counts, shared, seen, (unique_train, unique_val, unique_test)


def _resampled(world: World, weights: np.ndarray, rest: int, counts: np.ndarray) -> tuple:
    """Split sizes and overlap when RandomOverSampler repeats rows of the smaller classes (no draws).

    "train": the training split is balanced after the split (then capped): repeats stay in train.
    "pool": the labelled pool is balanced before the split, so copies of one minority row are split
    independently and land in train and val alike; val rows whose copies trained behave like train rows.
    """
    k = len(weights)
    cap = world.max_train_samples
    if world.resample_scope == "pool":
        by_class = _allocate(rest, weights, None, 0.0).astype(np.float64)  # type: ignore[arg-type]
        largest = int(by_class.max())
        total = k * largest
        n_val = math.ceil(world.split_param * total)
        n_avail = total - n_val
        v = n_val / total
    else:
        by_class = counts[0].astype(np.float64)
        largest = int(by_class.max())
        n_avail = k * largest
        n_val = int(counts[1].sum())
        v = 0.0
    n_train = n_avail if cap is None else min(cap, n_avail)
    keep = n_train / n_avail
    uniform = np.full(k, 1.0 / k)
    train_counts = _allocate(n_train, uniform, None, 0.0)  # type: ignore[arg-type]
    val_counts = _allocate(n_val, uniform, None, 0.0) if v else counts[1]  # type: ignore[arg-type]
    copies = largest / np.maximum(by_class, 1.0)
    train_side = (1.0 - v) * keep  # chance that one copy ends up in the (capped) train split
    no_train = (1.0 - train_side) ** copies
    no_val = (1.0 - v) ** copies
    neither = max(0.0, 1.0 - train_side - v) ** copies
    unique_train = int(round(float((by_class * (1.0 - no_train)).sum())))
    unique_val = int(round(float((by_class * (1.0 - no_val)).sum()))) if v else n_val
    shared = int(round(float((by_class * (1.0 - no_train - no_val + neither)).sum()))) if v else 0
    seen = 0.0
    if v:
        # A val row is a copy of a training row when another copy of its source row went to train.
        per_class = 1.0 - (1.0 - train_side) ** np.maximum(copies - 1.0, 0.0)
        seen = float((val_counts * per_class).sum() / max(1, n_val))
    stacked = np.stack([train_counts, val_counts, counts[2]])
    return n_train, n_val, n_avail, stacked, shared, seen, 1.0, (unique_train, unique_val)


def _build_features(world: World, rng: np.random.Generator) -> None:
    ds = world.dataset
    n = np.array(world.splits.n, dtype=np.float64)
    if world.modality == "tabular":
        mu = np.array([f.mean for f in ds.numeric])
        sigma = np.array([f.std for f in ds.numeric])
        nf = mu.size
        # Splits are not perfectly exchangeable: at least ~1% of a std apart, more for small splits.
        spread = np.maximum(1.0 / np.sqrt(n), 0.01)[:, None]
        raw_mean = mu[None, :] + sigma[None, :] * spread * rng.standard_normal((3, nf))
        raw_std = sigma[None, :] * (1.0 + 0.012 * rng.standard_normal((3, nf)))
        scope = world.scaler_scope or None
        if scope is None:
            w = np.array([1.0, 0.0, 0.0])
            scaler_samples = world.splits.n[0]
        else:
            # fit_transform on the whole pool (and the test rows): before the split.
            pool_train = float(world.splits.n_train_available)
            if world.resample_scope == "train":  # the pool was scaled before the train split was oversampled
                pool_train = float(world.splits.pool_rows - world.splits.n[1])
            w = np.array([pool_train, n[1], n[2] if scope == "pool_and_test" else 0.0])
            scaler_samples = int(w.sum())
            w = w / w.sum()
        if scope is not None:
            # Make the pooled statistics visibly different from the train split's for one feature.
            j = _int(rng, 0, nf)
            direction = 1.0 if rng.random() < 0.5 else -1.0
            raw_mean[1:, j] = raw_mean[0, j] + direction * sigma[j] * rng.uniform(0.03, 0.06)
        scaler_mean = (w[:, None] * raw_mean).sum(axis=0)
        scaler_var = (w[:, None] * (raw_std**2 + (raw_mean - scaler_mean[None, :]) ** 2)).sum(axis=0)
        scaler_scale = np.sqrt(scaler_var)
        if scope is None:
            scaler_mean = raw_mean[0].copy()
            scaler_scale = raw_std[0].copy()
        scaled_mean = (raw_mean - scaler_mean[None, :]) / scaler_scale[None, :]
        scaled_std = raw_std / scaler_scale[None, :]
        cat_sizes = np.array([c[1] for c in ds.categorical])
        unseen = np.where(
            (cat_sizes[None, :] > 10) & (rng.random((2, cat_sizes.size)) < 0.3),
            rng.integers(1, 3, (2, cat_sizes.size)),
            0,
        )
        world.tabular = TabularStats(
            raw_mean=raw_mean,
            raw_std=raw_std,
            scaler_mean=scaler_mean,
            scaler_scale=scaler_scale,
            scaler_samples=scaler_samples,
            scaled_mean=scaled_mean,
            scaled_std=scaled_std,
            unseen_categories=unseen,
            input_dim=int(mu.size + cat_sizes.sum()) + (1 if world.joined_column else 0),
        )
    elif world.modality == "text":
        fam = world.model.family
        base_vocab = {"distilbert": 30522, "bert": 30522, "roberta": 50265}.get(fam, 0)
        if base_vocab:
            added = _int(rng, 180, 2400)
            vocab_train = base_vocab + added
            unk_base = rng.uniform(0.0001, 0.0008)
        else:
            vocab_train = int(_pick(rng, (20000, 30000, 40000)))
            unk_base = rng.uniform(0.008, 0.025)
        fmt = _pick(rng, ("v", "date", "semver"))
        minor = _int(rng, 3, 12)
        year, month = 2024 + _int(rng, 0, 2), _int(rng, 1, 12)
        older_gap = _int(rng, 1, 3)
        if fmt == "v":
            train_version, old_version = f"v{minor}", f"v{minor - older_gap}"
        elif fmt == "date":
            months_back = _int(rng, 2, 9)
            old_year, old_month = divmod(year * 12 + month - months_back, 12)
            train_version = f"{year}.{month + 1:02d}"
            old_version = f"{old_year}.{old_month + 1:02d}"
        else:
            train_version, old_version = f"1.{minor}.0", f"1.{minor - older_gap}.{_int(rng, 0, 3)}"
        vocab_old = vocab_train - _int(rng, 120, 1800) if base_vocab else vocab_train - _int(rng, 2000, 8000)
        if base_vocab:
            vocab_old = max(base_vocab, vocab_old)
        drifted = world.eval_tokenizer_drift
        max_length = world.max_length
        mean = ds.mean_tokens * (1.0 + 0.01 * rng.standard_normal(3))
        sigma_log = 0.55
        median = mean / math.exp(sigma_log**2 / 2.0)
        p95 = np.minimum(median * math.exp(1.645 * sigma_log), max_length)
        z = (math.log(max_length) - np.log(median)) / sigma_log
        truncated = 0.5 * np.array([math.erfc(v / math.sqrt(2.0)) for v in z])
        mean = np.minimum(mean, max_length * 0.98)
        unk = unk_base * (1.0 + 0.05 * rng.standard_normal(3))
        # Subword tokenizers split the missing domain tokens into pieces; a word-level vocabulary maps them to UNK.
        token_growth = rng.uniform(0.04, 0.14) if base_vocab else 0.0
        unk_growth = rng.uniform(2.5, 6.0) if base_vocab else rng.uniform(2.0, 4.0)
        if drifted:
            eval_mean = mean[1:] * (1.0 + token_growth)
            eval_unk = unk[1:] * unk_growth
        else:
            eval_mean = mean[1:].copy()
            eval_unk = unk[1:].copy()
        world.text = TextStats(
            tokenizer_name=world.model.name if base_vocab else f"{ds.name.replace('_', '-')}-wordpiece",
            tokenizer_path=f"artifacts/tokenizers/{ds.name.replace('_', '-')}-{fam}",
            train_version=train_version,
            eval_version=old_version if drifted else train_version,
            vocab_train=vocab_train,
            vocab_eval=vocab_old if drifted else vocab_train,
            max_length=max_length,
            lowercase=world.model.name.endswith("uncased") or not base_vocab,
            mean_tokens=np.round(mean, 1),
            p95_tokens=np.round(p95, 0),
            truncated=np.round(truncated, 4),
            unk_rate=np.round(unk, 5),
            eval_mean_tokens=np.round(eval_mean, 1),
            eval_unk_rate=np.round(eval_unk, 5),
            previous_version=old_version,
            previous_vocab=vocab_old,
        )
    else:
        size = max(ds.image_size, world.model.min_image_size)
        c = len(ds.channel_mean)
        mean = np.array(ds.channel_mean)[None, :] + 0.0015 * rng.standard_normal((3, c))
        std = np.array(ds.channel_std)[None, :] * (1.0 + 0.004 * rng.standard_normal((3, c)))
        if world.pretrained:
            norm_mean, norm_std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        else:
            norm_mean, norm_std = ds.channel_mean, ds.channel_std
        if c == 1 and world.pretrained:
            norm_mean, norm_std = (0.449,), (0.226,)
        if world.test_pixel_shift:
            mean[2] = mean[0] + world.test_pixel_shift * std[0]
        if world.revision >= 3 and np.array_equal(np.round(mean[2], 4), np.round(np.array(norm_mean), 4)):
            # A one-channel test mean that rounds to the published constant would read as statistics taken from
            # the test images: measured means agree with a published one only to the noise, never exactly.
            mean[2] = mean[2] + 0.0003
        if world.norm_source:
            norm_mean, norm_std = _computed_normalisation(world, np.round(mean, 4), np.round(std, 4))
            if (world.revision >= 3 and world.norm_source == "pool"
                    and np.array_equal(np.round(mean[2], 4), np.round(np.array(norm_mean), 4))):
                mean[2] = mean[2] + 0.0003  # the same coincidence for statistics pooled over train and val
        augment = ["RandomResizedCrop" if size >= 64 else "RandomCrop(padding=4)", "RandomHorizontalFlip"]
        if rng.random() < 0.5:
            augment.append(_pick(rng, ("TrivialAugmentWide", "RandAugment(num_ops=2)", "ColorJitter(0.2, 0.2, 0.2)")))
        world.vision = VisionStats(
            image_size=size,
            pixel_mean=np.round(mean, 4),
            pixel_std=np.round(std, 4),
            normalize_mean=tuple(norm_mean),
            normalize_std=tuple(norm_std),
            augmentations=tuple(augment),
        )


def _computed_normalisation(world: World, mean: np.ndarray, std: np.ndarray) -> tuple[tuple, tuple]:
    """Normalize's statistics computed from a manifest: the train manifest (train + val rows) or the test one."""
    if world.norm_source == "test":
        return tuple(float(x) for x in mean[2]), tuple(float(x) for x in std[2])
    n = np.array(world.splits.n[:2], dtype=np.float64)
    w = n / n.sum()
    pooled = (w[:, None] * mean[:2]).sum(axis=0)
    var = (w[:, None] * (std[:2] ** 2 + (mean[:2] - pooled[None, :]) ** 2)).sum(axis=0)
    return tuple(float(x) for x in np.round(pooled, 4)), tuple(float(x) for x in np.round(np.sqrt(var), 4))


def _parameter_count(world: World) -> int:
    k = len(world.classes)
    model = world.model
    if world.modality != "tabular":
        head = (model.head_in + 1) * k
        if model.name == "textcnn":
            # Embedding table scales with the vocabulary (300-d), three conv banks of 100 filters.
            return world.text_stats().vocab_train * 300 + 3 * (100 * 300 * 4 + 100) + head
        if model.family in ("distilbert", "roberta"):
            return model.backbone_params + 768 * 768 + 768 + head
        return model.backbone_params + head
    d_in = world.tabular_stats().input_dim
    if model.name == "mlp":
        h = model.head_in
        return (d_in + 1) * h + (h + 1) * h + (h + 1) * k
    if model.name == "tab_resnet":
        h = model.head_in
        return (d_in + 1) * h + 3 * 2 * ((h + 1) * h * 2 // 2 + 2 * h) + (h + 1) * k
    if model.name == "ft_transformer":
        d = model.head_in
        per_layer = 4 * (d * d + d) + 2 * (d * int(d * 4 / 3) + d) + 4 * d
        return d_in * d * 2 + 3 * per_layer + (d + 1) * k
    d = model.head_in  # tabnet
    return d_in * 2 + 4 * (2 * (d_in * 2 * d)) + (d + 1) * k + 2 * d * d


_NICE_INTERVALS = (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


def _log_interval(world: World) -> int:
    """log_every_n_steps chosen by the run's author for the healthy run: 2-6 logged steps per epoch."""
    steps = max(1, math.ceil(world.splits.healthy_train / world.healthy_batch_size))
    budget = max(1, min(6, 170 // max(1, world.epochs)))
    target = steps / budget
    intervals = _NICE_INTERVALS + ((2000, 5000, 10000) if world.resample_scope or world.join_duplicates else ())
    for interval in intervals:
        if interval >= target:
            return interval
    return intervals[-1]


# --------------------------------------------------------------------------------------------------
# Training


def _loss_floor(accuracy: float, k: int) -> float:
    """Cross-entropy a model with this accuracy typically reaches (fit to the public benchmarks)."""
    return 1.33 * (1.0 - accuracy) ** 0.8 * math.log(k) ** 0.6


def _throughput(world: World) -> float:
    model = world.model
    thr = model.throughput * world.gpu.speed
    if world.modality == "vision":
        thr *= (224.0 / world.vision_stats().image_size) ** 2
        thr = min(thr, 1500.0 * world.num_workers + 2000.0)
    elif world.modality == "text":
        thr *= 128.0 / world.text_stats().max_length
    if world.precision == "32-true":
        thr *= 0.45
    return thr


def _simulate_training(world: World, rng: np.random.Generator, batch_ref: int) -> None:
    ds = world.dataset
    k = len(world.classes)
    n_train, n_val, _ = world.splits.n
    # Data-size reference: the healthy split's uncapped train size.
    n_full = max(n_train, int(world.splits.pool_rows * (1.0 - world.val_fraction)))
    lo, hi = ds.acc_range
    ceiling = lo + (hi - lo) * (0.7 * world.model.quality + 0.3 * rng.random())
    if world.modality == "vision" and not world.pretrained and world.model.family != "resnet":
        ceiling -= 0.02
    chance = 1.0 / k
    data_ratio = min(1.0, n_train / n_full)
    # Less data costs accuracy; a pretrained backbone loses much less of it.
    penalty = 0.12 if world.pretrained else 0.3
    acc_cap = chance + (ceiling - chance) * (1.0 - penalty * (1.0 - data_ratio**0.35))
    if world.eval_augment:
        # Randomly cropped and flipped evaluation inputs cost accuracy on every validation pass.
        acc_cap -= world.eval_augment_drop
    if world.target_leak_acc > acc_cap:
        # A joined input that encodes the label lets training and validation approach perfect scores.
        world.leak_lift = world.target_leak_acc - acc_cap
        acc_cap = world.target_leak_acc
    floor_val = _loss_floor(acc_cap, k) * (1.0 + 0.05 * rng.standard_normal())
    floor_train = floor_val * (0.3 + 0.45 * data_ratio**0.3)
    overfit_rate = 0.012 * (1.0 / max(data_ratio, 0.02)) ** 0.6 * (1.0 + 0.3 * rng.random())
    onset = 3.0 * data_ratio**0.5 + 1.0
    tau = world.model.tau * (1.0 if not world.pretrained else 0.6) * (1.0 + 0.15 * rng.standard_normal() ** 2)

    effects = faults.get(world.fault_id).training_effects(world, rng) if world.planted else TrainingEffects()

    setup = training.TrainingSetup(
        num_classes=k,
        n_train=n_train,
        n_full=n_full,
        batch_size=world.batch_size,
        tuned_batch=world.healthy_batch_size,
        drop_last=world.drop_last,
        epochs=world.epochs,
        schedule=world.schedule,
        peak_lr=world.lr,
        lr_opt=world.lr_opt * math.sqrt(world.healthy_batch_size / batch_ref),
        tau=tau,
        acc_cap=acc_cap,
        loss_floor_val=floor_val,
        loss_floor_train=floor_train,
        overfit_rate=overfit_rate,
        overfit_onset=onset,
        patience=world.patience,
        min_delta=world.min_delta,
        grad_scale=rng.uniform(0.6, 4.0),
        batch_noise=0.03 + 0.2 / math.sqrt(world.batch_size),
        log_every=world.log_every,
        fp16=world.precision == "16-mixed",
        lr_critical=effects.lr_critical,
        oscillation=effects.oscillation,
        oscillation_slowdown=effects.oscillation_slowdown,
        floor_lift=effects.floor_lift,
        val_seen_fraction=effects.val_seen_fraction,
        val_seen_strength=world.splits.val_seen_strength,
        val_noise=effects.val_noise,
        spike=bool(rng.random() < 0.3),
        benign_spike=world.benign_spike,
        benign_spike_at=world.benign_spike_at,
        update_scale=effects.update_scale,
        grad_norm_factor=effects.grad_norm_factor,
        train_loss_factor=effects.train_loss_factor,
        loss_scaling=world.grad_scaler,
    )
    if effects.overfit_scale != 1.0:
        setup = dataclasses.replace(setup, overfit_rate=setup.overfit_rate * effects.overfit_scale)
    thr = _throughput(world)
    epoch_time = n_train / thr + n_val / (2.5 * thr)
    overhead = rng.uniform(1.0, 6.0)
    world.trajectory = training.simulate(setup, rng, epoch_time, overhead)
    world.nominal_epoch_seconds = epoch_time + overhead
    world.data_seconds = rng.uniform(4.0, 40.0) if world.modality != "tabular" else rng.uniform(0.8, 6.0)
    world.setup_seconds = rng.uniform(2.0, 12.0)


# --------------------------------------------------------------------------------------------------
# Evaluation


def _evaluate(world: World, rng: np.random.Generator) -> None:
    traj = world.trajectory
    counts = world.splits.counts
    k = len(world.classes)
    metric = world.primary_metric
    best = traj.best_epoch
    dominant = int(np.argmax(counts[0]))
    if best:
        val_acc = float(traj.val_acc[best - 1])
        clean = float(traj.clean_val_acc[best - 1])
        val_loss = float(traj.val_loss[best - 1])
        clean_loss = float(traj.clean_val_loss[best - 1])
        # How far training got relative to what this dataset allows; undertrained models lean on one class.
        quality = (clean - 1.0 / k) / max(1e-6, world.dataset.acc_range[0] - 1.0 / k)
        collapse = 0.9 * float(np.clip((0.3 - quality) / 0.3, 0.0, 1.0)) ** 1.5
        logged_acc, logged_loss = val_acc, val_loss
        if world.eval_augment:
            # Random crops draw new inputs on every pass: evaluation's pass differs from the logged one.
            redraw = float(rng.uniform(0.004, 0.015)) * (1.0 if rng.random() < 0.4 else -1.0)
            val_acc = float(np.clip(val_acc + redraw, 0.0, 1.0))
            val_loss = val_loss * (1.0 - 2.0 * redraw)
        val_matrix = evaluation.confusion(rng, counts[1], val_acc, collapse=collapse, dominant=dominant)
        # Test: the same model on held-out data; a small natural gap either way, never exactly zero.
        gap = rng.uniform(0.004, 0.02) * (-1.0 if rng.random() < 0.75 else 1.0)
        test_matrix = None
        for _ in range(6):
            test_matrix = evaluation.confusion(
                rng, counts[2], float(np.clip(clean + gap - world.test_shift - _leak_loss(world), 0.0, 1.0)),
                collapse=collapse, dominant=dominant,
            )
            v = evaluation.primary(val_matrix, metric)
            t = evaluation.primary(test_matrix, metric)
            if abs(v - t) >= 0.004:
                break
            gap *= 1.6
        assert test_matrix is not None  # the loop runs at least once
        test_loss = clean_loss * (1.0 + rng.uniform(0.0, 0.06) if gap < 0 else 1.0 - rng.uniform(0.0, 0.03))
        test_loss *= 1.0 + 2.0 * world.test_shift
        if world.target_leak_acc:
            # Without the column that encoded the label the model is worse than one trained without it.
            test_loss = max(test_loss, 1.5 * _loss_floor(float(np.clip(clean - _leak_loss(world), 0.05, 0.99)), k))
        checkpoint = f"checkpoints/epoch={best:02d}-val_loss={round(logged_loss, 4):.4f}.ckpt"
        val_scores = evaluation.scores(val_matrix, val_loss)
        test_scores = evaluation.scores(test_matrix, test_loss)
    else:
        # No epoch finished: evaluation loads the last weights, which are non-finite.
        val_matrix = evaluation.nan_predictions(counts[1])
        test_matrix = evaluation.nan_predictions(counts[2])
        val_scores = evaluation.scores(val_matrix, None)
        test_scores = evaluation.scores(test_matrix, None)
        checkpoint = "checkpoints/last.ckpt"
    world.best_val = val_scores

    if best and world.eval_augment:
        # The training loop logged its own (differently cropped) pass over val.
        logged_matrix = evaluation.confusion(rng, counts[1], logged_acc, collapse=collapse, dominant=dominant)
        world.best_val = evaluation.scores(logged_matrix, logged_loss)
        traj.val_acc[best - 1] = world.best_val.accuracy
    # The training loop's own record of the best epoch agrees with what evaluation recomputes.
    elif best:
        traj.val_loss[best - 1] = val_scores.loss
        traj.val_acc[best - 1] = val_scores.accuracy
    if traj.steps_per_epoch == 0:
        # The weights never changed: every validation pass saw the same model.
        traj.val_acc[:] = val_scores.accuracy
        traj.clean_val_acc[:] = val_scores.accuracy
        traj.init_val_acc = val_scores.accuracy

    reported_val, reported_test = val_scores, test_scores
    eval_classes = world.classes
    if world.planted:
        measured = EvalInputs(val_matrix, test_matrix, val_scores, test_scores, counts, best)
        report = faults.get(world.fault_id).report(world, rng, measured)
        if report is not None:
            eval_classes, reported_val, reported_test = report.class_names, report.val, report.test
    seconds = (world.splits.n[1] + world.splits.n[2]) / (_throughput(world) * 3.0) + rng.uniform(3.0, 15.0)
    world.eval = EvalReport(
        class_names=eval_classes, val=reported_val, test=reported_test, checkpoint=checkpoint, seconds=seconds
    )
    world.wall_clock_seconds = round(timeline(world)[1], 1)


def _leak_loss(world: World) -> float:
    """Test accuracy a label-encoding input costs on test rows that lack it: its lift, and more."""
    return world.leak_lift + world.target_leak_drop if world.target_leak_acc else 0.0


def timeline(world: World) -> tuple[list[float], float]:
    """Seconds from the run start at which each logged epoch begins, and when the run finished.

    train.log, the run summary and the artifacts' modification times all read this one clock.
    """
    traj = world.trajectory
    t = world.data_seconds + world.setup_seconds + 3.0
    starts: list[float] = []
    for e in range(traj.epochs_completed):
        starts.append(t)
        t += float(traj.epoch_seconds[e]) + 0.8
    if traj.diverge_global:
        starts.append(t)
        spe = max(1, traj.steps_per_epoch)
        frac = (traj.diverge_global - traj.epochs_completed * spe) / spe
        t += 0.85 * world.nominal_epoch_seconds * frac
    # Rounded as the run summary reports it, so the log's last line and its mtime agree.
    return starts, round(t + 0.5, 1)


# --------------------------------------------------------------------------------------------------
# Healthy noise


def _benign_warnings(world: World, rng: np.random.Generator) -> tuple[tuple[str, str, str], ...]:
    """Warnings real runs print that say nothing about the run's health: (phase, logger, message).

    Phases place them in train.log: "data" (loading), "setup" (model and trainer), "train" (epoch 1).
    """
    site = world.site_packages
    pool: list[tuple[str, str, str]] = [
        ("data", "py.warnings",
         f"{site}/torch/utils/data/dataloader.py:558: UserWarning: This DataLoader will create "
         f"{world.num_workers * 2} worker processes in total. Our suggested max number of worker in current system "
         f"is {world.num_workers}, which is smaller than what this DataLoader is going to create. Please be aware "
         "that excessive worker creation might get DataLoader running slow or even freeze, lower the worker "
         "number to avoid potential slowness/freeze if necessary."),
        ("setup", "lightning",
         f"You are using a CUDA device ('{world.gpu.name}') that has Tensor Cores. To properly utilize them, you "
         "should set `torch.set_float32_matmul_precision('medium' | 'high')` which will trade-off precision for "
         "performance."),
        ("train", "py.warnings",
         f"{site}/lightning/pytorch/callbacks/model_checkpoint.py:654: Checkpoint directory "
         f"runs/{world.experiment}/checkpoints exists and is not empty."),
    ]
    if world.precision == "16-mixed" and world.grad_scaler:
        pool.append(("setup", "py.warnings",
                     f"{site}/torch/amp/grad_scaler.py:132: FutureWarning: `torch.cuda.amp.GradScaler(args...)` is "
                     "deprecated. Please use `torch.amp.GradScaler('cuda', args...)` instead."))
        # (A GradScaler that skips the first optimizer step on inf gradients makes the scheduler step first.)
        pool.append(("train", "py.warnings",
                     f"{site}/torch/optim/lr_scheduler.py:224: UserWarning: Detected call of `lr_scheduler.step()` before "
                     "`optimizer.step()`. In PyTorch 1.1.0 and later, you should call them in the opposite order: "
                     "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this will result in PyTorch "
                     "skipping the first value of the learning rate schedule."))
    if world.modality == "vision":
        if world.pretrained:
            pool.append(("setup", "py.warnings",
                         f"{site}/torchvision/models/_utils.py:208: UserWarning: The parameter 'pretrained' is deprecated "
                         "since 0.13 and may be removed in the future, please use 'weights' instead."))
        pool.append(("data", "py.warnings",
                     f"{site}/torchvision/transforms/v2/_deprecated.py:42: UserWarning: The transform `ToTensor()` is "
                     "deprecated and will be removed in a future release. Instead, please use "
                     "`v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`."))
    if world.modality == "text":
        if world.model.name != "textcnn":
            cls = {"distilbert": "DistilBertForSequenceClassification", "bert": "BertForSequenceClassification",
                   "roberta": "RobertaForSequenceClassification"}[world.model.family]
            heads = {
                "distilbert": "['classifier.bias', 'classifier.weight', 'pre_classifier.bias', 'pre_classifier.weight']",
                "bert": "['classifier.bias', 'classifier.weight']",
                "roberta": "['classifier.dense.bias', 'classifier.dense.weight', 'classifier.out_proj.bias', "
                "'classifier.out_proj.weight']",
            }[world.model.family]
            pool.append(("setup", "transformers.modeling_utils",
                         f"Some weights of {cls} were not initialized from the model checkpoint at {world.model.name} "
                         f"and are newly initialized: {heads}"))
        pool.append(("train", "py.warnings",
                     "huggingface/tokenizers: The current process just got forked, after parallelism has already been "
                     "used. Disabling parallelism to avoid deadlocks..."))
    if world.modality == "tabular":
        pool.append(("data", "py.warnings",
                     f"{site}/pandas/core/frame.py:4524: SettingWithCopyWarning: A value is trying to be set on a copy "
                     "of a slice from a DataFrame."))
        unseen = world.tabular_stats().unseen_categories.sum(axis=0)
        if unseen.any():
            column = len(world.dataset.numeric) + int(np.nonzero(unseen)[0][0])
            pool.append(("data", "py.warnings",
                         f"{site}/sklearn/preprocessing/_encoders.py:242: UserWarning: Found unknown categories in "
                         f"columns [{column}] during transform. These unknown categories will be encoded as all zeros"))
    count = int(rng.integers(2, min(5, len(pool)) + 1))
    chosen = rng.choice(len(pool), count, replace=False)
    return tuple(pool[i] for i in sorted(chosen))
