"""`mlopsdebug eval`: score agents on tasks x seeds, many episodes in parallel, resumably.

Every episode becomes one JSON line in the output file (see `mlopsdebug_agents.runner.EpisodeRecord`).
Lines are appended as episodes finish, so an interrupted run loses nothing; a rerun skips the
(agent, task, seed) triples already in the file. At the end the file is rewritten in canonical
order, sorted by (agent, task, seed): a resumed run and an uninterrupted one produce the same file
except for each line's `timing` field (episode id and wall-clock latencies), the only part that
differs between runs.

The harness talks to the episode service through `mlopsdebug_client` only. Without an address it
starts a local cluster (generator, grader, episode) as real processes, with answers revealed after
grading so that results can be reported per fault; the agent never sees that answer, which arrives
with the final step's grade. That cluster's salt is fresh and private until the run is complete
(mlopsdebug_cli.eval_salt).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import math
import os
import pathlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from mlopsdebug_agents import AgentFactory, load_agent_factory, run_episode_replaying
from mlopsdebug_agents.runner import SUCCESS_THRESHOLD
from mlopsdebug_cli import blind_training, eval_salt
from mlopsdebug_client import AsyncBatchingSession, AsyncEpisodeClient, ClientConfig, MLOpsDebugError
from mlopsdebug_common import eventloop
from mlopsdebug_common.tasks import TASKS

__all__ = [
    "TASK_ORDER",
    "EpisodeKey",
    "EvalOutcome",
    "SummaryRow",
    "canonical_order",
    "evaluate",
    "mean_ci95",
    "parse_seeds",
    "parse_tasks",
    "plan",
    "read_records",
    "render_markdown",
    "render_tables",
    "run_eval",
    "summarize",
    "t_critical_95",
    "write_canonical",
    "write_chart",
]

TASK_ORDER: Final[tuple[str, ...]] = ("easy", "medium", "hard")
# Two-sided 95% Student t critical values for 1..30 degrees of freedom.
_T95: Final[tuple[float, ...]] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975: Final[float] = 1.959963984540054


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


def parse_tasks(spec: str) -> list[str]:
    """Task ids from "easy,medium,hard" in the order given, without duplicates."""
    tasks: list[str] = []
    for part in spec.split(","):
        task = part.strip()
        if task and task not in tasks:
            tasks.append(task)
    if not tasks:
        raise ValueError("no tasks given")
    return tasks


def _task_rank(task: str) -> tuple[int, str]:
    return (TASK_ORDER.index(task), "") if task in TASK_ORDER else (len(TASK_ORDER), task)


def canonical_order(key: EpisodeKey) -> tuple[str, tuple[int, str], str, int]:
    """The sort key of the canonical file: agent, then task (easy, medium, hard), split, then seed."""
    return (key.agent, _task_rank(key.task), key.split, key.seed)


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


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def write_canonical(path: pathlib.Path, records: Mapping[EpisodeKey, Mapping[str, Any]]) -> None:
    """Rewrites `path` atomically with one line per record, in canonical order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for key in sorted(records, key=canonical_order):
            handle.write(_dumps(records[key]) + "\n")
    os.replace(tmp, path)


# -- statistics --


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
        tasks = sorted((t for a, t in groups if a == agent), key=_task_rank)
        per_task.extend(_row(agent, task, None, groups[(agent, task)]) for task in tasks)
        if len(tasks) > 1:
            per_task.append(_row(agent, "all", None, by_agent[agent]))
    per_fault = [
        _row(agent, task, fault, by_fault[(agent, task, fault)])
        for agent, task, fault in sorted(by_fault, key=lambda k: (k[0], _task_rank(k[1]), k[2]))
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
            shared = sorted(set(scores[first]) & set(scores[second]), key=lambda k: (_task_rank(k[0]), k[1]))
            if not shared:
                continue
            overall = math.fsum(scores[second][k] - scores[first][k] for k in shared)
            agent, versus = (second, first) if overall > 0 else (first, second)
            tasks = sorted({task for task, _ in shared}, key=_task_rank)
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


_COMPARISON_COLUMNS: Final = ("agent", "vs", "task", "pairs", "mean diff", "95% CI", "wins", "ties", "losses")


def _comparison_cells(row: ComparisonRow) -> list[str]:
    interval = "-" if row.ci_low is None or row.ci_high is None else f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}]"
    return [
        row.agent,
        row.versus,
        row.task,
        str(row.pairs),
        f"{row.mean_difference:+.3f}",
        interval,
        str(row.wins),
        str(row.ties),
        str(row.losses),
    ]


def _ci_text(row: SummaryRow) -> str:
    return "-" if row.ci_low is None or row.ci_high is None else f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"


_COLUMNS: Final = ("n", "mean", "95% CI", "success", "steps", "trunc")


def _cells(row: SummaryRow) -> list[str]:
    return [
        str(row.episodes),
        f"{row.mean_score:.3f}",
        _ci_text(row),
        f"{row.success_rate:.1%}",
        f"{row.mean_steps:.1f}",
        str(row.truncated),
    ]


def render_tables(
    per_task: Sequence[SummaryRow], per_fault: Sequence[SummaryRow], comparisons: Sequence[ComparisonRow] = ()
) -> list[Table]:
    """Rich tables of the summary: per task (with an "all" row per agent), per fault when known, and
    the paired comparison when two or more agents played the same episodes."""
    tables = []
    table = Table(title="Scores per task", title_justify="left")
    for name in ("agent", "task", *_COLUMNS):
        table.add_column(name, justify="left" if name in ("agent", "task") else "right")
    for row in per_task:
        table.add_row(row.agent, row.task, *_cells(row), style="bold" if row.task == "all" else None)
    tables.append(table)
    if per_fault:
        table = Table(title="Scores per fault (answers revealed after grading)", title_justify="left")
        for name in ("agent", "task", "fault", *_COLUMNS):
            table.add_column(name, justify="left" if name in ("agent", "task", "fault") else "right")
        for row in per_fault:
            table.add_row(row.agent, row.task, row.fault or "", *_cells(row))
        tables.append(table)
    if comparisons:
        table = Table(title="Paired comparison (the same tasks and seeds)", title_justify="left")
        for name in _COMPARISON_COLUMNS:
            table.add_column(name, justify="left" if name in ("agent", "vs", "task") else "right")
        for comparison in comparisons:
            table.add_row(*_comparison_cells(comparison), style="bold" if comparison.task == "all" else None)
        tables.append(table)
    return tables


def render_markdown(
    per_task: Sequence[SummaryRow], per_fault: Sequence[SummaryRow], comparisons: Sequence[ComparisonRow] = ()
) -> str:
    """The same summary as GitHub-flavoured Markdown tables."""

    def table(heads: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
        aligns = [":--" if h in ("agent", "vs", "task", "fault") else "--:" for h in heads]
        lines = ["| " + " | ".join(heads) + " |", "| " + " | ".join(aligns) + " |"]
        lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
        return lines

    out = ["### Scores per task", ""]
    out += table(("agent", "task", *_COLUMNS), ([r.agent, r.task, *_cells(r)] for r in per_task))
    if per_fault:
        out += ["", "### Scores per fault", ""]
        out += table(
            ("agent", "task", "fault", *_COLUMNS), ([r.agent, r.task, r.fault or "", *_cells(r)] for r in per_fault)
        )
    if comparisons:
        out += ["", "### Paired comparison", ""]
        out += table(_COMPARISON_COLUMNS, (_comparison_cells(r) for r in comparisons))
    out += [
        "",
        f"n: episodes; mean: mean score with its 95% Student t confidence interval (clipped to [0, 1]); success:"
        f" share of episodes with score >= {SUCCESS_THRESHOLD}; steps: mean steps per episode; trunc: episodes that"
        " ended without a graded diagnosis.",
    ]
    if comparisons:
        out.append(
            "Paired comparison: on each (task, seed) both agents played, `agent`'s score minus `vs`'s (`agent` leads"
            " overall); mean diff with its 95% t interval over those pairs; wins/ties/losses count the pairs."
        )
    return "\n".join(out) + "\n"


def write_chart(records: Iterable[Mapping[str, Any]], path: pathlib.Path) -> None:
    """A PNG of score distributions: one box (with the episodes as dots) per task and agent."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise RuntimeError("--chart needs matplotlib: pip install 'mlops-debug-env[plots]'") from exc
    import numpy as np  # noqa: PLC0415

    scores: dict[tuple[str, str], list[float]] = {}
    for r in records:
        scores.setdefault((str(r["agent"]), str(r["task"])), []).append(float(r["score"]))
    agents = sorted({a for a, _ in scores})
    tasks = sorted({t for _, t in scores}, key=_task_rank)
    width = 0.8 / max(1, len(agents))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(tasks) * max(1, len(agents)) ** 0.5), 4.5), dpi=120)
    colors = plt.get_cmap("tab10")
    rng = np.random.default_rng(0)  # jitter only; fixed so the picture is reproducible
    for i, agent in enumerate(agents):
        positions, data = [], []
        for j, task in enumerate(tasks):
            if (agent, task) in scores:
                positions.append(j + (i - (len(agents) - 1) / 2) * width)
                data.append(scores[(agent, task)])
        if not data:
            continue
        parts = ax.boxplot(data, positions=positions, widths=width * 0.8, patch_artist=True, showfliers=False)
        for box in parts["boxes"]:
            box.set(facecolor=colors(i), alpha=0.35)
        for pos, values in zip(positions, data, strict=True):
            ax.scatter(pos + rng.uniform(-width * 0.3, width * 0.3, len(values)), values, s=8, color=colors(i), alpha=0.7)
        ax.plot([], [], color=colors(i), linewidth=8, alpha=0.5, label=agent)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Score distribution per task and agent")
    ax.axhline(SUCCESS_THRESHOLD, color="grey", linestyle=":", linewidth=1)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# -- running --


@dataclasses.dataclass
class EvalOutcome:
    """What a run did: records written now, episodes skipped (already in the file), and failures."""

    written: int = 0
    skipped: int = 0
    failures: list[tuple[EpisodeKey, str]] = dataclasses.field(default_factory=list)


def plan(agents: Sequence[str], tasks: Sequence[str], seeds: Sequence[int], split: str = "all") -> list[EpisodeKey]:
    """Every (agent, task, seed) of a run on one fault split, in canonical order."""
    keys = [EpisodeKey(a, t, s, split) for a in agents for t in tasks for s in seeds]
    return sorted(keys, key=canonical_order)


async def run_eval(
    address: str,
    keys: Sequence[EpisodeKey],
    factories: Mapping[str, AgentFactory],
    *,
    concurrency: int,
    on_record: Callable[[EpisodeKey, dict[str, Any], list[str]], None],
    timeout_s: float = 120.0,
) -> list[tuple[EpisodeKey, str]]:
    """Plays `keys` with up to `concurrency` episodes at once, all on one batching Session stream.

    The workers' steps that wait at the same moment go out as one StepBatch (see
    `AsyncEpisodeClient.batching_session`); observations are exactly those of one-by-one play. Calls
    `on_record` with each finished episode's JSON record and its [START]/[STEP]/[END] lines; returns
    the episodes that failed (service unreachable, agent raised), which have no record and are
    retried by a later run.
    """
    failures: list[tuple[EpisodeKey, str]] = []
    queue: asyncio.Queue[EpisodeKey] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)
    config = ClientConfig(timeout_s=timeout_s, wait_for_ready=True, api_key=os.environ.get("MLOPSDEBUG_API_KEY") or None)
    async with AsyncEpisodeClient(address, config=config) as client:
        sessions = [client.batching_session()]

        def shared_session() -> AsyncBatchingSession:
            """The shared session, replaced if it failed for good (it reopens its streams itself)."""
            if sessions[-1].closed:
                sessions.append(client.batching_session())
            return sessions[-1]

        async def worker() -> None:
            while not queue.empty():
                key = queue.get_nowait()
                lines: list[str] = []
                try:
                    record = await run_episode_replaying(  # a new play if a restart lost the episode
                        shared_session,
                        functools.partial(factories[key.agent], seed=key.seed),
                        key.task,
                        key.seed,
                        agent_name=key.agent,
                        emit=lines.append,
                        executor=agent_threads,
                        split=key.split,
                    )
                except MLOpsDebugError as exc:
                    failures.append((key, f"{exc.code.name}: {exc.message}"))
                    continue
                except Exception as exc:  # noqa: BLE001 - an agent's bug fails its episode, not the run
                    failures.append((key, f"agent raised {type(exc).__name__}: {exc}"))
                    continue
                on_record(key, record.to_json(), lines)

        workers = max(1, min(concurrency, len(keys)))
        # One thread per concurrent episode for blocking agents (a model endpoint): the loop's default
        # executor has min(32, CPUs + 4) threads, which would quietly cap --concurrency at 6 on 2 cores.
        agent_threads = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="mlopsdebug-agent")
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            agent_threads.shutdown(wait=False, cancel_futures=True)
            for session in sessions:
                await session.close()
    return failures


@contextlib.contextmanager
def embedded_cluster(console: Console, run_salt: eval_salt.RunSalt | None = None) -> Iterator[str]:
    """A local cluster (generator, grader, episode) on free ports, answers revealed, salted with the
    run's salt (a fresh one without); yields the episode address."""
    from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster  # noqa: PLC0415

    salt = {"salt": run_salt.salt or None, "public": run_salt.public} if run_salt else {}
    # The evaluator is this cluster's only client: its quota is the whole capacity, whatever --concurrency.
    options = ClusterOptions.ephemeral(
        services=("generator", "grader", "episode"),
        reveal_answers=True,
        reveal_heldout=True,  # the evaluator is its only client: held-out rows of the report need the answers
        extra_env={"MLOPSDEBUG_MAX_EPISODES_PER_PRINCIPAL": "10000"},
        **salt,
    )
    started = time.perf_counter()
    # The supervisor's lines (a crashed service restarted) go through the console, above the progress bar.
    with LocalCluster(options, report=lambda line: console.print(line, markup=False, style="yellow")) as cluster:
        address = cluster.address("episode")
        console.print(
            f"[dim]started a local cluster (episode service at {address}) in {time.perf_counter() - started:.1f}s[/]"
        )
        yield address


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mean score {task.fields[mean]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def evaluate(args: argparse.Namespace) -> int:
    """The `eval` command. Exit status 0 when every planned episode has a record, 1 otherwise, 2 on bad input."""
    console = Console(stderr=True)
    out = Console()
    if not out.is_terminal:
        out = Console(width=120)  # piped or redirected: room for the fault names
    try:
        seeds = parse_seeds(args.seeds)
        tasks = parse_tasks(args.tasks)
        agents = parse_tasks(args.agent)  # the same comma-list rules
        factories = {name: load_agent_factory(name) for name in agents}
        blind = _blind_plan(args, factories, seeds)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if args.concurrency < 1:
        console.print("[red]error:[/] --concurrency must be >= 1")
        return 2
    output = pathlib.Path(args.output)
    if args.fresh and output.exists():
        output.unlink()
    existing = read_records(output)
    keys = plan(agents, tasks, seeds, args.split)
    pending = [k for k in keys if k not in existing]
    try:
        run_salt = eval_salt.prepare(
            output,
            address=args.address,
            salt=getattr(args, "salt", None),
            public=getattr(args, "public", False),
            has_records=bool(existing),
            pending=bool(pending),
            fresh=args.fresh,
        )
    except eval_salt.SaltError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    outcome = EvalOutcome(skipped=len(keys) - len(pending))
    # Rewrite first: drops a line cut off by an interrupted run, so appends start on a fresh line.
    write_canonical(output, existing)
    if outcome.skipped:
        console.print(f"resuming: {outcome.skipped} of {len(keys)} episodes already in {output}")
    try:
        if pending:
            with contextlib.ExitStack() as stack:
                address = args.address or stack.enter_context(embedded_cluster(console, run_salt))
                _check_tasks(address, tasks, args.split)
                if blind is not None and any(k.agent in blind.factories for k in pending):
                    blind.train(getattr(args, "train_address", None) or address, tasks, args.concurrency, console)
                handle = stack.enter_context(output.open("a", encoding="utf-8"))
                lines_file = stack.enter_context(open(args.lines, "a", encoding="utf-8")) if args.lines else None  # noqa: SIM115
                progress = stack.enter_context(_progress(console, not args.no_progress))
                bar = progress.add_task("eval", total=len(pending), mean="-")
                total = 0.0

                def on_record(key: EpisodeKey, record: dict[str, Any], lines: list[str]) -> None:
                    nonlocal total
                    handle.write(_dumps(record) + "\n")
                    handle.flush()
                    if lines_file is not None:  # one episode's lines together, in completion order
                        lines_file.write("\n".join(lines) + "\n")
                        lines_file.flush()
                    existing[key] = record
                    outcome.written += 1
                    total += float(record["score"])
                    progress.update(bar, advance=1, mean=f"{total / outcome.written:.3f}")

                outcome.failures = eventloop.run(
                    run_eval(address, pending, factories, concurrency=args.concurrency, on_record=on_record)
                )
    except (_TaskError, blind_training.TrainingError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except MLOpsDebugError as exc:
        console.print(f"[red]error:[/] the episode service failed: {exc}")
        return 1
    finally:
        write_canonical(output, existing)
        for factory in factories.values():
            close = getattr(factory, "close", None)
            if callable(close):
                close()
    planned = [existing[k] for k in keys if k in existing]
    per_task, per_fault = summarize(planned)
    comparisons = compare(planned)
    for table in render_tables(per_task, per_fault, comparisons):
        out.print(table)
    if planned and not per_fault:
        out.print("[dim]No per-fault table: the grades did not reveal the answers (see --address).[/]")
    out.print(f"{len(planned)} episodes in {output} ({outcome.written} new, {outcome.skipped} resumed)")
    out.print(eval_salt.finish(run_salt, complete=len(planned) == len(keys), address=args.address), soft_wrap=True)
    if args.summary_md:
        md = pathlib.Path(args.summary_md)
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(render_markdown(per_task, per_fault, comparisons), encoding="utf-8")
        out.print(f"summary written to {md}")
    if args.chart:
        try:
            write_chart(planned, pathlib.Path(args.chart))
        except RuntimeError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        out.print(f"chart written to {args.chart}")
    if outcome.failures:
        for key, reason in outcome.failures[:10]:
            console.print(f"[red]failed[/] {key.agent} {key.task} seed {key.seed}: {reason}")
        more = len(outcome.failures) - 10
        if more > 0:
            console.print(f"... and {more} more")
        console.print(f"{len(outcome.failures)} episodes failed; rerun the same command to retry them.")
        return 1
    return 0


class _TaskError(ValueError):
    pass


@dataclasses.dataclass
class _BlindPlan:
    """The blind agents of a run (checks-only, prior) and the seeds they learn on (see blind_training)."""

    factories: dict[str, Any]
    seeds: list[int]
    cache_dir: pathlib.Path

    def train(self, address: str, tasks: Sequence[str], concurrency: int, console: Console) -> None:
        table, _ = blind_training.train(
            address, tasks, self.seeds, concurrency=concurrency, cache_dir=self.cache_dir, console=console
        )
        for factory in self.factories.values():
            factory.train(table)


def _blind_plan(args: argparse.Namespace, factories: Mapping[str, Any], seeds: Sequence[int]) -> _BlindPlan | None:
    """None without blind agents; raises ValueError for bad or overlapping --train-seeds (exit status 2)."""
    blind = blind_training.blind_factories(factories)
    if not blind:
        return None
    train_seeds = parse_seeds(getattr(args, "train_seeds", None) or blind_training.DEFAULT_TRAIN_SEEDS)
    blind_training.check_disjoint(train_seeds, seeds)
    cache = getattr(args, "train_cache", None)
    return _BlindPlan(blind, train_seeds, pathlib.Path(cache) if cache else blind_training.default_cache_dir())


def _check_tasks(address: str, tasks: Sequence[str], split: str = "all") -> None:
    """Fails early, with the known task ids, when a requested task (or its split) does not exist."""
    from mlopsdebug_client import EpisodeClient  # noqa: PLC0415

    config = ClientConfig(timeout_s=30.0, wait_for_ready=True, api_key=os.environ.get("MLOPSDEBUG_API_KEY") or None)
    with EpisodeClient(address, config=config) as client:
        offered = {t.task_id: t for t in client.list_tasks().tasks}
    unknown = [t for t in tasks if t not in offered]
    if unknown:
        raise _TaskError(f"unknown task(s) {', '.join(unknown)}; the service offers {', '.join(offered)}")
    without = [t for t in tasks if split != "all" and not offered[t].has_heldout_split]
    if without:
        raise _TaskError(f"task(s) {', '.join(without)} hold out no faults, so they have no {split} split")
