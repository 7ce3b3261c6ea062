"""Blind baselines: agents that answer without reading any artifact, and the tables they learn.

They expose shortcuts the way question-only baselines do in VQA benchmarks: if an agent that never
opens an artifact scores well, a high score does not show that anything was debugged.

- `ChecksOnlyAgent` runs the eight sanity checks, then submits the answer its table holds for that
  task and pattern of verdicts (pass/warn/fail/not applicable); for a pattern it never saw it backs
  off to the pattern of failures alone, then to the task's prior.
- `PriorAgent` submits the task's best constant answer at once.

Both learn only from what a training-mode agent legitimately sees: the verdicts it ran, and the grades
of its own submissions, which reveal the answer after the episode when the deployment allows it
(`Example.from_record`, `Probe.from_record`, over `mlopsdebug eval` records). A fix text is not part of
the revealed answer, only the rule's sentence; candidate fixes are derived from those sentences and their
credit is measured by submitting them (probes), because a fix that quotes one scenario's values may fail
on another. `learn_table` then picks, for each group of training episodes, the one answer with the
highest mean score under the public grading rules (docs/grading.md): weights 0.15/0.25/0.30/0.30, the
1.5x miss cost on tasks with the asymmetric penalty, and a diagnosis judged as one (a fix aimed at
another fault voids the field and any category but that fault's).

Everything here is pure: `mlopsdebug_cli.blind_training` plays the training episodes, and
`bench/gaming_benchmark.py` feeds the same functions from the generator directly.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np

from mlopsdebug_agents.base import Agent
from mlopsdebug_client.vocabulary import SANITY_CHECKS

__all__ = [
    "BLIND_AGENTS",
    "DIAGNOSIS_TEXT",
    "NEUTRAL_FIX",
    "TABLE_FORMAT",
    "Answer",
    "BlindAgentFactory",
    "BlindTable",
    "ChecksOnlyAgent",
    "Example",
    "FaultClassifier",
    "NaiveBayesClassifier",
    "PriorAgent",
    "Probe",
    "Revealed",
    "fail_set",
    "fix_candidates",
    "learn_table",
    "nested_location",
    "pattern_of",
    "probe_plan",
]

TABLE_FORMAT: Final[str] = "mlopsdebug-blind-table/1"
# The built-in blind agents, by the name `mlopsdebug eval --agent` knows them.
BLIND_AGENTS: Final[tuple[str, ...]] = ("checks-only", "prior")
# One letter per verdict; a pattern is eight letters in SANITY_CHECKS order ("?" for a verdict not seen).
STATUS_LETTERS: Final[dict[str, str]] = {"pass": "P", "warn": "W", "fail": "F", "not_applicable": "N"}
# A fix that proposes no change: it aims at no fault, so it voids nothing (the service needs some fix text).
NEUTRAL_FIX: Final[str] = "Investigate the run further before changing anything."
DIAGNOSIS_TEXT: Final[str] = "Answered from the sanity-check verdicts alone; no artifact was read."
# Grading weights and the asymmetric miss cost, as docs/grading.md publishes them.
WEIGHTS: Final[dict[str, float]] = {"category": 0.15, "file": 0.25, "field": 0.30, "fix": 0.30}
MISS_COST: Final[float] = 1.5
# From task version 3 on, category and file credit are scaled by the field credit (docs/grading.md).
NESTED_LOCATION_FROM_VERSION: Final[int] = 3
# The newest task version, which the plain task names ("easy") mean.
NEWEST_TASK_VERSION: Final[int] = 4
_VERSION_SUFFIX = re.compile(r"-v(\d+)$")


def nested_location(task: str) -> bool:
    """Whether grades of this task id scale category and file credit by the field credit (version 3 on)."""
    match = _VERSION_SUFFIX.search(task)
    version = int(match.group(1)) if match else NEWEST_TASK_VERSION
    return version >= NESTED_LOCATION_FROM_VERSION
# Candidate fix texts kept per fault, and training episodes of a fault each candidate is probed on.
FIXES_PER_FAULT: Final[int] = 4
PROBE_SEEDS: Final[int] = 60
_PARENTHETICAL = re.compile(r"\s*\([^()]*\)")
_NB_LETTERS: Final[tuple[str, ...]] = ("P", "W", "F", "N", "?")


def pattern_of(statuses: Mapping[str, str]) -> str:
    """The verdict pattern: one letter per sanity check (P, W, F, N; "?" if it was not run), in SANITY_CHECKS order."""
    return "".join(STATUS_LETTERS.get(str(statuses.get(check) or ""), "?") for check in SANITY_CHECKS)


def fail_set(pattern: str) -> str:
    """The coarser key of the first back-off: which checks failed ("F" kept, every other letter as ".")."""
    return "".join("F" if letter == "F" else "." for letter in pattern)


def _norm(name: str) -> str:
    return name.strip().strip("\"'`").strip().lower()


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """A submission: category, file, field and fix (the explanation is a fixed sentence: it is not graded)."""

    category: str
    file: str
    field: str
    fix: str

    def action(self) -> dict[str, Any]:
        """The submit_diagnosis action that gives this answer."""
        return {
            "action_type": "submit_diagnosis",
            "failure_category": self.category,
            "root_cause_file": self.file,
            "root_cause_field": self.field,
            "diagnosis": DIAGNOSIS_TEXT,
            "proposed_fix": self.fix,
        }

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict (the learned table's file format)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Answer:
        """The answer that to_json wrote."""
        return cls(str(data["category"]), str(data["file"]), str(data["field"]), str(data["fix"]))


@dataclasses.dataclass(frozen=True, slots=True)
class Revealed:
    """The answer a grade reveals after the episode (training deployments only)."""

    fault_id: str
    category: str
    file: str
    field: str
    field_aliases: tuple[str, ...]
    fix_rule: str

    @classmethod
    def from_grade(cls, grade: Mapping[str, Any] | None) -> Revealed | None:
        """The answer a revealing grade carries, or None when the grade reveals none."""
        answer = (grade or {}).get("answer") or {}
        if not answer.get("fault_id"):
            return None
        return cls(
            str(answer["fault_id"]),
            str(answer["category"]),
            str(answer["file"]),
            str(answer["field"]),
            tuple(str(a) for a in answer.get("field_aliases") or ()),
            str(answer.get("fix_rule") or ""),
        )

    def field_names(self) -> set[str]:
        """The field's name and aliases, normalised for matching."""
        return {_norm(n) for n in (self.field, *self.field_aliases) if n.strip()}


@dataclasses.dataclass(frozen=True, slots=True)
class Example:
    """One training episode: the verdicts of the eight checks and the answer its grade revealed."""

    task: str
    seed: int
    pattern: str
    answer: Revealed
    asymmetric: bool

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Example | None:
        """From an `mlopsdebug eval` record whose agent ran every check; None without a revealed answer."""
        grade = record.get("grade")
        revealed = Revealed.from_grade(grade)
        if revealed is None or grade is None:
            return None
        return cls(str(record["task"]), int(record["seed"]), pattern_of(_statuses(record)), revealed,
                   bool(grade.get("asymmetric_penalty")))  # fmt: skip


def _statuses(record: Mapping[str, Any]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for step in record.get("steps") or ():
        result = ((step.get("observation") or {}).get("result")) or {}
        if result.get("type") == "sanity_check":
            statuses[str(result["check"])] = str(result["status"])
    return statuses


@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    """A candidate fix submitted on a training episode with that episode's revealed category, file and field.

    The grade's credits say whether the text fixes this fault (`fix`) and whether it aims at another
    fault, which voids the field (`field` is then 0 although the field was right).
    """

    task: str
    seed: int
    fix: str
    field_credit: float
    fix_credit: float

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Probe | None:
        """The probe an eval record played (its submission and the credit of each component), or None."""
        grade = record.get("grade") or {}
        credits = {c["kind"]: float(c["credit"]) for c in grade.get("components") or ()}
        submitted = [s["action"] for s in record.get("steps") or () if s.get("error") is None]
        if not credits or not submitted or submitted[-1].get("action_type") != "submit_diagnosis":
            return None
        fix = str(submitted[-1].get("proposed_fix") or "")
        return cls(str(record["task"]), int(record["seed"]), fix, credits.get("field", 0.0), credits.get("fix", 0.0))


def fix_candidates(examples: Iterable[Example], per_fault: int = FIXES_PER_FAULT) -> dict[tuple[str, str], list[str]]:
    """Candidate fix texts per (task, fault): each revealed rule sentence as it is and without its
    parentheses (which hold one scenario's values), the most frequent first, then the shortest."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for e in examples:
        rule = e.answer.fix_rule.strip()
        if not rule:
            continue
        for text in dict.fromkeys((_PARENTHETICAL.sub("", rule).strip(), rule)):
            counts[(e.task, e.answer.fault_id)][text] += 1
    return {
        key: [text for text, _ in sorted(counter.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[:per_fault]]
        for key, counter in sorted(counts.items())
    }


def probe_plan(
    examples: Sequence[Example], candidates: Mapping[tuple[str, str], Sequence[str]], per_text: int = PROBE_SEEDS
) -> list[tuple[Example, Answer]]:
    """The probes to play: each candidate fix on up to `per_text` training episodes of its fault (by seed)."""
    plan = []
    by_fault: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for e in sorted(examples, key=lambda e: (e.task, e.seed)):
        by_fault[(e.task, e.answer.fault_id)].append(e)
    for key, texts in candidates.items():
        for e in by_fault.get(key, [])[:per_text]:
            for text in texts:
                plan.append((e, Answer(e.answer.category, e.answer.file, e.answer.field, text)))
    return plan


# -- learning --


@dataclasses.dataclass(frozen=True, slots=True)
class _Options:
    """Candidate values and their credit on each training episode of one task (C, F, D, X options; S episodes)."""

    categories: list[str]
    files: list[str]
    fields: list[str]
    fixes: list[str]
    cat: np.ndarray  # C x S
    file: np.ndarray  # F x S
    field: np.ndarray  # D x S
    fix: np.ndarray  # X x S: the fix's credit
    field_gate: np.ndarray  # X x S: 0 where the fix aims at another fault (the field earns nothing)
    cat_gate: np.ndarray  # C x X: 0 where the fix aims at a fault of another category
    asymmetric: bool
    nested: bool = False  # category and file credit scaled by the field credit (version 3 on)


def _options(
    examples: Sequence[Example], probes: Iterable[Probe], candidates: Mapping[tuple[str, str], Sequence[str]]
) -> _Options:
    """The credit matrices of one task's examples. On a fault's own episodes a fix earns what the probes measured
    (their mean where an episode was not probed); on other faults' episodes it is modelled as aiming at its own
    fault: no fix credit, no field credit, and category credit only for its fault's category."""
    task = examples[0].task
    categories = sorted({e.answer.category for e in examples})
    files = sorted({e.answer.file for e in examples})
    fields = sorted({n for e in examples for n in (e.answer.field, *e.answer.field_aliases) if n.strip()})
    owners: list[str | None] = [None]
    fixes = [NEUTRAL_FIX]
    for (t, fault), texts in sorted(candidates.items()):
        if t == task:
            for text in texts:
                owners.append(fault)
                fixes.append(text)
    fault_category = {e.answer.fault_id: e.answer.category for e in examples}
    measured: dict[tuple[int, str], Probe] = {(p.seed, p.fix): p for p in probes if p.task == task}
    means: dict[str, tuple[float, float]] = {}
    for text in fixes:
        own = [p for (_, fix), p in measured.items() if fix == text]
        if own:
            means[text] = (float(np.mean([p.field_credit for p in own])), float(np.mean([p.fix_credit for p in own])))
    s = len(examples)
    fix = np.zeros((len(fixes), s))
    field_gate = np.ones((len(fixes), s))
    for x, (text, owner) in enumerate(zip(fixes, owners, strict=True)):
        if owner is None:
            continue
        for i, e in enumerate(examples):
            if e.answer.fault_id != owner:
                field_gate[x, i] = 0.0  # aimed at another fault: no field credit, and (modelled) no fix credit
                continue
            probe = measured.get((e.seed, text))
            gate, credit = (probe.field_credit, probe.fix_credit) if probe else means.get(text, (1.0, 0.0))
            field_gate[x, i], fix[x, i] = gate, credit
    cat_gate = np.array([[1.0 if owner is None or fault_category.get(owner) == c else 0.0 for owner in owners]
                         for c in categories])  # fmt: skip
    return _Options(
        categories, files, fields, fixes,
        cat=np.array([[1.0 if e.answer.category == c else 0.0 for e in examples] for c in categories]),
        file=np.array([[1.0 if _norm(e.answer.file) == _norm(f) else 0.0 for e in examples] for f in files]),
        field=np.array([[1.0 if _norm(d) in e.answer.field_names() else 0.0 for e in examples] for d in fields]),
        fix=fix, field_gate=field_gate, cat_gate=cat_gate,
        asymmetric=any(e.asymmetric for e in examples), nested=nested_location(task),
    )  # fmt: skip


def _best(o: _Options, columns: np.ndarray) -> tuple[Answer, float]:
    """The answer with the highest mean modelled score over the episodes `columns`: an exhaustive search."""
    field = o.field[:, columns]
    fix_part = WEIGHTS["fix"] * o.fix[:, columns]
    located = field[:, None, :] * o.field_gate[None, :, columns]  # D x X x S: the field credit
    field_fix = WEIGHTS["field"] * located + fix_part[None, :, :]  # D x X x S
    best, arg = -1.0, (0, 0, 0, 0)
    for c in range(len(o.categories)):
        category = WEIGHTS["category"] * o.cat[c, columns][None, :] * o.cat_gate[c][:, None]  # X x S
        for f in range(len(o.files)):
            location = category[None, :, :] + WEIGHTS["file"] * o.file[f, columns]
            raw = (location * located if o.nested else location) + field_fix
            score = np.maximum(0.0, 1.0 - MISS_COST * (1.0 - raw)) if o.asymmetric else raw
            means = score.mean(axis=2)
            d, x = np.unravel_index(int(np.argmax(means)), means.shape)
            if means[d, x] > best + 1e-12:
                best, arg = float(means[d, x]), (c, f, int(d), int(x))
    c, f, d, x = arg
    return Answer(o.categories[c], o.files[f], o.fields[d], o.fixes[x]), best


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """A learned answer with the training episodes behind it and its mean modelled score on them."""

    answer: Answer
    episodes: int
    train_score: float

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer.to_json(), "episodes": self.episodes, "train_score": round(self.train_score, 6)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(Answer.from_json(data["answer"]), int(data["episodes"]), float(data["train_score"]))


@dataclasses.dataclass(frozen=True, slots=True)
class TaskTable:
    """One task's answers: per verdict pattern, per set of failed checks (back-off), and the prior."""

    prior: Entry
    patterns: dict[str, Entry]
    fail_sets: dict[str, Entry]

    def lookup(self, pattern: str) -> tuple[Entry, str]:
        """The answer for a pattern and the level it came from: "pattern", "fail_set" or "prior"."""
        if pattern in self.patterns:
            return self.patterns[pattern], "pattern"
        if fail_set(pattern) in self.fail_sets:
            return self.fail_sets[fail_set(pattern)], "fail_set"
        return self.prior, "prior"

    def to_json(self) -> dict[str, Any]:
        return {
            "prior": self.prior.to_json(),
            "patterns": {k: v.to_json() for k, v in sorted(self.patterns.items())},
            "fail_sets": {k: v.to_json() for k, v in sorted(self.fail_sets.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskTable:
        return cls(
            Entry.from_json(data["prior"]),
            {k: Entry.from_json(v) for k, v in data["patterns"].items()},
            {k: Entry.from_json(v) for k, v in data["fail_sets"].items()},
        )


@dataclasses.dataclass(frozen=True, slots=True)
class BlindTable:
    """What the blind agents learned, per task; `meta` says from what (seeds, the deployment's fingerprint)."""

    tasks: dict[str, TaskTable]
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def task(self, task_id: str) -> TaskTable:
        """The table learned for one task; KeyError names the tasks it has."""
        if task_id not in self.tasks:
            raise KeyError(f"the blind table was not trained on task {task_id!r} (it has {', '.join(self.tasks)})")
        return self.tasks[task_id]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the table's file format)."""
        return {"format": TABLE_FORMAT, "meta": self.meta, "tasks": {t: v.to_json() for t, v in self.tasks.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BlindTable:
        """The table that to_json wrote; ValueError for another format."""
        if data.get("format") != TABLE_FORMAT:
            raise ValueError(f"not a blind table of format {TABLE_FORMAT}: {data.get('format')!r}")
        return cls({t: TaskTable.from_json(v) for t, v in data["tasks"].items()}, dict(data.get("meta") or {}))

    def dumps(self) -> str:
        """The table as stable JSON text (sorted keys), for its cache file."""
        return json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def learn_table(
    examples: Iterable[Example],
    probes: Iterable[Probe],
    candidates: Mapping[tuple[str, str], Sequence[str]] | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
) -> BlindTable:
    """The best answer per (task, verdict pattern), per (task, failed checks) and per task (the prior).

    `candidates` defaults to `fix_candidates(examples)`; the probes give each candidate's measured credit.
    """
    examples = sorted(examples, key=lambda e: (e.task, e.seed))
    probes = list(probes)
    if candidates is None:
        candidates = fix_candidates(examples)
    by_task: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        by_task[e.task].append(e)
    tables = {}
    for task, own in by_task.items():
        options = _options(own, probes, candidates)

        def entries(key_of: Callable[[Example], str]) -> dict[str, Entry]:
            groups: dict[str, list[int]] = defaultdict(list)
            for i, e in enumerate(own):  # noqa: B023 - used at once
                groups[key_of(e)].append(i)
            out = {}
            for key, members in sorted(groups.items()):
                answer, score = _best(options, np.array(members))  # noqa: B023
                out[key] = Entry(answer, len(members), round(score, 6))
            return out

        prior, score = _best(options, np.arange(len(own)))
        tables[task] = TaskTable(
            prior=Entry(prior, len(own), round(score, 6)),
            patterns=entries(lambda e: e.pattern),
            fail_sets=entries(lambda e: fail_set(e.pattern)),
        )
    return BlindTable(tables, dict(meta or {}))


# -- classifiers of the fault from the verdicts (the benchmark's measure of how much the checks give away) --


@dataclasses.dataclass(frozen=True, slots=True)
class FaultClassifier:
    """The most frequent fault per verdict pattern, backing off to the failed checks, then to the task's majority."""

    patterns: dict[tuple[str, str], str]
    fail_sets: dict[tuple[str, str], str]
    majority: dict[str, str]

    @classmethod
    def fit(cls, examples: Iterable[Example]) -> FaultClassifier:
        """Counts the faults seen per (task, verdict pattern), per failed-check set and per task."""
        patterns: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        fails: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        tasks: dict[str, Counter[str]] = defaultdict(Counter)
        for e in examples:
            patterns[(e.task, e.pattern)][e.answer.fault_id] += 1
            fails[(e.task, fail_set(e.pattern))][e.answer.fault_id] += 1
            tasks[e.task][e.answer.fault_id] += 1

        def top(counter: Counter[str]) -> str:
            return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]

        return cls({k: top(v) for k, v in patterns.items()}, {k: top(v) for k, v in fails.items()},
                   {k: top(v) for k, v in tasks.items()})  # fmt: skip

    def predict(self, task: str, pattern: str) -> str:
        """The fault most often seen with this pattern, else with its failed checks, else on the task."""
        return self.patterns.get((task, pattern)) or self.fail_sets.get((task, fail_set(pattern))) or self.majority[task]


@dataclasses.dataclass(frozen=True, slots=True)
class NaiveBayesClassifier:
    """Categorical naive Bayes over the eight verdicts (Laplace smoothing), one model per task."""

    faults: dict[str, list[str]]
    log_prior: dict[str, np.ndarray]  # per task: F
    log_likelihood: dict[str, np.ndarray]  # per task: F x 8 checks x 5 letters

    @classmethod
    def fit(cls, examples: Iterable[Example], alpha: float = 1.0) -> NaiveBayesClassifier:
        """Fits per-task priors and per-check verdict likelihoods, smoothed by `alpha`."""
        by_task: dict[str, list[Example]] = defaultdict(list)
        for e in examples:
            by_task[e.task].append(e)
        faults, log_prior, log_likelihood = {}, {}, {}
        letters = _NB_LETTERS
        for task, own in by_task.items():
            names = sorted({e.answer.fault_id for e in own})
            counts = np.full((len(names), len(SANITY_CHECKS), len(letters)), alpha)
            prior = np.zeros(len(names))
            for e in own:
                f = names.index(e.answer.fault_id)
                prior[f] += 1
                for i, letter in enumerate(e.pattern):
                    counts[f, i, letters.index(letter if letter in letters else "?")] += 1
            faults[task] = names
            log_prior[task] = np.log(prior / prior.sum())
            log_likelihood[task] = np.log(counts / counts.sum(axis=2, keepdims=True))
        return cls(faults, log_prior, log_likelihood)

    def predict(self, task: str, pattern: str) -> str:
        """The fault with the highest posterior for this verdict pattern."""
        letters = _NB_LETTERS
        index = [letters.index(letter if letter in letters else "?") for letter in pattern]
        scores = self.log_prior[task] + sum(self.log_likelihood[task][:, i, j] for i, j in enumerate(index))
        return self.faults[task][int(np.argmax(scores))]


# -- the agents --


class ChecksOnlyAgent(Agent):
    """Runs the eight sanity checks (and nothing else), then submits its table's answer for their verdicts."""

    def __init__(self, seed: int = 0, *, table: BlindTable) -> None:
        super().__init__(seed)
        self.table = table
        self.statuses: dict[str, str] = {}
        self.level: str | None = None  # where the answer came from: "pattern", "fail_set" or "prior"

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """Runs the sanity checks not yet run, then submits the answer learned for their verdicts."""
        result = observation.get("last_action_result") or {}
        if result.get("type") == "sanity_check":
            self.statuses[str(result["check"])] = str(result["status"])
        remaining = [c for c in SANITY_CHECKS if c not in self.statuses]
        # Leave the last step of the budget for the submission.
        if remaining and observation["max_steps"] - observation["step_count"] > 1:
            return {"action_type": "run_sanity_check", "sanity_check_type": remaining[0]}
        entry, self.level = self.table.task(str(observation["task_id"])).lookup(pattern_of(self.statuses))
        return entry.answer.action()


class PriorAgent(Agent):
    """Submits the task's best constant answer at the first step: no check, no artifact."""

    def __init__(self, seed: int = 0, *, table: BlindTable) -> None:
        super().__init__(seed)
        self.table = table

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """Submits the task's best constant answer at once."""
        return self.table.task(str(observation["task_id"])).prior.answer.action()


class BlindAgentFactory:
    """Makes `checks-only` or `prior` agents from a learned table; `mlopsdebug eval` trains it first.

    `needs_training` tells a harness that the factory must be given a table (`train(table)`) before use.
    """

    needs_training: Final[bool] = True

    def __init__(self, kind: str, table: BlindTable | None = None) -> None:
        if kind not in BLIND_AGENTS:
            raise ValueError(f"unknown blind agent {kind!r}; expected one of {', '.join(BLIND_AGENTS)}")
        self.kind = kind
        self.table = table

    def train(self, table: BlindTable) -> None:
        """Gives the factory the table its agents answer from."""
        self.table = table

    def __call__(self, seed: int) -> Agent:
        """A fresh agent for one episode; RuntimeError before the factory was trained."""
        if self.table is None:
            raise RuntimeError(
                f"the {self.kind} agent has no learned table: train it with `mlopsdebug eval --agent {self.kind}"
                " --train-seeds A-B` (a seed range disjoint from the evaluated one)"
            )
        agent_class = ChecksOnlyAgent if self.kind == "checks-only" else PriorAgent
        return agent_class(seed, table=self.table)
