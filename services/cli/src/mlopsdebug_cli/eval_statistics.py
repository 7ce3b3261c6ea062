"""`mlopsdebug eval`'s statistics: means with 95% t intervals per (agent, task) and per fault, and paired
comparisons of agents on the (task, seed) pairs both played."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from mlopsdebug_agents.runner import SUCCESS_THRESHOLD
from mlopsdebug_cli.eval_records import task_rank
from mlopsdebug_common.tasks import TASKS

__all__ = ["ComparisonRow", "SummaryRow", "compare", "mean_ci95", "summarize", "t_critical_95"]

# Two-sided 95% Student t critical values for 1..30 degrees of freedom.
_T95: Final[tuple[float, ...]] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975: Final[float] = 1.959963984540054


def t_critical_95(df: int) -> float:
    """Two-sided 95% Student t critical value (a Cornish-Fisher expansion beyond 30 df)."""
    if df < 1:
        raise ValueError("need at least 1 degree of freedom")
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci95(
    values: Sequence[float], *, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float | None, float | None]:
    """(mean, low, high): the mean with its 95% t-interval, clipped to `bounds` (scores lie in [0, 1];
    differences of scores in [-1, 1]); no interval for n < 2."""
    n = len(values)
    if n == 0:
        return math.nan, None, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_critical_95(n - 1) * math.sqrt(variance / n)
    return mean, max(bounds[0], mean - half), min(bounds[1], mean + half)


@dataclasses.dataclass(frozen=True, slots=True)
class SummaryRow:
    """Aggregate of one group of episodes (an agent on a task, or on a fault)."""

    agent: str
    task: str
    fault: str | None
    episodes: int
    mean_score: float
    ci_low: float | None
    ci_high: float | None
    success_rate: float
    mean_steps: float
    truncated: int


def _row(agent: str, task: str, fault: str | None, records: list[Mapping[str, Any]]) -> SummaryRow:
    scores = [float(r["score"]) for r in records]
    mean, low, high = mean_ci95(scores)
    return SummaryRow(
        agent=agent,
        task=task,
        fault=fault,
        episodes=len(records),
        mean_score=mean,
        ci_low=low,
        ci_high=high,
        success_rate=sum(1 for s in scores if s >= SUCCESS_THRESHOLD) / len(records),
        mean_steps=math.fsum(int(r["n_steps"]) for r in records) / len(records),
        truncated=sum(1 for r in records if r["status"] != "terminated"),
    )


def summarize(records: Iterable[Mapping[str, Any]]) -> tuple[list[SummaryRow], list[SummaryRow]]:
    """(per task, per fault) rows. Per task includes an "all" row per agent; per fault is empty unless
    the grades revealed the answers."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    by_fault: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        agent, task = str(record["agent"]), str(record["task"])
        groups.setdefault((agent, task), []).append(record)
        by_agent.setdefault(agent, []).append(record)
        if record.get("fault"):
            by_fault.setdefault((agent, task, str(record["fault"])), []).append(record)
    per_task: list[SummaryRow] = []
    for agent in sorted(by_agent):
        tasks = sorted((t for a, t in groups if a == agent), key=task_rank)
        per_task.extend(_row(agent, task, None, groups[(agent, task)]) for task in tasks)
        if len(tasks) > 1:
            per_task.append(_row(agent, "all", None, by_agent[agent]))
    per_fault = [
        _row(agent, task, fault, by_fault[(agent, task, fault)])
        for agent, task, fault in sorted(by_fault, key=lambda k: (k[0], task_rank(k[1]), k[2]))
    ]
    per_task.extend(_split_rows(by_fault))
    return per_task, per_fault


def _split_rows(by_fault: Mapping[tuple[str, str, str], list[Mapping[str, Any]]]) -> list[SummaryRow]:
    """Per agent and fault split, when some revealed faults are held out: "train faults" and
    "held-out faults" rows, so generalisation shows next to recall."""
    by_split: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for (agent, task, fault), records in by_fault.items():
        spec = TASKS.get(task)
        split = "held-out faults" if spec is not None and fault in spec.heldout_faults else "train faults"
        by_split.setdefault((agent, split), []).extend(records)
    if not any(split == "held-out faults" for _, split in by_split):
        return []
    return [_row(agent, split, None, by_split[(agent, split)]) for agent, split in sorted(by_split)]


@dataclasses.dataclass(frozen=True, slots=True)
class ComparisonRow:
    """Two agents on the same episodes (task and seed): the leader's score minus the other's."""

    agent: str  # the one with the higher mean over all their shared episodes
    versus: str
    task: str  # or "all"
    pairs: int
    mean_difference: float
    ci_low: float | None
    ci_high: float | None
    wins: int  # episodes `agent` scored higher on
    ties: int
    losses: int


def compare(records: Iterable[Mapping[str, Any]]) -> list[ComparisonRow]:
    """Paired comparison of every two agents over the (task, seed) both played, per task and overall.

    Pairing removes the variance between episodes (some seeds are harder for everyone), so the
    interval of the mean difference is much tighter than the two agents' own intervals suggest.
    """
    scores: dict[str, dict[tuple[str, int], float]] = {}
    for record in records:
        episode = (str(record["task"]), int(record["seed"]))
        scores.setdefault(str(record["agent"]), {})[episode] = float(record["score"])
    rows: list[ComparisonRow] = []
    agents = sorted(scores)
    for i, first in enumerate(agents):
        for second in agents[i + 1 :]:
            shared = sorted(set(scores[first]) & set(scores[second]), key=lambda k: (task_rank(k[0]), k[1]))
            if not shared:
                continue
            overall = math.fsum(scores[second][k] - scores[first][k] for k in shared)
            agent, versus = (second, first) if overall > 0 else (first, second)
            tasks = sorted({task for task, _ in shared}, key=task_rank)
            groups = [(task, [k for k in shared if k[0] == task]) for task in tasks]
            if len(tasks) > 1:
                groups.append(("all", shared))
            for task, keys in groups:
                differences = [scores[agent][k] - scores[versus][k] for k in keys]
                mean, low, high = mean_ci95(differences, bounds=(-1.0, 1.0))
                rows.append(
                    ComparisonRow(
                        agent=agent,
                        versus=versus,
                        task=task,
                        pairs=len(keys),
                        mean_difference=mean,
                        ci_low=low,
                        ci_high=high,
                        wins=sum(1 for d in differences if d > 0),
                        ties=sum(1 for d in differences if d == 0),
                        losses=sum(1 for d in differences if d < 0),
                    )
                )
    return rows
