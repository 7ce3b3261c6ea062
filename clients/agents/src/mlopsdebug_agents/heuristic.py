"""A rule-based investigator: reads every artifact, runs every sanity check, then reasons from them.

It knows what any ML engineer knows (the public rules: the six artifacts, the eight checks, the
failure categories) and the usual ways a training run breaks; it knows nothing of the generator or
the answer key. Each rule needs evidence in what the agent saw. It reads the configuration the run
used: config.yaml with the dict of overrides in preprocessing.py applied (train.log names it), so a bad
value set there is located there (config.yaml then shows a sane one); and an evaluation setting the code
reads from config.yaml (CONFIG["eval"]["shuffle"] and the like) is located in config.yaml.

- a run that diverged with a large learning rate -> the learning rate in config.yaml;
- a batch size larger than the training split (no step per epoch) -> the batch size in config.yaml;
- oscillating gradients with momentum close to 1 -> the momentum in config.yaml;
- train/val overlap found by the data_leakage check -> the split code in preprocessing.py (called
  twice on the pool, or not grouped by the source that duplicates share);
- train/val feature statistics that match where they should not -> a scaler fitted before the split;
- a validation split larger than the training split -> the split fraction in preprocessing.py;
- train/eval label maps that disagree -> the evaluation label map in preprocessing.py;
- train/eval tokenizer versions that differ -> the evaluation tokenizer in preprocessing.py;
- a val/test gap explained by swapped keys -> the function that writes eval_results.json;
- a "test" block exactly the size of the training split -> the evaluation runner that scores it;
- eval blocks a partial batch short of their splits, with drop_last on the eval loaders -> the runner;
- a macro_f1 that is not the mean of the per-class F1 beside it -> the function that computes it;
- eval numbers below the log's for the same checkpoint, and a scorer without model.eval() -> that scorer;
- eval numbers near chance where the log's were not, and a shuffled eval loader -> the runner;
- a transformer that diverged within its first steps at an ordinary peak learning rate with warmup 0
  -> the warmup steps in config.yaml;
- a learning rate that collapses to ~0 in the first epoch, with an epoch-based schedule (step,
  exponential) stepped every batch -> the scheduler interval in config.yaml;
- a stalled loss and tiny gradient norms with fp16 and no gradient scaler -> the grad scaler;
- a loss stuck near chance with a weight decay far above the usual range -> the weight decay;
- the same with a dropout close to 1 (training loss above validation loss) -> the dropout;
- an input that tracks the target almost perfectly, with test far below val -> that joined column;
- an evaluation transform that crops or flips at random -> the evaluation transform;
- train/val shared ids with the pool oversampled before its split -> the oversampling call;
- shared ids and repeated ids in every split after a lookup merge -> the merged lookup table;
- image normalisation statistics that reproduce the test split's pixel means -> where they are computed.
Several of the config faults flatten or destabilise the loss alike: the configured values tell them apart.

preprocessing.py is read with Python's `ast`, never executed. The agent proves that every fault is
solvable from what an agent can observe; where a rule finds no evidence it still submits its best
reading, and the grade says how good that was.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import yaml

from mlopsdebug_agents.base import Agent
from mlopsdebug_client.vocabulary import SANITY_CHECKS

# libyaml's parser where PyYAML was built with it (its wheels are): the same documents as the pure
# Python SafeLoader (the resolver and constructor are shared), about ten times faster.
_YAML_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["HeuristicAgent"]

_CHECKS: Final[tuple[str, ...]] = SANITY_CHECKS
# Whole-artifact reads first, then every sanity check: 13 steps, inside the smallest budget (20).
_PLAN: Final[tuple[dict[str, Any], ...]] = (
    {"action_type": "read_config"},
    {"action_type": "check_dataset_stats"},
    {"action_type": "inspect_preprocessing"},
    {"action_type": "read_eval_results"},
    {"action_type": "read_logs"},
    *({"action_type": "run_sanity_check", "sanity_check_type": c} for c in _CHECKS),
)
_TRAIN_FRACTION_WORDS: Final = re.compile(r"train", re.IGNORECASE)
_ENCODER_NAMES: Final = re.compile(r"(LabelEncoder|OneHotEncoder|OrdinalEncoder|encoder|one_hot|categories)", re.I)


# -- reading artifacts --


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (dot path, value) of a parsed YAML/JSON document, leaves and branches alike."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield (*path, str(key)), value
            yield from _walk(value, (*path, str(key)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _fmt(value: float) -> str:
    return f"{value:g}"


class _Code:
    """preprocessing.py as a syntax tree: module constants, functions, and helpers to search them."""

    def __init__(self, source: str) -> None:
        self.source = source
        # Character offset of each line's start: ast.get_source_segment splits the whole source on
        # every call, which dominated a heuristic episode's CPU time.
        # Python's own line ends (not str.splitlines', which also splits at form feeds and the like).
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", source)] + [len(source)]
        try:
            self.tree: ast.Module | None = ast.parse(source)
        except SyntaxError:
            self.tree = None
        self.constants: dict[str, Any] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        if self.tree is None:
            return
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    self.constants[node.targets[0].id] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    pass
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node

    def value(self, node: ast.expr) -> Any:
        """The value of a literal, a module constant, or simple arithmetic on them; None otherwise."""
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, int | float) and isinstance(right, int | float):
                return left - right if isinstance(node.op, ast.Sub) else left + right
        return None

    def segment(self, node: ast.AST) -> str:
        """The source text of `node` (as ast.get_source_segment, without re-splitting the source)."""
        positions = [getattr(node, name, None) for name in ("lineno", "col_offset", "end_lineno", "end_col_offset")]
        line, col, end_line, end_col = positions
        if line is None or col is None or end_line is None or end_col is None:  # a node made by hand: no source
            return ""
        try:
            return self.source[self._offset(line, col) : self._offset(end_line, end_col)]
        except IndexError:  # positions beyond this source
            return ""

    def _offset(self, lineno: int, byte_col: int) -> int:
        """The character offset of a (1-based line, UTF-8 byte column) position, as ast reports them."""
        begin = self._line_starts[lineno - 1]
        line = self.source[begin : self._line_starts[lineno]]
        return begin + len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def calls(self, within: ast.AST) -> Iterator[ast.Call]:
        for node in ast.walk(within):
            if isinstance(node, ast.Call):
                yield node

    @staticmethod
    def callee(call: ast.Call) -> str:
        func = call.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
        return ""

    @staticmethod
    def names(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    def split_functions(self) -> list[str]:
        """Module functions that hold data out: they call a splitter or cut a shuffled list in two."""
        found = []
        for name, fn in self.functions.items():
            text = self.segment(fn)
            if re.search(r"train_test_split|ShuffleSplit|GroupKFold|random_split|\.split\(|held\b|holdout|n_held", text):
                if not re.search(r"def (evaluate|score|export|save|write|dump)", text):
                    found.append(name)
        return found


def _is_label_map(node: ast.expr) -> bool:
    """A label map from class name to output index: `{name: i for i, name in enumerate(...)}` or a
    dataset's `class_to_idx` (folder names, sorted)."""
    if isinstance(node, ast.Attribute) and node.attr == "class_to_idx":
        return True
    if not isinstance(node, ast.DictComp) or len(node.generators) != 1:
        return False
    loop = node.generators[0]
    if not (isinstance(loop.iter, ast.Call) and _Code.callee(loop.iter) == "enumerate"):
        return False
    if not (isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == 2):
        return False
    index, name = (e.id if isinstance(e, ast.Name) else None for e in loop.target.elts)
    return isinstance(node.key, ast.Name) and isinstance(node.value, ast.Name) and (node.key.id, node.value.id) == (
        name,
        index,
    )


class HeuristicAgent(Agent):
    """Investigates with a fixed plan, then submits the diagnosis the evidence supports best."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._plan = list(_PLAN)
        self.artifacts: dict[str, str] = {}
        self.checks: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] = {}
        self.task = ""
        self._parsed_config: tuple[tuple[str, str, str], dict[str, Any]] = (("", "", ""), {})
        self._parsed_overrides: tuple[tuple[str, str], tuple[str, dict[str, Any]]] = (("", ""), ("", {}))

    # -- collecting evidence --

    def _observe(self, observation: Mapping[str, Any]) -> None:
        self.summary = dict(observation.get("run_summary") or {})
        self.task = observation.get("task_id", "")
        result = observation.get("last_action_result") or {}
        kind = result.get("type")
        if kind == "artifact":
            self.artifacts[result["name"]] = result["content"]
        elif kind == "logs" and not result.get("log_filter"):
            self.artifacts["train.log"] = result["content"]
        elif kind == "sanity_check":
            self.checks[result["check"]] = result

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """The next investigation step of the plan, or the diagnosis once the evidence names the fault."""
        self._observe(observation)
        left = observation["max_steps"] - observation["step_count"]
        if self._plan and left > 1:
            return self._plan.pop(0)
        return self._diagnose()

    def _status(self, check: str) -> str:
        return str((self.checks.get(check) or {}).get("status") or "")

    def _metric(self, check: str, name: str) -> float:
        return float(((self.checks.get(check) or {}).get("metrics") or {}).get(name, 0.0) or 0.0)

    def _config(self) -> dict[str, Any]:
        """The effective configuration: config.yaml parsed, with preprocessing.py's overrides applied (what
        train.py runs with); {} if unreadable. Cached per text read: rules consult it repeatedly."""
        text = self.artifacts.get("config.yaml", "")
        source = (text, self.artifacts.get("preprocessing.py", ""), self._log())
        if self._parsed_config[0] != source:
            try:
                doc = yaml.load(text, Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
            except yaml.YAMLError:
                doc = {}
            doc = doc if isinstance(doc, dict) else {}
            for dotted, value in self._overrides()[1].items():
                *parents, leaf = dotted.split(".")
                node: Any = doc
                for part in parents:
                    child = node.get(part) if isinstance(node, dict) else None
                    if not isinstance(child, dict):
                        child = {}
                        node[part] = child
                    node = child
                node[leaf] = value
            self._parsed_config = (source, doc)
        return self._parsed_config[1]

    def _overrides(self) -> tuple[str, dict[str, Any]]:
        """preprocessing.py's dict of dotted config keys that train.py applies over config.yaml: (its name, entries).

        train.log names the dict when the run applied one; without the log, any module dict of dotted keys."""
        source = (self.artifacts.get("preprocessing.py", ""), self._log())
        if self._parsed_overrides[0] != source:
            named = re.search(r"config overrides from preprocessing\.(\w+)", source[1])
            found: tuple[str, dict[str, Any]] = ("", {})
            for name, value in _Code(source[0]).constants.items():
                if not (isinstance(value, dict) and value and all(isinstance(k, str) and "." in k for k in value)):
                    continue
                if named is None or named.group(1) == name:
                    found = (name, value)
                    break
            self._parsed_overrides = (source, found)
        return self._parsed_overrides[1]

    def _config_read(self, code: _Code, node: ast.AST) -> tuple[str, Any] | None:
        """(dotted path, effective value) when `node` reads config.yaml (NAME["a"]["b"] with NAME = yaml.safe_load(...))."""
        parts: list[str] = []
        while isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            parts.insert(0, node.slice.value)
            node = node.value
        if not parts or not isinstance(node, ast.Name):
            return None
        if not re.search(rf"^{re.escape(node.id)} = yaml\.safe_load\(", code.source, re.MULTILINE):
            return None
        value: Any = self._config()
        for part in parts:
            value = value.get(part) if isinstance(value, Mapping) else None
        return ".".join(parts), value

    def _config_reads(self, code: _Code, within: ast.AST) -> list[tuple[str, Any]]:
        """Every config.yaml setting read inside `within`, outermost subscript only."""
        out = []
        for node in ast.walk(within):
            read = self._config_read(code, node)
            if read is not None and not any(path.startswith(read[0]) for path, _ in out):
                out.append(read)
        return out

    def _relocated(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A config answer whose value the run took from preprocessing.py's overrides: the root cause is there
        (config.yaml shows a sane value that never took effect)."""
        name, entries = self._overrides()
        path = answer["root_cause_field"]
        if answer["root_cause_file"] != "config.yaml" or path not in entries:
            return answer
        return {
            **answer,
            "root_cause_file": "preprocessing.py",
            "root_cause_field": name,
            "diagnosis": answer["diagnosis"] + f" The value comes from {name}[{path!r}] in preprocessing.py, which "
            "train.py applies over config.yaml (train.log lists the override).",
            "proposed_fix": answer["proposed_fix"] + f" Make the change in {name} (preprocessing.py), which overrides "
            "config.yaml.",
        }

    def _stats(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.artifacts.get("dataset_stats.json", "") or "{}")
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def _split_size(self, split: str) -> float | None:
        splits = self._stats().get("splits") or {}
        part = splits.get(split) if isinstance(splits, dict) else None
        return _number(part.get("n_samples")) if isinstance(part, dict) else None

    # -- the diagnosis --

    def _diagnose(self) -> dict[str, Any]:
        code = _Code(self.artifacts.get("preprocessing.py", ""))
        for rule in (
            self._training_config,
            self._exploding_lr,
            self._split_ratio,
            self._batch_size_overflow,
            self._momentum,
            self._tokenizer_drift,
            self._label_mismatch,
            self._join_repeats_rows,
            self._oversampled_before_split,
            self._overlap,
            self._scaler,
            self._normalisation_from_test,
            self._target_derived_feature,
            self._eval_augmentation,
            self._metric_swap,
            self._eval_on_train_split,
            self._eval_drop_last,
            self._weighted_macro,
            self._scored_in_train_mode,
            self._shuffled_eval_loader,
        ):
            answer = rule(code)
            if answer is not None:
                return self._relocated(answer)
        return self._fallback(code)

    @staticmethod
    def _submit(category: str, file: str, field: str, diagnosis: str, fix: str) -> dict[str, Any]:
        return {
            "action_type": "submit_diagnosis",
            "failure_category": category,
            "root_cause_file": file,
            "root_cause_field": field,
            "diagnosis": diagnosis,
            "proposed_fix": fix,
        }

    def _config_paths(self, *names: str, exclude: str = r"^(eval|test|evaluation)\b") -> list[tuple[str, float]]:
        """Numeric config entries whose last key is one of `names`, outside evaluation sections."""
        out = []
        for path, value in _walk(self._config()):
            number = _number(value)
            if path[-1] in names and number is not None and not re.match(exclude, path[0]):
                out.append((".".join(path), number))
        return out

    def _config_values(self, *names: str) -> list[tuple[str, Any]]:
        """Config entries (any type) whose last key is one of `names`, outside evaluation sections."""
        return [
            (".".join(path), value)
            for path, value in _walk(self._config())
            if path[-1] in names
            and not isinstance(value, Mapping)
            and not re.match(r"^(eval|test|evaluation)\b", path[0])
        ]

    def _loss_flat(self) -> bool:
        """The validation loss barely moved from its value before training (train.log first, then the check)."""
        log = self._log()
        before = re.search(r"epoch 0/\d+ val_loss=([0-9.]+)", log)
        losses = [float(x) for x in re.findall(r"done train_loss=\S+ train_acc=\S+ val_loss=([0-9.]+)", log)]
        if before and losses and float(before.group(1)) > 0:
            return (float(before.group(1)) - min(losses)) / float(before.group(1)) < 0.2
        if "loss_trajectory" in self.checks:
            return self._metric("loss_trajectory", "val_loss_improvement") < 0.2
        return False

    def _log(self) -> str:
        return self.artifacts.get("train.log", "")

    def _training_config(self, code: _Code) -> dict[str, Any] | None:
        """Faults whose configured value is itself out of range (checked against the symptom it causes)."""
        for rule in (
            self._scheduler_interval,
            self._loss_scaling,
            self._missing_warmup,
            self._weight_decay,
            self._dropout,
        ):
            answer = rule()
            if answer is not None:
                return answer
        return None

    def _scheduler_interval(self) -> dict[str, Any] | None:
        """An epoch-based decay (StepLR, ExponentialLR) stepped after every batch: the log's lr collapses."""
        config = self._config()
        for path, value in self._config_values("interval"):
            parent = path.rsplit(".", 1)[0]
            node: Any = config
            for part in parent.split("."):
                node = node.get(part, {}) if isinstance(node, Mapping) else {}
            kind = str(node.get("name") or node.get("type") or "") if isinstance(node, Mapping) else ""
            if str(value).lower() != "step" or kind not in ("step", "exponential"):
                continue
            step_lr = r"epoch 1/\d+ step \S+ global_step=\S+ loss=\S+ lr=([0-9.e+-]+)"
            rates = [float(x) for x in re.findall(step_lr, self._log())]
            rates += [float(x) for x in re.findall(r"epoch 1/\d+ done .* lr=([0-9.e+-]+)", self._log())]
            peak = max((n for _, n in self._config_paths("lr", "learning_rate")), default=0.0)
            collapsed = bool(rates) and peak > 0 and min(rates) < 1e-3 * peak
            if not collapsed and not self._loss_flat():
                continue
            seen = f"; the log's lr falls to {_fmt(min(rates))} within epoch 1" if rates else ""
            return self._submit(
                "config_error",
                "config.yaml",
                path,
                f"{path} = step makes Lightning call the {kind} scheduler after every batch, but its decay is "
                f"defined per epoch: the learning rate decays an epoch's worth per batch and is ~0 within the first "
                f"epoch{seen}, so the loss plateaus early.",
                f"Set {path} to epoch so the {kind} scheduler is stepped once per epoch, not after every batch.",
            )
        return None

    def _loss_scaling(self) -> dict[str, Any] | None:
        """fp16 mixed precision with the gradient scaler off: gradients underflow and training stalls."""
        precisions = [str(v) for _, v in self._config_values("precision")]
        if not any(p.startswith("16") or p in ("fp16", "half") for p in precisions):
            return None
        for path, value in self._config_values("grad_scaler", "loss_scaling", "use_grad_scaler"):
            if value is not False and str(value).lower() not in ("false", "off", "none", "0"):
                continue
            if not self._loss_flat():
                continue
            norms = [float(x) for x in re.findall(r"grad_norm=([0-9.e+-]+)", self._log())]
            tiny = f"; gradient norms are tiny (median {_fmt(sorted(norms)[len(norms) // 2])})" if norms else ""
            return self._submit(
                "config_error",
                "config.yaml",
                path,
                f"Training runs in fp16 ({precisions[0]}) with {path} = false: without loss scaling, small "
                f"gradients underflow to zero in float16, so the optimizer barely moves and the loss stalls{tiny}.",
                f"Set {path} to true so the loss is scaled before backward (a GradScaler), or switch the precision "
                "to bf16-mixed.",
            )
        return None

    def _missing_warmup(self) -> dict[str, Any] | None:
        """A run that diverged in its first steps at an ordinary (adaptive-optimizer) peak rate, with no warmup."""
        if self.summary.get("training_status") != "diverged":
            return None
        warmups = self._config_paths("warmup_steps", "num_warmup_steps")
        rates = self._config_paths("lr", "learning_rate")
        if not warmups or not rates or any(v > 0 for _, v in warmups):
            return None
        peak = max(v for _, v in rates)
        if peak >= 1e-2:  # far above any adaptive optimizer's range: the rate itself is the problem
            return None
        total = re.search(r"total_steps=([0-9,]+)", self._log())
        steps = int(total.group(1).replace(",", "")) if total else 0
        nan = re.search(r"loss is nan at .* global_step=([0-9,]+)", self._log())
        when = f" at global step {nan.group(1)}" if nan else ""
        length = max(100, int(0.06 * steps) // 10 * 10) if steps else 500
        path = warmups[0][0]
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"With {path} = 0 the optimizer starts at the full peak learning rate ({_fmt(peak)}) while Adam's "
            f"moment estimates are still unsettled; the loss blew up to NaN{when}, within the first steps of training.",
            f"Set {path} to {length}: a linear warmup over the first {length} optimizer steps, then the schedule as "
            "configured.",
        )

    def _weight_decay(self) -> dict[str, Any] | None:
        """Weight decay orders of magnitude above the usual range, with a loss that never left chance level."""
        decays = self._config_paths("weight_decay", "wd")
        if not decays:
            return None
        path, value = max(decays, key=lambda item: item[1])
        if value < 0.2 or not self._loss_flat():
            return None
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"{path} = {_fmt(value)} is orders of magnitude above the usual range: the decay pulls every weight "
            "towards zero faster than the gradients move it, so the model underfits and the loss stays near chance.",
            f"Lower {path} from {_fmt(value)} to 0.01.",
        )

    def _dropout(self) -> dict[str, Any] | None:
        """A dropout probability close to 1: training zeroes almost every activation and the model cannot fit."""
        rates = [(p, v) for p, v in self._config_paths("dropout", "dropout_rate", "hidden_dropout_prob") if v <= 1]
        if not rates:
            return None
        path, value = max(rates, key=lambda item: item[1])
        if value < 0.6 or not self._loss_flat():
            return None
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"{path} = {_fmt(value)} drops almost every activation while training: the model cannot fit, the loss "
            "stays near chance and the training loss sits above the validation loss (dropout is off in evaluation).",
            f"Set {path} to 0.1.",
        )

    def _exploding_lr(self, code: _Code) -> dict[str, Any] | None:
        diverged = self.summary.get("training_status") == "diverged"
        rates = self._config_paths("lr", "learning_rate")
        if not diverged or not rates:
            return None
        path, value = max(rates, key=lambda item: item[1])
        safe = 1e-3 if value > 1e-3 else value / 10
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"Training diverged: the loss became NaN and gradient norms exploded because {path} = {_fmt(value)} is "
            "far too large a step size for this model and optimizer.",
            f"Lower {path} from {_fmt(value)} to {_fmt(safe)}.",
        )

    def _batch_size_overflow(self, code: _Code) -> dict[str, Any] | None:
        train = self._split_size("train")
        sizes = self._config_paths("batch_size", "train_batch_size")
        if train is None or not sizes:
            return None
        path, value = max(sizes, key=lambda item: item[1])
        no_steps = "steps_per_epoch=0" in self.artifacts.get("train.log", "") or self._status("loss_trajectory") == "fail"
        if value <= train or not no_steps:
            return None
        safe = 1 << max(3, int(math.log2(max(8.0, train / 16))))
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"{path} = {int(value)} exceeds the {int(train)} training samples; with drop_last every batch is "
            "dropped, so there are zero optimizer steps per epoch and the loss is NaN.",
            f"Set {path} to {safe}, well below the {int(train)} training samples, so each epoch has full batches.",
        )

    def _momentum(self, code: _Code) -> dict[str, Any] | None:
        momenta = self._config_paths("momentum", "beta1")
        if not momenta:
            return None
        path, value = max(momenta, key=lambda item: item[1])
        unstable = self._status("gradient_norms") == "fail" or self._status("loss_trajectory") == "fail"
        if value < 0.97 or not unstable:
            return None
        return self._submit(
            "config_error",
            "config.yaml",
            path,
            f"{path} = {_fmt(value)} is so close to 1 that the optimizer's effective step keeps growing: the "
            "gradient norms and the loss oscillate instead of converging.",
            f"Set {path} to 0.9.",
        )

    def _tokenizer_drift(self, code: _Code) -> dict[str, Any] | None:
        # The check compares releases when eval_results.json records one; when the evaluation job recorded only
        # the tokenizer's path (version 4) the check warns that it cannot, and the evaluation code decides.
        if self._status("encoder_version_match") not in ("fail", "warn"):
            return None
        if code.tree is None:
            return None
        train_version = code.constants.get("TOKENIZER_VERSION")
        for fn_name, fn in code.functions.items():
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                    continue
                call = node.value
                if "tokenizer" not in code.callee(call).lower() or not call.args:
                    continue
                arg = call.args[0]
                version = code.value(arg)
                if version is None or version == train_version:
                    continue
                target = node.targets[0]
                name = target.id if isinstance(target, ast.Name) else fn_name
                constant = arg.id if isinstance(arg, ast.Name) else None
                train_text = f"{train_version} (TOKENIZER_VERSION)" if train_version else "the training version"
                where = f"{constant} = {version!r}" if constant else f"load_tokenizer({version!r})"
                return self._submit(
                    "evaluation_bug",
                    "preprocessing.py",
                    name,
                    f"Evaluation tokenizes with an older tokenizer release ({where} in {fn_name}) than training "
                    f"({train_text}); token ids no longer match the vocabulary the model learned.",
                    f"Load the training tokenizer version {train_version} for evaluation: "
                    f"{name} = load_tokenizer(TOKENIZER_VERSION) instead of version {version}.",
                )
        return None

    def _eval_class_order_differs(self) -> bool:
        """eval_results.json's class_names against the order training encoded (dataset_stats.json's label_map):
        what label_consistency compares, read from the artifacts when the check cannot (generic id2label names)."""
        try:
            stats = json.loads(self.artifacts.get("dataset_stats.json", "") or "{}")
            results = json.loads(self.artifacts.get("eval_results.json", "") or "{}")
        except ValueError:
            return False
        label_map, names = stats.get("label_map"), results.get("class_names")
        if not isinstance(label_map, dict) or not isinstance(names, list):
            return False
        training = [name for name, _ in sorted(label_map.items(), key=lambda item: item[1])]
        return bool(training) and training != names

    def _label_mismatch(self, code: _Code) -> dict[str, Any] | None:
        if code.tree is None:
            return None
        if self._metric("label_consistency", "indices_differing") <= 0 and not self._eval_class_order_differs():
            return None
        candidates = []
        for fn_name, fn in code.functions.items():
            for node in ast.walk(fn):
                if not isinstance(node, ast.Assign):
                    continue
                target = node.targets[0]
                if isinstance(target, ast.Name) and _is_label_map(node.value):
                    candidates.append((fn_name, target.id, node.value))
        if not candidates:
            return None
        fn_name, name, comp = candidates[-1]
        training = next(
            (n for n in ("CLASSES", "CLASS_ORDER", "LABELS", "LABEL_NAMES", "CLASS_NAMES") if n in code.constants), None
        )
        origin = comp.generators[0].iter if isinstance(comp, ast.DictComp) else comp
        source = code.segment(origin) or "another source"
        order = f"the training class order ({training})" if training else "the training label encoder's classes"
        return self._submit(
            "label_mismatch",
            "preprocessing.py",
            name,
            f"The evaluation label map {name} (built in {fn_name} from {source}) orders the classes differently "
            "from the mapping used in training, so evaluation targets carry other classes' indices.",
            f"Build {name} from {order}, the same mapping training used, instead of {source}.",
        )

    def _overlap(self, code: _Code) -> dict[str, Any] | None:
        if self._status("data_leakage") != "fail":
            return None
        if not (self._metric("data_leakage", "shared_ids_train_val") > 0
                or self._metric("data_leakage", "shared_groups_train_val") > 0):
            return None  # duplicated content under other ids: re-exports, not a split that overlaps
        summary = str((self.checks.get("data_leakage") or {}).get("summary", ""))
        splitters = code.split_functions()
        shared_groups = self._metric("data_leakage", "shared_groups_train_val") > 0
        shared_ids = self._metric("data_leakage", "shared_ids_train_val") > 0
        twice = self._called_twice_on_one_pool(code, splitters)
        field = twice or (splitters[0] if splitters else "train_test_split")
        if shared_groups and not shared_ids:
            group = re.search(r"([A-Za-z_][A-Za-z0-9_]*) values occur in both", summary)
            key = group.group(1) if group else "the source id"
            return self._submit(
                "data_leakage",
                "preprocessing.py",
                field,
                f"{field} splits individual rows, but many rows share a {key}; near-duplicates of one source land "
                "in both train and val, so validation scores are inflated.",
                f"Split by group in {field}: use GroupShuffleSplit with groups={key} so that all rows of one {key} "
                "stay on the same side of the train/val split.",
            )
        return self._submit(
            "data_leakage",
            "preprocessing.py",
            field,
            f"The pool is split twice with different seeds ({field} is called once for train and again for val), "
            "so the two parts overlap and validation rows are also training rows.",
            f"Call {field} once on the pool and use its two disjoint outputs as train and val.",
        )

    def _join_repeats_rows(self, code: _Code) -> dict[str, Any] | None:
        """Shared ids, and repeated ids inside every split, the frozen test too: a merge multiplied the rows."""
        if self._status("data_leakage") != "fail" or self._metric("data_leakage", "shared_ids_train_val") <= 0:
            return None
        stats = self._stats()
        test = (stats.get("splits") or {}).get("test") if isinstance(stats.get("splits"), dict) else None
        if not isinstance(test, dict):
            return None
        rows, distinct = _number(test.get("n_samples")), _number(test.get("n_unique_ids"))
        if rows is None or distinct is None or distinct >= rows:
            return None
        features = stats.get("features") or {}
        joined = features.get("joined_columns") if isinstance(features, dict) else None
        sources = [str(e.get("source", "")) for e in joined.values() if isinstance(e, dict)] if isinstance(joined, dict) else []
        table = sources[0].removesuffix(".parquet") if sources else "the lookup table"
        merged = None
        for fn in code.functions.values():
            for call in code.calls(fn):
                if code.callee(call) == "merge" and call.args and isinstance(call.args[0], ast.Name):
                    merged = call.args[0].id
        field = merged or table
        return self._submit(
            "data_leakage",
            "preprocessing.py",
            field,
            f"{table} holds several rows per id and is merged onto the pool before the split ({field}), so every "
            f"row is repeated: the frozen test split has {int(rows):,} rows for {int(distinct):,} ids, and copies of "
            "one row land in train and val alike, inflating validation.",
            f"Reduce {table} to one row per id before the merge (drop_duplicates on the id column, as load_table "
            "does), so the join cannot repeat rows.",
        )

    def _oversampled_before_split(self, code: _Code) -> dict[str, Any] | None:
        """Shared ids, and a resampling call on the very frame the splitter receives, made before the split."""
        if self._status("data_leakage") != "fail" or code.tree is None:
            return None
        if self._metric("data_leakage", "shared_ids_train_val") <= 0:
            return None
        resamplers = {
            name
            for name, fn in code.functions.items()
            if any(re.search(r"fit_resample|OverSampler|SMOTE|ADASYN", code.callee(c)) for c in code.calls(fn))
        }
        splitters = set(code.split_functions()) - resamplers
        for fn_name, fn in code.functions.items():
            split_at: dict[str, int] = {}
            for call in code.calls(fn):
                if code.callee(call) in splitters and call.args:
                    for name in code.names(call.args[0]):
                        split_at[name] = min(split_at.get(name, call.lineno), call.lineno)
            for call in code.calls(fn):
                resampler = code.callee(call)
                if resampler not in resamplers or not call.args:
                    continue
                frame = next((n for n in code.names(call.args[0]) if call.lineno < split_at.get(n, -1)), None)
                if frame is None:
                    continue
                return self._submit(
                    "data_leakage",
                    "preprocessing.py",
                    resampler,
                    f"{fn_name} oversamples {frame} with {resampler} before splitting it: copies of the same minority "
                    "rows are split independently, so train and val share sample ids and validation is inflated; "
                    "val class counts are balanced while the frozen test split keeps the real class mix.",
                    f"Split first, then call {resampler} on the training split only; resample the train part after the "
                    "split, not the pool before it.",
                )
        return None

    @staticmethod
    def _called_twice_on_one_pool(code: _Code, splitters: list[str]) -> str | None:
        for fn in code.functions.values():
            counts: dict[tuple[str, str], int] = {}
            for call in code.calls(fn):
                name = code.callee(call)
                if name in splitters and call.args:
                    first = ast.dump(call.args[0])
                    counts[(name, first)] = counts.get((name, first), 0) + 1
            for (name, _), n in counts.items():
                if n >= 2:
                    return name
        return None

    def _scaler(self, code: _Code) -> dict[str, Any] | None:
        """A scaler fitted on the frame the splitter receives. The check flags it when it can; when the run did
        not save the scaler's state the check cannot tell, and the code decides alone."""
        summary = str((self.checks.get("feature_statistics") or {}).get("summary", ""))
        unverified = "scaler state not saved" in summary
        # A failure for val/test features shifted from train (version 4) says nothing about where the scaler was fit.
        flagged = self._status("feature_statistics") == "fail" and not summary.startswith("val/test features shifted")
        if (not flagged and not unverified) or code.tree is None:
            return None
        splitters = set(code.split_functions())
        for fn in code.functions.values():
            split_inputs: set[str] = set()
            for call in code.calls(fn):
                if code.callee(call) in splitters and call.args:
                    split_inputs |= code.names(call.args[0])
            for call in code.calls(fn):
                if code.callee(call) not in ("fit", "fit_transform") or not isinstance(call.func, ast.Attribute):
                    continue
                name = self._fitted_name(fn, call)
                if name is None or _ENCODER_NAMES.search(name):
                    continue
                used = set().union(*(code.names(a) for a in call.args)) if call.args else set()
                if split_inputs and not (used & split_inputs):
                    continue
                if not flagged and not (used & split_inputs):
                    continue  # unverified by the check: only a fit on the very frame the splitter receives counts
                return self._submit(
                    "data_leakage",
                    "preprocessing.py",
                    name,
                    f"{name} is fitted on the whole pool before it is split, so its statistics include the "
                    "validation (and test) rows: information leaks from the held-out data into training features.",
                    f"Split first, then fit {name} on the training split only and apply {name}.transform to the "
                    "validation and test splits.",
                )
        return None

    @staticmethod
    def _fitted_name(fn: ast.FunctionDef, call: ast.Call) -> str | None:
        """The variable a `.fit` call fits: `x.fit(...)`, or `x = Scaler().fit(...)`."""
        receiver = call.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, ast.Name):
            return receiver.id
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and node.value is call and isinstance(node.targets[0], ast.Name):
                return node.targets[0].id
        return None

    def _eval_results(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.artifacts.get("eval_results.json", "") or "{}")
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def _val_minus_test(self) -> float | None:
        """Validation minus test accuracy as eval_results.json reports them."""
        metrics = self._eval_results().get("metrics") or {}
        if not isinstance(metrics, dict):
            return None
        val, test = (_number((metrics.get(s) or {}).get("accuracy")) for s in ("val", "test"))
        return None if val is None or test is None else val - test

    def _target_derived_feature(self, code: _Code) -> dict[str, Any] | None:
        """An input whose association with the target is near 1 on train/val, and a test split far below val."""
        features = self._stats().get("features") or {}
        association = features.get("target_association") if isinstance(features, dict) else None
        if not isinstance(association, dict):
            return None
        suspects = []
        for feature, per_split in association.items():
            if not isinstance(per_split, dict):
                continue
            seen = [v for v in (_number(per_split.get("train")), _number(per_split.get("val"))) if v is not None]
            if seen and min(seen) >= 0.8:
                suspects.append((min(seen), str(feature)))
        gap = self._val_minus_test()
        if not suspects or gap is None or gap <= 0.05:
            return None
        strength, column = max(suspects)
        holder = next(
            (name for name, value in code.constants.items() if isinstance(value, list) and column in value), None
        )
        joined = (features.get("joined_columns") or {}).get(column) if isinstance(features.get("joined_columns"), dict) else None
        source = joined.get("source") if isinstance(joined, dict) else None
        where = f"{holder} (joined from {source})" if holder and source else (holder or "the feature list")
        return self._submit(
            "data_leakage",
            "preprocessing.py",
            holder or column,
            f"The input {column} in {where} tracks the target almost perfectly (association {strength:.2f} on train "
            f"and val, against under 0.5 for every other input): it is recorded from the outcome itself. Validation "
            f"scores are near perfect while the test rows, which lack it, score {gap:.2f} lower.",
            f"Remove {column} from {holder or 'the model inputs'}: drop this label-derived column from the features "
            "and retrain on inputs available at prediction time.",
        )

    def _normalisation_from_test(self, code: _Code) -> dict[str, Any] | None:
        """Normalize's mean reproduces the test split's pixel mean exactly, not train's."""
        stats = self._stats()
        pre, features = stats.get("preprocessing") or {}, stats.get("features") or {}
        norm = (pre.get("normalize") or {}).get("mean") if isinstance(pre, dict) else None
        pixels = features.get("pixel_mean") if isinstance(features, dict) else None
        if not isinstance(norm, list) or not isinstance(pixels, dict):
            return None

        def distance(split: str) -> float:
            values = pixels.get(split)
            if not isinstance(values, list) or len(values) != len(norm):
                return math.inf
            return max(abs(float(a) - float(b)) for a, b in zip(values, norm, strict=True))

        if not (distance("test") < 5e-5 < 5e-4 < distance("train")):
            return None
        field, constant = "MEAN", None
        for node in code.tree.body if code.tree is not None else ():
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                targets = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if "MEAN" not in targets:
                    continue
                configured = [r for a in node.value.args for r in [self._config_read(code, a)] if r is not None]
                if configured and configured[0][1] == "test":  # the manifest is chosen in config.yaml
                    path = configured[0][0]
                    return self._submit(
                        "data_leakage",
                        "config.yaml",
                        path,
                        f"The Normalize mean {norm} is exactly the test split's pixel mean, not the training split's "
                        f"{pixels.get('train')}: {code.segment(node)} takes the manifest from config.yaml, where "
                        f"{path} is test, so test data shapes the inputs the model trains on.",
                        f"Set {path} to train in config.yaml, so the per-channel statistics come from the training "
                        "manifest only, never from the test manifest.",
                    )
                if any(isinstance(a, ast.Constant) for a in node.value.args):
                    field, constant = code.callee(node.value), code.segment(node)
        where = f" ({constant})" if constant else ""
        return self._submit(
            "data_leakage",
            "preprocessing.py",
            field,
            f"The Normalize mean {norm} is exactly the test split's pixel mean, not the training split's "
            f"{pixels.get('train')}: the channel statistics are computed on the frozen test images{where}, so test "
            "data shapes the inputs the model trains on.",
            f"Compute the per-channel pixel statistics ({field}) from the training manifest only, never from the test "
            "manifest, and normalise every split with them.",
        )

    def _eval_augmentation(self, code: _Code) -> dict[str, Any] | None:
        """An evaluation transform that crops or flips at random (directly or through the training transform)."""
        if code.tree is None:
            return None

        def random_ops(fn: ast.FunctionDef) -> list[str]:
            return [code.callee(c) for c in code.calls(fn) if code.callee(c).startswith("Random")]

        for name, fn in code.functions.items():
            lowered = name.lower()
            if "transform" not in lowered or not re.search(r"eval|test|val|infer", lowered):
                continue
            # A training transform reached only under a config.yaml flag: the flag decides.
            flags = [
                read for node in ast.walk(fn) if isinstance(node, ast.If)
                for read in [self._config_read(code, node.test)] if read is not None
            ]
            if flags:
                path, value = flags[0]
                if value is not True:
                    continue
                return self._submit(
                    "preprocessing_bug",
                    "config.yaml",
                    path,
                    f"{name} returns the training transform when config.yaml's {path} is true, and it is: validation "
                    "and test images are cropped and flipped at random on every pass, so evaluation scores are noisy "
                    "and lower, and eval_results.json disagrees with the training log.",
                    f"Set {path} to false in config.yaml, so evaluation resizes and centre-crops only and the random "
                    "crops and flips stay in the training transform.",
                )
            ops = random_ops(fn)
            via = None
            for call in code.calls(fn):
                callee = code.functions.get(code.callee(call))
                if callee is not None and callee is not fn and random_ops(callee):
                    via = callee.name
                    ops += random_ops(callee)
            if not ops:
                continue
            how = f"it returns {via}(), the training augmentations" if via else "it applies " + ", ".join(dict.fromkeys(ops))
            return self._submit(
                "preprocessing_bug",
                "preprocessing.py",
                name,
                f"{name} is random: {how}. Validation and test images are cropped and flipped differently on every "
                "pass, so evaluation scores are noisy and lower, and eval_results.json disagrees with the training log.",
                f"Make {name} deterministic: resize and centre-crop only, and keep the random crops and flips in the "
                "training transform.",
            )
        return None

    def _split_ratio(self, code: _Code) -> dict[str, Any] | None:
        # The share of the labelled pool held out for validation (a subsampled train split does not count).
        share = self._metric("class_balance", "val_share_of_pool")
        if not share:
            train, val = self._split_size("train"), self._split_size("val")
            stats = (self._stats().get("splits") or {}).get("train") or {}
            pool = _number(stats.get("subsampled_from")) if isinstance(stats, dict) else None
            if train is not None and val is not None:
                share = val / ((pool or train) + val)
        if share <= 0.5:
            return None
        splitters = set(code.split_functions())
        for fn in code.functions.values():
            for call in code.calls(fn):
                if code.callee(call) not in splitters:
                    continue
                for keyword in call.keywords:
                    value = code.value(keyword.value)
                    if keyword.arg is None or not isinstance(value, float) or not 0.0 < value < 1.0:
                        continue
                    held_side = not _TRAIN_FRACTION_WORDS.search(keyword.arg)
                    held = value if held_side else 1 - value
                    if held <= 0.5:
                        continue
                    good = round(1 - held, 2)
                    fixed = good if held_side else round(1 - good, 2)
                    return self._submit(
                        "preprocessing_bug",
                        "preprocessing.py",
                        keyword.arg,
                        f"{keyword.arg} = {_fmt(round(value, 4))} holds out {held:.0%} of the pool, so the model "
                        "trains on the small part and validates on the large one.",
                        f"Set {keyword.arg} to {_fmt(fixed)} so that {good:.0%} of the pool is held out for "
                        f"validation and {1 - good:.0%} is used for training.",
                    )
        return None

    def _metric_swap(self, code: _Code) -> dict[str, Any] | None:
        if code.tree is None:
            return None
        for fn_name, fn in code.functions.items():
            for node in ast.walk(fn):
                if not isinstance(node, ast.Dict):
                    continue
                pairs = {}
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(value, ast.Name):
                        pairs[key.value] = value.id
                val, test = pairs.get("val", ""), pairs.get("test", "")
                if "test" in val.lower() and "val" in test.lower():
                    return self._swap_answer(fn_name)
        swapped = self._swapped_call(code)
        return self._swap_answer(swapped) if swapped else None

    def _swap_answer(self, fn_name: str) -> dict[str, Any]:
        return self._submit(
            "evaluation_bug",
            "preprocessing.py",
            fn_name,
            f"{fn_name} ends up writing the test scores under 'val' and the validation scores under 'test', so "
            "eval_results.json reports each split's metrics under the other's name.",
            f"In {fn_name}, write the validation scores under 'val' and the test scores under 'test'.",
        )

    @staticmethod
    def _swapped_call(code: _Code) -> str | None:
        """A module function called with the test scores in its val parameter and vice versa."""
        for fn in code.functions.values():
            for call in code.calls(fn):
                target = code.functions.get(code.callee(call))
                if target is None:
                    continue
                params = [a.arg for a in target.args.args]
                bound = {}
                for param, arg in zip(params, call.args, strict=False):
                    if isinstance(arg, ast.Name):
                        bound[param] = arg.id
                for keyword in call.keywords:
                    if keyword.arg and isinstance(keyword.value, ast.Name):
                        bound[keyword.arg] = keyword.value.id
                swapped_val = any("val" in p and "test" in a and "val" not in a for p, a in bound.items())
                swapped_test = any("test" in p and "val" in a and "test" not in a for p, a in bound.items())
                if swapped_val and swapped_test:
                    return target.name
        return None

    # -- evaluation reports that do not cover, or do not average, what they claim --

    def _eval_blocks(self) -> dict[str, dict[str, Any]]:
        try:
            doc = json.loads(self.artifacts.get("eval_results.json", "") or "{}")
        except ValueError:
            return {}
        metrics = doc.get("metrics") if isinstance(doc, dict) else None
        return {k: v for k, v in (metrics or {}).items() if isinstance(v, dict)} if isinstance(metrics, dict) else {}

    @staticmethod
    def _runner(code: _Code) -> str | None:
        """The function that writes eval_results.json: it calls the writer (a function that writes a
        "metrics" report to a file)."""
        writers = {
            name for name, fn in code.functions.items()
            if any(isinstance(n, ast.Constant) and n.value == "metrics" for n in ast.walk(fn))
            and any(code.callee(call).endswith("write_text") for call in code.calls(fn))
        }
        for name, fn in code.functions.items():
            if name not in writers and any(code.callee(call) in writers for call in code.calls(fn)):
                return name
        return None

    def _eval_on_train_split(self, code: _Code) -> dict[str, Any] | None:
        """The "test" block has exactly the training split's size, and the runner reads the train split."""
        test = self._eval_blocks().get("test", {})
        train_rows, test_rows = self._split_size("train"), self._split_size("test")
        if code.tree is None or not train_rows or test.get("n_samples") != train_rows or train_rows == test_rows:
            return None
        runner = self._runner(code)
        if runner is None:
            return None
        reads_train = any(
            isinstance(node, ast.Constant) and node.value == "train" for node in ast.walk(code.functions[runner])
        )
        if not reads_train:
            return None
        return self._submit(
            "evaluation_bug",
            "preprocessing.py",
            runner,
            f"eval_results.json's test block scored {int(train_rows):,} samples, the size of the training split "
            f"(the test split has {int(test_rows or 0):,}): {runner} scores the training split under the test key, so "
            "the test metrics measure memorisation.",
            f"In {runner}, score the test split, not the training split, for the test metrics.",
        )

    def _eval_drop_last(self, code: _Code) -> dict[str, Any] | None:
        """Each eval block scored a few rows fewer than its split, and the evaluation loaders drop_last."""
        blocks = self._eval_blocks()
        short = []
        for split in ("val", "test"):
            rows, scored = self._split_size(split), _number(blocks.get(split, {}).get("n_samples"))
            if rows and scored is not None and 0 < rows - scored < 1024:
                short.append(split)
        if not short or code.tree is None:
            return None
        runner = self._runner(code)
        if runner is None:
            return None
        drops = any(
            kw.arg == "drop_last" and isinstance(kw.value, ast.Constant) and kw.value.value is True
            for call in code.calls(code.functions[runner]) for kw in call.keywords
        )
        configured = [
            read for call in code.calls(code.functions[runner]) for kw in call.keywords if kw.arg == "drop_last"
            for read in [self._config_read(code, kw.value)] if read is not None and read[1] is True
        ]
        if configured:
            path = configured[0][0]
            return self._submit(
                "evaluation_bug",
                "config.yaml",
                path,
                f"eval_results.json scored fewer {' and '.join(short)} samples than the splits hold: {runner} takes "
                f"the evaluation loaders' drop_last from config.yaml, where {path} is true, so the last incomplete "
                "batch of each split is never scored.",
                f"Set {path} to false in config.yaml so the evaluation DataLoaders keep the last batch and every "
                "sample is scored.",
            )
        if not drops:
            return None
        return self._submit(
            "evaluation_bug",
            "preprocessing.py",
            runner,
            f"eval_results.json scored fewer {' and '.join(short)} samples than the splits hold: the evaluation "
            f"DataLoaders in {runner} use drop_last=True, so the last incomplete batch of each split is never scored.",
            f"Set drop_last=False on the evaluation DataLoaders in {runner} so that every sample is scored.",
        )

    def _weighted_macro(self, code: _Code) -> dict[str, Any] | None:
        """macro_f1 is not the mean of the per-class F1 it is reported with: find what computes it."""
        off = False
        for block in self._eval_blocks().values():
            per_class = block.get("per_class")
            macro = _number(block.get("macro_f1"))
            if not isinstance(per_class, dict) or not per_class or macro is None:
                continue
            f1s = [_number(c.get("f1")) for c in per_class.values() if isinstance(c, dict)]
            numbers = [f for f in f1s if f is not None]
            if f1s and len(numbers) == len(f1s) and abs(sum(numbers) / len(numbers) - macro) > 0.002:
                off = True
        if not off or code.tree is None:
            return None
        for name, fn in code.functions.items():
            keys = [k for node in ast.walk(fn) if isinstance(node, ast.Dict) for k in node.keys]
            if any(isinstance(k, ast.Constant) and k.value == "macro_f1" for k in keys):
                weighted = [path for path, value in self._config_reads(code, fn) if value == "weighted"]
                if weighted:
                    return self._submit(
                        "evaluation_bug",
                        "config.yaml",
                        weighted[0],
                        f"eval_results.json's macro_f1 is not the mean of its per-class F1: {name} averages the "
                        f"per-class F1 as config.yaml's {weighted[0]} says, and that is weighted (by support), so the "
                        "weighted F1 is reported as macro and hides the weak minority classes.",
                        f"Set {weighted[0]} to macro in config.yaml, so macro_f1 is the unweighted mean of the "
                        "per-class F1 (average='macro').",
                    )
                return self._submit(
                    "evaluation_bug",
                    "preprocessing.py",
                    name,
                    f"eval_results.json's macro_f1 is not the mean of its per-class F1: {name} averages the per-class "
                    "F1 weighted by support and reports it as macro, which hides the weak minority classes.",
                    f"In {name}, compute macro_f1 as the unweighted mean of the per-class F1 (average='macro').",
                )
        return None

    def _scored_in_train_mode(self, code: _Code) -> dict[str, Any] | None:
        """Evaluation's val numbers fall short of what the training log measured for the same checkpoint,
        and the function that scores never switches the model to eval mode."""
        if self._metric("metric_gap_analysis", "eval_minus_train_log") > -0.002 or code.tree is None:
            return None
        for name, fn in code.functions.items():
            calls = [code.callee(call) for call in code.calls(fn)]
            scores = "argmax" in calls and any(arg.arg == "model" for arg in fn.args.args)
            if scores and "eval" not in calls:
                return self._submit(
                    "evaluation_bug",
                    "preprocessing.py",
                    name,
                    f"eval_results.json's val accuracy is below the training log's value for the same checkpoint, and "
                    f"{name} never calls model.eval(): the model is scored in training mode, with dropout active.",
                    f"Call model.eval() at the start of {name}, so evaluation runs without dropout.",
                )
        return None

    def _shuffled_eval_loader(self, code: _Code) -> dict[str, Any] | None:
        """Evaluation scored far below the training log for the same checkpoint, and the runner's loader
        shuffles while the targets come from the split itself."""
        if self._metric("metric_gap_analysis", "eval_minus_train_log") > -0.02 or code.tree is None:
            return None
        runner = self._runner(code)
        if runner is None:
            return None
        shuffles = any(
            code.callee(call) == "DataLoader" and kw.arg == "shuffle"
            and isinstance(kw.value, ast.Constant) and kw.value.value is True
            for call in code.calls(code.functions[runner]) for kw in call.keywords
        )
        configured = [
            read for call in code.calls(code.functions[runner]) if code.callee(call) == "DataLoader"
            for kw in call.keywords if kw.arg == "shuffle"
            for read in [self._config_read(code, kw.value)] if read is not None and read[1] is True
        ]
        if configured:
            path = configured[0][0]
            return self._submit(
                "evaluation_bug",
                "config.yaml",
                path,
                f"eval_results.json scores far below the training log for the same checkpoint while the predicted "
                f"class shares look normal: {runner} takes the evaluation loader's shuffle from config.yaml, where "
                f"{path} is true, but reads the targets in file order, so each prediction is compared with another "
                "sample's label.",
                f"Set {path} to false in config.yaml so the evaluation DataLoader does not shuffle.",
            )
        if not shuffles:
            return None
        return self._submit(
            "evaluation_bug",
            "preprocessing.py",
            runner,
            f"eval_results.json scores far below the training log for the same checkpoint while the predicted class "
            f"shares look normal: {runner} shuffles the evaluation loader but reads the targets in file order, so "
            "each prediction is compared with another sample's label.",
            f"Set shuffle=False on the evaluation DataLoader in {runner}.",
        )

    def _fallback(self, code: _Code) -> dict[str, Any]:
        """No rule found its evidence: the task's most likely category, naming the file only."""
        category = {"easy": "config_error", "medium": "data_leakage", "hard": "evaluation_bug"}.get(self.task, "config_error")
        file = "config.yaml" if category == "config_error" else "preprocessing.py"
        return self._submit(
            category,
            file,
            "unknown",
            "The evidence did not single out one parameter.",
            f"Review {file} against the training log and the sanity checks.",
        )
