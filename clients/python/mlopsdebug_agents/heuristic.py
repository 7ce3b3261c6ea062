"""A rule-based investigator: reads every artifact, runs every sanity check, then reasons from them.

It knows what any ML engineer knows (the public rules: the six artifacts, the eight checks, the
failure categories) and the usual ways a training run breaks; it knows nothing of the generator or
the answer key. Each rule needs evidence in what the agent saw:

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
- eval numbers below the log's for the same checkpoint, and a scorer without model.eval() -> that scorer.

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

# libyaml's parser where PyYAML was built with it (its wheels are): the same documents as the pure
# Python SafeLoader (the resolver and constructor are shared), about ten times faster.
_YAML_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["HeuristicAgent"]

_CHECKS: Final[tuple[str, ...]] = (
    "label_consistency",
    "data_leakage",
    "gradient_norms",
    "class_balance",
    "feature_statistics",
    "encoder_version_match",
    "loss_trajectory",
    "metric_gap_analysis",
)
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
        if any(p is None for p in positions):  # a node made by hand: no source (ast gives None too)
            return ""
        line, col, end_line, end_col = positions
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

    def enclosing_function(self, target: ast.AST) -> str | None:
        for name, fn in self.functions.items():
            for node in ast.walk(fn):
                if node is target:
                    return name
        return None


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
        self._parsed_config: tuple[str, dict[str, Any]] = ("", {})

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
        """config.yaml parsed (once per text read: rules consult it repeatedly); {} if unreadable."""
        text = self.artifacts.get("config.yaml", "")
        if self._parsed_config[0] != text:
            try:
                doc = yaml.load(text, Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
            except yaml.YAMLError:
                doc = {}
            self._parsed_config = (text, doc if isinstance(doc, dict) else {})
        return self._parsed_config[1]

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
            self._exploding_lr,
            self._split_ratio,
            self._batch_size_overflow,
            self._momentum,
            self._tokenizer_drift,
            self._label_mismatch,
            self._overlap,
            self._scaler,
            self._metric_swap,
            self._eval_on_train_split,
            self._eval_drop_last,
            self._weighted_macro,
            self._scored_in_train_mode,
        ):
            answer = rule(code)
            if answer is not None:
                return answer
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
        if self._status("encoder_version_match") != "fail" or code.tree is None:
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

    def _label_mismatch(self, code: _Code) -> dict[str, Any] | None:
        if self._status("label_consistency") != "fail" or code.tree is None:
            return None
        candidates = []
        for fn_name, fn in code.functions.items():
            for node in ast.walk(fn):
                target = node.targets[0] if isinstance(node, ast.Assign) else None
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
        if self._status("feature_statistics") != "fail" or code.tree is None:
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
            if f1s and all(f is not None for f in f1s) and abs(sum(f1s) / len(f1s) - macro) > 0.002:
                off = True
        if not off or code.tree is None:
            return None
        for name, fn in code.functions.items():
            keys = [k for node in ast.walk(fn) if isinstance(node, ast.Dict) for k in node.keys]
            if any(isinstance(k, ast.Constant) and k.value == "macro_f1" for k in keys):
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
