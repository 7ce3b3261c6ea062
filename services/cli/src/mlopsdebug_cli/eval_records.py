"""`mlopsdebug eval`'s records: what one unit of work is (EpisodeKey), the command line's lists, and the
JSONL output file (read back to resume, rewritten in canonical order)."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from mlopsdebug_common.tasks import TASK_ORDER

__all__ = [
    "TASK_ORDER",
    "EpisodeKey",
    "canonical_order",
    "parse_agents",
    "parse_seeds",
    "parse_tasks",
    "read_records",
    "task_rank",
    "write_canonical",
]


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class EpisodeKey:
    """One unit of work: an agent playing one (task, seed)."""

    agent: str
    task: str
    seed: int
    # The fault split of the reset (a seed on another split is another scenario).
    split: str = "all"

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> EpisodeKey:
        return cls(str(record["agent"]), str(record["task"]), int(record["seed"]), str(record.get("split", "all")))


# -- parsing the command line --


def parse_seeds(spec: str) -> list[int]:
    """Seeds from "0-99", "3", "0-9,20,30-31" (inclusive ranges), sorted and without duplicates."""
    seeds: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if dash else lo
        except ValueError:
            raise ValueError(f"bad seed range {part!r}; expected N or N-M, e.g. 0-99") from None
        if lo < 0 or hi < lo:
            raise ValueError(f"bad seed range {part!r}; need 0 <= N <= M")
        if hi - lo >= 1_000_000:
            raise ValueError(f"seed range {part!r} is too large (at most 1,000,000 seeds)")
        seeds.update(range(lo, hi + 1))
    if not seeds:
        raise ValueError("no seeds given")
    return sorted(seeds)


def _comma_list(spec: str, what: str) -> list[str]:
    """The names in "a,b, c" in the order given, without duplicates or blanks; at least one."""
    names: list[str] = []
    for part in spec.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"no {what} given")
    return names


def parse_tasks(spec: str) -> list[str]:
    """Task ids from "easy,medium,hard" in the order given, without duplicates."""
    return _comma_list(spec, "tasks")


def parse_agents(spec: str) -> list[str]:
    """Agent names (or module:Class paths) from "heuristic,random" in the order given, without duplicates."""
    return _comma_list(spec, "agents")


def task_rank(task: str) -> tuple[int, str]:
    """Sorts the task families easy, medium, hard first, then any other task id by name."""
    return (TASK_ORDER.index(task), "") if task in TASK_ORDER else (len(TASK_ORDER), task)


def canonical_order(key: EpisodeKey) -> tuple[str, tuple[int, str], str, int]:
    """The sort key of the canonical file: agent, then task (easy, medium, hard), split, then seed."""
    return (key.agent, task_rank(key.task), key.split, key.seed)


# -- the output file --


def read_records(path: pathlib.Path) -> dict[EpisodeKey, dict[str, Any]]:
    """The records already in `path` by key; lines that do not parse (a cut-off last line) are dropped."""
    records: dict[EpisodeKey, dict[str, Any]] = {}
    if not path.exists():
        return records
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
                key = EpisodeKey.of(record)
            except (ValueError, KeyError, TypeError):
                continue
            records[key] = record
    return records


def dumps(record: Mapping[str, Any]) -> str:
    """One record as one compact JSON line (NaN refused)."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def write_canonical(path: pathlib.Path, records: Mapping[EpisodeKey, Mapping[str, Any]]) -> None:
    """Rewrites `path` atomically with one line per record, in canonical order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for key in sorted(records, key=canonical_order):
            handle.write(dumps(records[key]) + "\n")
    os.replace(tmp, path)
