"""`mlopsdebug eval`'s run: plan the episodes, play them over one batching Session (on a local cluster it
starts, or an address), append records as they finish, then print the report. See mlopsdebug_cli.evaluate."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import os
import pathlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mlopsdebug_agents import AgentFactory, load_agent_factory, run_episode_replaying
from mlopsdebug_cli import blind_training, eval_salt
from mlopsdebug_cli.eval_records import (
    EpisodeKey,
    canonical_order,
    dumps,
    parse_agents,
    parse_seeds,
    parse_tasks,
    read_records,
    write_canonical,
)
from mlopsdebug_cli.eval_report import render_markdown, render_tables, write_chart
from mlopsdebug_cli.eval_statistics import compare, summarize
from mlopsdebug_client import AsyncBatchingSession, AsyncEpisodeClient, ClientConfig, MLOpsDebugError
from mlopsdebug_common import eventloop

__all__ = [
    "EvalOutcome",
    "TaskError",
    "check_tasks",
    "embedded_cluster",
    "evaluate",
    "plan",
    "progress_bar",
    "run_eval",
]


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


def progress_bar(console: Console, enabled: bool) -> Progress:
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
        agents = parse_agents(args.agent)
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
                check_tasks(address, tasks, args.split)
                if blind is not None and any(k.agent in blind.factories for k in pending):
                    blind.train(getattr(args, "train_address", None) or address, tasks, args.concurrency, console)
                handle = stack.enter_context(output.open("a", encoding="utf-8"))
                lines_file = stack.enter_context(open(args.lines, "a", encoding="utf-8")) if args.lines else None
                progress = stack.enter_context(progress_bar(console, not args.no_progress))
                bar = progress.add_task("eval", total=len(pending), mean="-")
                total = 0.0

                def on_record(key: EpisodeKey, record: dict[str, Any], lines: list[str]) -> None:
                    nonlocal total
                    handle.write(dumps(record) + "\n")
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
    except (TaskError, blind_training.TrainingError) as exc:
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


class TaskError(ValueError):
    """A requested task (or its split) the service does not offer: exit status 2."""


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


def check_tasks(address: str, tasks: Sequence[str], split: str = "all") -> None:
    """Fails early, with the known task ids, when a requested task (or its split) does not exist."""
    from mlopsdebug_client import EpisodeClient  # noqa: PLC0415

    config = ClientConfig(timeout_s=30.0, wait_for_ready=True, api_key=os.environ.get("MLOPSDEBUG_API_KEY") or None)
    with EpisodeClient(address, config=config) as client:
        offered = {t.task_id: t for t in client.list_tasks().tasks}
    unknown = [t for t in tasks if t not in offered]
    if unknown:
        raise TaskError(f"unknown task(s) {', '.join(unknown)}; the service offers {', '.join(offered)}")
    without = [t for t in tasks if split != "all" and not offered[t].has_heldout_split]
    if without:
        raise TaskError(f"task(s) {', '.join(without)} hold out no faults, so they have no {split} split")
