"""Faults through their real mechanisms: evidence in the checks, a healthy twin that passes them,
answer-key fields where the fault lives, and variety across seeds.

The seed's nine faults run on the pinned version-1 tasks, whose checks have no benign noise, so the
strict form holds: every planted run fails its checks and no healthy twin fails any. From version 2
on, checks trip for benign reasons too; the fault contract (test_fault_contract.py) states the rates
every fault meets, and the version-2 config faults' mechanisms are tested here on their own task.
"""

from __future__ import annotations

import collections
import difflib
import json
import math
import re

import pytest
import yaml

from mlopsdebug_common.faults import FAULT_POOLS
from mlopsdebug_common.faults import FAULTS as FAULTS_BY_ID
from mlopsdebug_generator import catalog, core, render, render_config

# The seed's faults and the pinned task that draws each.
V1_TASK = {fault: f"{family}-v1" for (family, version), pool in FAULT_POOLS.items() if version == 1 for fault in pool}
FAULTS = FAULTS_BY_ID

# The checks each fault is meant to trip (status "fail"); the healthy twin must not fail them.
TRIPPED = {
    "exploding_lr": ("loss_trajectory", "gradient_norms"),
    "wrong_optimizer": ("loss_trajectory",),
    "batch_size_overflow": ("loss_trajectory",),
    "data_leakage_scaler": ("feature_statistics",),
    "data_leakage_overlap": ("data_leakage",),
    "wrong_split_ratio": ("class_balance",),
    "label_encoder_mismatch": ("label_consistency", "metric_gap_analysis"),
    "silent_metric_swap": ("metric_gap_analysis",),
    "tokenizer_version_drift": ("encoder_version_match", "metric_gap_analysis"),
    "weight_decay_too_high": ("loss_trajectory",),
    "missing_warmup": ("loss_trajectory", "gradient_norms"),
    "scheduler_interval_mismatch": ("loss_trajectory",),
    "dropout_too_high": ("loss_trajectory",),
    "fp16_no_loss_scaling": ("loss_trajectory",),
}
TWIN_SEEDS = 150
CODE_FAULTS = [f for f in V1_TASK if FAULTS[f].task_id != "easy"]


def checks_of(world) -> dict:
    _, _, results = core.render_world(world)
    return {c.check: c for c in results}


def _py(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def configured_text(world) -> str:
    """Where the world's config values are written: config.yaml, or (version 3) also preprocessing.py's overrides."""
    return render_config.render(world) + (render.code(world)[0] if world.fault_in_code else "")


def planted_and_twin(fault: str, seed: int):
    task = V1_TASK.get(fault) or FAULTS[fault].task_id
    return core.generate_world(task, seed, fault=fault), core.generate_world(task, seed, fault=fault, healthy=True)


def planted_lines(fault: str, seed: int) -> list[str]:
    """Lines of preprocessing.py that exist only in the planted version (stripped)."""
    planted, twin = planted_and_twin(fault, seed)
    a, b = render.code(twin)[0].splitlines(), render.code(planted)[0].splitlines()
    return [line[1:].strip() for line in difflib.unified_diff(a, b, lineterm="", n=0) if line.startswith("+") and not line.startswith("+++")]


class TestHealthyTwin:
    @pytest.mark.parametrize("fault", list(V1_TASK))
    def test_fault_trips_its_checks_and_the_twin_passes_them(self, fault):
        """Over 150 seeds the planted run fails its checks; the same run without the fault fails none."""
        problems = []
        for seed in range(TWIN_SEEDS):
            planted, twin = planted_and_twin(fault, seed)
            assert twin.fault is None and planted.fault == fault
            got, healthy = checks_of(planted), checks_of(twin)
            for check in TRIPPED[fault]:
                if got[check].status != "fail":
                    problems.append((seed, "planted", check, got[check].summary))
                if healthy[check].status == "fail":
                    problems.append((seed, "twin", check, healthy[check].summary))
            problems += [(seed, "twin fails", c.check, c.summary) for c in healthy.values() if c.status == "fail"]
        assert not problems, problems[:5]

    @pytest.mark.parametrize("fault", ["exploding_lr", "wrong_optimizer", "batch_size_overflow",
                                       "weight_decay_too_high", "missing_warmup", "scheduler_interval_mismatch",
                                       "dropout_too_high", "fp16_no_loss_scaling"])
    def test_config_twin_differs_in_exactly_the_faulty_value(self, fault):
        """The twin's config.yaml differs from the planted one on one line: the field of the answer key."""
        placed = collections.Counter()
        for seed in range(30):
            planted, twin = planted_and_twin(fault, seed)
            placed[planted.fault_in_code] += 1
            if planted.fault_in_code:  # version 3: the value is set in preprocessing.py's overrides instead
                assert render_config.render(planted) == render_config.render(twin)
                a, b = render.code(twin)[0].splitlines(), render.code(planted)[0].splitlines()
                key = core.answer_key(planted)
                path = next(x for x in key.field_aliases if x.startswith(key.field + "."))[len(key.field) + 1:]
                assert [line for line in b if line not in a] == [f'    "{path}": {_py(key.params["bad_value"])},']
                continue
            a, b = render_config.render(twin).splitlines(), render_config.render(planted).splitlines()
            changed = [(x, y) for x, y in zip(a, b, strict=False) if x != y]
            assert len(a) == len(b) and len(changed) == 1
            leaf = core.answer_key(planted).field.split(".")[-1]
            assert changed[0][1].strip().startswith(leaf + ":")
            assert render.code(planted)[0] == render.code(twin)[0]
        assert placed[False] and (placed[True] or planted.revision < 3), placed

    @pytest.mark.parametrize("fault", CODE_FAULTS)
    def test_code_twin_keeps_the_config(self, fault):
        """Pipeline faults change preprocessing.py, never config.yaml."""
        for seed in range(20):
            planted, twin = planted_and_twin(fault, seed)
            assert render_config.render(planted) == render_config.render(twin)
            assert render.code(planted)[0] != render.code(twin)[0]


def _enclosing_functions(code: str, changed: list[str]) -> set[str]:
    lines = code.splitlines()
    names = set()
    for i, line in enumerate(lines):
        if line.strip() in changed:
            for j in range(i, -1, -1):
                m = re.match(r"def (\w+)\(", lines[j])
                if m:
                    names.add(m.group(1))
                    break
    return names


class TestFaultLocation:
    @pytest.mark.parametrize("fault", CODE_FAULTS)
    def test_field_is_on_a_changed_line_or_is_its_function(self, fault):
        """The canonical field names the changed code: it occurs on a planted-only line or is the def holding it."""
        for seed in range(40):
            planted, _ = planted_and_twin(fault, seed)
            key = core.answer_key(planted)
            changed = planted_lines(fault, seed)
            code = render.code(planted)[0]
            on_line = any(re.search(rf"(?<![\w.]){re.escape(key.field)}(?!\w)", line) for line in changed)
            assert on_line or key.field in _enclosing_functions(code, changed), (seed, key.field, changed)


    @pytest.mark.parametrize("fault", CODE_FAULTS)
    def test_aliases_never_name_a_healthy_identifier(self, fault):
        """Aliases avoid generic or training-side names (fit, SEED, TOKENIZER_VERSION, the train label map...)."""
        healthy_names = {
            "fit", "transform", "split", "seed", "SEED", "labels", "LABELS", "CLASSES", "CLASS_INDEX", "CLASS_ORDER",
            "TOKENIZER_VERSION", "tokenizer", "fit_labels", "encode_targets", "load_table", "read_manifest", "tokenize",
        }
        for seed in range(40):
            planted, _ = planted_and_twin(fault, seed)
            key = core.answer_key(planted)
            names = {key.field, *key.field_aliases}
            assert not names & healthy_names, names & healthy_names
            assert planted.names["tok_loader"] not in names


class TestMechanisms:
    def test_exploding_lr_diverges_to_nan_and_halts(self):
        """Loss turns NaN at a plausible step, training stops, and the log says where (v1: adaptive optimizers
        only; from v2 on SGD explodes too, at its own far-too-high rates)."""
        optimizers = collections.Counter()
        for seed in range(60):
            world = core.generate_world("easy-v1" if seed % 2 else "easy", seed, fault="exploding_lr")
            traj = world.trajectory
            optimizers[(world.revision, world.optimizer)] += 1
            if world.revision == 1:
                assert world.optimizer in ("adam", "adamw", "rmsprop")
            elif world.optimizer == "sgd":
                assert world.lr >= 20 * world.lr_opt and world.lr >= 1.0
            assert traj.status == "diverged" and traj.diverge_global >= 3
            assert traj.epochs_completed < world.epochs and math.isnan(traj.log_loss[-1])
            log = render.artifacts(world)[1].content
            assert f"global_step={traj.diverge_global:,}; stopping run" in log
        assert any(rev >= 2 and opt == "sgd" for rev, opt in optimizers), optimizers

    def test_wrong_optimizer_is_sgd_with_momentum_near_one(self):
        """SGD momentum above the safe bound makes the loss swing between logged steps."""
        for seed in range(60):
            planted, twin = planted_and_twin("wrong_optimizer", seed)
            assert planted.optimizer == "sgd" and planted.momentum > 0.95 >= twin.momentum
            assert (1 - twin.momentum) / (1 - planted.momentum) >= 5 - 1e-9
            assert planted.trajectory.status != "diverged"
            trajectory = checks_of(planted)["loss_trajectory"]
            swings = trajectory.metrics["step_variability"] > 0.25 or trajectory.metrics["max_train_loss_rise"] > 0.08
            assert trajectory.status == "fail" and swings

    def test_batch_size_overflow_leaves_no_training_step(self):
        """batch_size > train split with drop_last: zero steps, unchanged val loss, NaN train loss."""
        for seed in range(60):
            planted, twin = planted_and_twin("batch_size_overflow", seed)
            n_train = planted.splits.n[0]
            assert planted.batch_size > n_train >= twin.batch_size and planted.drop_last
            traj = planted.trajectory
            assert traj.steps_per_epoch == 0 and len(set(traj.val_loss.tolist())) == 1
            assert all(math.isnan(x) for x in traj.train_loss)
            assert twin.trajectory.steps_per_epoch > 0

    def test_scaler_fit_before_the_split_sees_val_rows(self):
        """The scaler's statistics come from train+val (and test), so train no longer standardizes to 0/1."""
        for seed in range(60):
            planted, twin = planted_and_twin("data_leakage_scaler", seed)
            assert planted.modality == "tabular"
            n_train, n_val, n_test = planted.splits.n
            expected = planted.splits.n_train_available + n_val + (n_test if planted.details.scope == "pool_and_test" else 0)
            assert planted.tabular.scaler_samples == expected and twin.tabular.scaler_samples == n_train
            assert abs(planted.tabular.scaled_mean[0]).max() > 1e-3
            assert abs(twin.tabular.scaled_mean[0]).max() == 0.0

    def test_overlap_mechanisms(self):
        """A second split shares ids between train and val; a row split of grouped data shares sources."""
        mechanisms = collections.Counter()
        for seed in range(120):
            planted, twin = planted_and_twin("data_leakage_overlap", seed)
            mechanism = planted.details.mechanism
            mechanisms[mechanism] += 1
            sp = planted.splits
            if mechanism == "double_split":
                v = planted.val_fraction
                expected = v * (1 - v) * sp.pool_rows * sp.n[0] / sp.n_train_available
                assert 0.6 * expected < sp.shared_ids < 1.4 * expected + 5
            else:
                assert planted.dataset.group_key and sp.shared_ids == 0 and sp.shared_groups > 0
            assert twin.splits.shared_ids == 0 and twin.splits.shared_groups == 0
        assert mechanisms["double_split"] > 10 and mechanisms["duplicate_sources"] > 10

    def test_wrong_split_ratio_trains_on_the_small_part(self):
        """test_size = 1 - intended: val gets the larger share; epochs get shorter and accuracy lower."""
        faster = uncapped = 0
        for seed in range(60):
            planted, twin = planted_and_twin("wrong_split_ratio", seed)
            assert planted.splits.n_train_available < planted.splits.n[1]
            assert math.isclose(planted.split_param, 1 - twin.split_param)
            p, t = planted.trajectory, twin.trajectory
            if planted.max_train_samples is None:
                assert p.steps_per_epoch < t.steps_per_epoch
                faster += float(p.epoch_seconds.mean()) < float(t.epoch_seconds.mean())
                uncapped += 1
        assert faster >= uncapped - 2 and uncapped >= 20  # epoch time follows steps per epoch

    def test_label_maps_differ_by_a_real_mechanism(self):
        """Evaluation encodes labels in another order (sorted, exported file or appearance), never the same."""
        sources = collections.Counter()
        for seed in range(90):
            planted, twin = planted_and_twin("label_encoder_mismatch", seed)
            source = planted.details.source
            sources[source] += 1
            assert planted.eval.class_names != planted.classes and sorted(planted.eval.class_names) == sorted(planted.classes)
            if source == "sorted":
                assert planted.eval.class_names == tuple(sorted(planted.classes))
            if source == "exported":
                assert planted.eval.class_names == (planted.dataset.exported_order or planted.dataset.classes)
            assert twin.eval.class_names == twin.classes
            if planted.code_style == "sklearn_functions":
                assert planted.classes == tuple(sorted(planted.classes))  # LabelEncoder sorts
        assert len(sources) == 3

    def test_metric_swap_exchanges_the_split_blocks(self):
        """eval_results' val block is the test split's evaluation and vice versa."""
        for seed in range(60):
            planted, twin = planted_and_twin("silent_metric_swap", seed)
            assert planted.eval.val == twin.eval.test and planted.eval.test == twin.eval.val

    def test_tokenizer_drift_only_for_text_and_loads_an_older_release(self):
        """Evaluation loads the previous tokenizer release: other vocabulary, more unknown tokens, lower scores."""
        for seed in range(60):
            planted, twin = planted_and_twin("tokenizer_version_drift", seed)
            txt = planted.text
            assert planted.modality == "text"
            assert txt.eval_version == txt.previous_version != txt.train_version and txt.vocab_eval < txt.vocab_train
            assert txt.eval_unk_rate[0] > txt.unk_rate[1]
            assert planted.eval.val.accuracy < twin.eval.val.accuracy


def _epoch_lines(log: str) -> list[dict[str, float]]:
    """The numbers of train.log's epoch summary lines."""
    pattern = re.compile(r"done train_loss=(\S+) train_acc=\S+ val_loss=(\S+) val_acc=\S+.* lr=(\S+) grad_norm=(\S+)")
    return [
        {"train_loss": float(m.group(1)), "val_loss": float(m.group(2)), "lr": float(m.group(3)), "grad": float(m.group(4))}
        for m in pattern.finditer(log)
    ]


class TestConfigFaultMechanisms:
    """The version-2 config faults: each changes the run through its own mechanism, visible in train.log."""

    def test_weight_decay_too_high_keeps_the_loss_near_chance(self):
        for seed in range(40):
            planted, twin = planted_and_twin("weight_decay_too_high", seed)
            key = core.answer_key(planted)
            assert key.params["safe_max"] == (0.1 if planted.optimizer == "adamw" else 0.05)
            assert planted.weight_decay == key.params["bad_value"] >= 10 * key.params["safe_max"]
            assert twin.weight_decay <= key.params["safe_max"]
            traj, healthy = planted.trajectory, twin.trajectory
            assert traj.val_loss.min() > 0.9 * traj.init_val_loss
            assert healthy.val_loss.min() < traj.val_loss.min()

    def test_dropout_too_high_trains_above_its_validation_loss(self):
        """Dropout acts only in training mode: the epoch train loss sits above the validation loss."""
        for seed in range(40):
            planted, twin = planted_and_twin("dropout_too_high", seed)
            assert planted.dropout >= 0.9 and twin.dropout <= 0.3
            epochs = _epoch_lines(render.artifacts(planted)[1].content)
            assert epochs and all(e["train_loss"] > e["val_loss"] for e in epochs)
            assert planted.trajectory.val_loss.min() > 0.9 * planted.trajectory.init_val_loss

    def test_missing_warmup_diverges_early_where_the_twin_warms_up(self):
        families = set()
        for seed in range(40):
            planted, twin = planted_and_twin("missing_warmup", seed)
            families.add(planted.model.family)
            assert planted.optimizer in catalog.ADAPTIVE_OPTIMIZERS and planted.lr < 1e-2
            assert planted.lr == twin.lr and planted.lr >= 2.9 * planted.lr_opt
            assert planted.schedule.warmup_steps == 0 < twin.schedule.warmup_steps
            traj = planted.trajectory
            assert traj.status == "diverged" and traj.diverge_global <= 500  # within the first few hundred steps
            assert twin.trajectory.status != "diverged"
            config = configured_text(planted)
            assert "warmup_steps: 0" in config or '.warmup_steps": 0,' in config
        assert len(families) >= 3

    def test_scheduler_interval_step_collapses_the_lr_in_epoch_one(self):
        """StepLR/ExponentialLR stepped per batch: the lr after epoch 1 is ~0; per epoch it is still the peak's order."""
        kinds = set()
        for seed in range(40):
            planted, twin = planted_and_twin("scheduler_interval_mismatch", seed)
            kinds.add(planted.schedule.kind)
            assert planted.schedule.kind in ("step", "exponential") and planted.schedule.per_batch
            assert not twin.schedule.per_batch
            first = _epoch_lines(render.artifacts(planted)[1].content)[0]
            healthy_first = _epoch_lines(render.artifacts(twin)[1].content)[0]
            # Stepped per batch, the decay meant for one epoch applies after every batch: by the end of epoch 1 the
            # rate has decayed steps_per_epoch times over (a few thousandths of the peak, or about a tenth when an
            # epoch is only ~50 batches of a gentle gamma 0.95).
            s, spe = planted.schedule, planted.trajectory.steps_per_epoch
            decayed = s.gamma ** ((spe - 1) if s.kind == "exponential" else (spe - 1) // max(1, s.step_size))
            assert first["lr"] <= 1.01 * decayed * planted.lr and decayed < 0.1
            assert healthy_first["lr"] >= 0.05 * twin.lr
            interval = yaml.safe_load(render_config.render(planted))
            assert "interval: step" in render_config.render(planted) or (
                planted.fault_in_code and '.interval": "step",' in render.code(planted)[0]
            )
            assert "interval: epoch" in render_config.render(twin)
            assert interval
        assert kinds == {"step", "exponential"}

    def test_fp16_without_loss_scaling_stalls_with_tiny_gradients(self):
        for seed in range(40):
            planted, twin = planted_and_twin("fp16_no_loss_scaling", seed)
            assert planted.precision == twin.precision == "16-mixed"
            assert twin.grad_scaler and not planted.grad_scaler
            log, healthy_log = render.artifacts(planted)[1].content, render.artifacts(twin)[1].content
            # No scaler: no loss-scale adjustments, and no GradScaler deprecation warning either.
            assert "loss scale reduced" not in log and "GradScaler(args...)" not in log
            assert "loss scale reduced" in healthy_log
            assert "grad_scaler=False" in log and "grad_scaler=True" in healthy_log
            # Healthy gradient norms stay above 0.1 (the simulation's smallest scale); underflowed ones fall below.
            assert max(e["grad"] for e in _epoch_lines(log)) < 0.1 <= min(e["grad"] for e in _epoch_lines(healthy_log))
            assert planted.trajectory.val_loss.min() > 0.9 * planted.trajectory.init_val_loss

    def test_healthy_v2_runs_carry_the_new_settings_with_natural_values(self):
        """grad_scaler, warmup and the scheduler interval appear in healthy v2 configs with varied, valid values;
        version-1 configs never list grad_scaler."""
        scalers = collections.Counter()
        for seed in range(60):
            world = core.generate_world("easy", seed, healthy=True)
            config = yaml.safe_load(render_config.render(world))
            flat = json.dumps(config)
            assert '"grad_scaler"' in flat and '"interval"' in flat
            scalers[(world.precision, world.grad_scaler)] += 1
            if world.precision == "16-mixed":
                assert world.grad_scaler
            assert not world.schedule.per_batch
            v1 = core.generate_world("easy-v1", seed, healthy=True)
            assert "grad_scaler:" not in render_config.render(v1) and "grad_scaler=" not in render.artifacts(v1)[1].content
        assert {scaler for (precision, scaler) in scalers if precision != "16-mixed"} == {True, False}


class TestVariety:
    def test_models_datasets_styles_layouts_optimizers_schedulers(self):
        """Across 300 scenarios: >= 8 model families and datasets, 4 code styles, 3 layouts, >= 4 optimizers."""
        seen = collections.defaultdict(set)
        for task in ("easy-v1", "medium-v1", "hard-v1"):
            for seed in range(100):
                w = core.generate_world(task, seed)
                seen["family"].add(w.model.family)
                seen["model"].add(w.model.name)
                seen["dataset"].add(w.dataset.name)
                seen["style"].add(w.code_style)
                seen["layout"].add(w.config_layout)
                seen["optimizer"].add(w.optimizer)
                seen["scheduler"].add(w.schedule.kind)
                seen["modality"].add(w.modality)
        assert len(seen["family"]) >= 8 and len(seen["model"]) >= 12
        assert len(seen["dataset"]) >= 10
        assert seen["style"] == {"sklearn_functions", "sklearn_pipeline", "torch_vision", "hf_text"}
        assert len(seen["layout"]) == 3 and len(seen["optimizer"]) >= 4 and len(seen["scheduler"]) >= 5
        assert seen["modality"] == {"vision", "text", "tabular"}

    @pytest.mark.parametrize("fault", CODE_FAULTS)
    def test_no_planted_line_is_constant_across_seeds(self, fault):
        """The lines a fault adds to preprocessing.py vary: none appears in more than half of 60 seeds."""
        counts = collections.Counter()
        for seed in range(60):
            counts.update(set(planted_lines(fault, seed)))
        line, n = counts.most_common(1)[0]
        assert n <= 30, f"{line!r} in {n} of 60"

    @pytest.mark.parametrize("fault", ["exploding_lr", "wrong_optimizer", "batch_size_overflow",
                                       "weight_decay_too_high", "dropout_too_high"])
    def test_bad_config_values_vary(self, fault):
        """The faulty config line takes several values and paths across seeds."""
        lines = collections.Counter()
        for seed in range(60):
            planted, twin = planted_and_twin(fault, seed)
            a, b = render_config.render(twin).splitlines(), render_config.render(planted).splitlines()
            lines.update(y.strip() for x, y in zip(a, b, strict=False) if x != y)
        assert len(lines) >= 5 and lines.most_common(1)[0][1] <= 30

    def test_every_run_has_benign_warnings(self):
        """Healthy and faulty logs alike carry 2+ benign WARNING lines."""
        for task in ("easy-v1", "medium-v1", "hard-v1"):
            for seed in range(40):
                for healthy in (False, True):
                    log = render.artifacts(core.generate_world(task, seed, healthy=healthy))[1].content
                    assert log.count(" WARNING ") >= 2

    def test_healthy_runs_also_warn_sometimes(self):
        """Checks warn in healthy runs too (imbalance, spikes, reposts), so a warn is not a verdict."""
        warned = collections.Counter()
        for task in ("easy-v1", "medium-v1", "hard-v1"):
            for seed in range(60):
                for c in checks_of(core.generate_world(task, seed, healthy=True)).values():
                    warned[c.check] += c.status == "warn"
        assert sum(1 for n in warned.values() if n) >= 5, warned


class TestRendering:
    @pytest.mark.parametrize("value", [0.1, 3e-4, 5e-05, 1e-8, 0.0005, 2.0, 1234.5, 0.95, 0.999, 1e6, 0.0])
    def test_yaml_floats_round_trip(self, value):
        """Hand-written YAML floats load back as the same float (YAML 1.1 needs a dot and a signed exponent)."""
        assert yaml.safe_load(f"x: {render_config.yaml_float(value)}")["x"] == value

    def test_config_yaml_loads_to_the_document(self):
        """yaml.safe_load(config.yaml) equals the dictionary it was rendered from, for all layouts."""
        layouts = set()
        for task in ("easy-v1", "medium-v1", "hard-v1"):
            for seed in range(40):
                world = core.generate_world(task, seed)
                layouts.add(world.config_layout)
                doc = json.loads(json.dumps(render_config.config_document(world)))
                assert yaml.safe_load(render_config.render(world)) == doc
        assert len(layouts) == 3

    def test_optimizer_names_are_known(self):
        """Every optimizer in the catalog has a display name for the log."""
        assert {o for m in catalog.MODELS for o in m.lr} <= set(catalog.OPTIMIZER_DISPLAY)
