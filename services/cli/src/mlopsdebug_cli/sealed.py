"""`mlopsdebug eval --mode sealed`: score agents the way a held-out test server does.

For each agent the runner, as the operator, creates a sealed evaluation (every task x --episodes);
the agents play it: the service draws every scenario from the evaluation's secret stream and shows
each agent only its score. When every episode has ended the runner closes the evaluations and
builds the output file from the operator's reports: per episode the real seed, the full grade and,
when the grader reveals answers, the fault. All agents' evaluations share one random stream key, so
they play the same scenarios and the paired comparison applies; no agent gets two evaluations.

A sealed run cannot be resumed (its scenarios are unknown until it closes): it writes a fresh file,
and an episode that fails counts as 0, as the report says. Each (agent, task)'s resets go out in
order, so the k-th agent (seeded with k) meets the evaluation's k-th scenario in every run.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import pathlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from rich.console import Console

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_agents import AgentFactory, load_agent_factory, run_episode
from mlopsdebug_agents.runner import SUCCESS_THRESHOLD
from mlopsdebug_cli import eval_records, eval_report, eval_run, eval_statistics
from mlopsdebug_client import AsyncEpisodeClient, ClientConfig, MLOpsDebugError, grade_to_dict
from mlopsdebug_common import eventloop

__all__ = ["evaluate_sealed", "records_from_reports", "run_sealed"]

_STATUS: Final = {
    ep_pb.EVALUATION_EPISODE_STATUS_GRADED: "terminated",
    ep_pb.EVALUATION_EPISODE_STATUS_TRUNCATED: "truncated",
    ep_pb.EVALUATION_EPISODE_STATUS_UNFINISHED: "aborted",
    ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED: "aborted",
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Work:
    agent: str
    task: str
    index: int  # the agent's seed, and the scenario it meets (resets of one task go out in order)


class _EvaluationSession:
    """What `run_episode` needs of a session, with every reset drawn from one sealed evaluation."""

    def __init__(self, session: Any, evaluation_id: str, reset_lock: asyncio.Lock) -> None:
        self._session = session
        self._evaluation_id = evaluation_id
        self._reset_lock = reset_lock

    async def reset(
        self, task_id: str, seed: int | None = None, episode_id: str = "", *, split: str = "all"
    ) -> ep_pb.ResetResponse:
        if split != "all":
            raise ValueError("a sealed evaluation draws its own scenarios: it takes no split")
        async with self._reset_lock:  # FIFO: the k-th waiting worker draws the k-th scenario
            return await self._session.reset(
                task_id, episode_id=episode_id, evaluation_id=self._evaluation_id
            )

    async def step(self, action: Any, episode_id: str = "") -> ep_pb.StepResponse:
        return await self._session.step(action, episode_id)

    async def close_episode(self, episode_id: str = "") -> ep_pb.CloseEpisodeResponse:
        return await self._session.close_episode(episode_id)


async def run_sealed(
    address: str,
    agents: Sequence[str],
    tasks: Sequence[str],
    episodes: int,
    factories: Mapping[str, AgentFactory],
    *,
    concurrency: int,
    on_record: Callable[[dict[str, Any], list[str]], None],
    stream_key: bytes | None = None,
    timeout_s: float = 120.0,
) -> tuple[dict[str, ep_pb.EvaluationReport], list[tuple[_Work, str]], dict[str, dict[str, Any]]]:
    """Plays one sealed evaluation per agent; returns (reports by agent, failures, records by episode id).

    `on_record` sees each finished episode as the agent saw it (score only, seed unknown).
    """
    key = stream_key or secrets.token_bytes(32)
    failures: list[tuple[_Work, str]] = []
    played: dict[str, dict[str, Any]] = {}
    config = ClientConfig(timeout_s=timeout_s, wait_for_ready=True)
    async with AsyncEpisodeClient(address, config=config) as client:
        created = {
            agent: await client.create_evaluation([(t, episodes) for t in tasks], scenario_stream_key=key)
            for agent in agents
        }
        work: asyncio.Queue[_Work] = asyncio.Queue()
        for index in range(episodes):  # interleaved, so that every (agent, task)'s resets proceed at once
            for agent in agents:
                for task in tasks:
                    work.put_nowait(_Work(agent, task, index))
        locks = {(agent, task): asyncio.Lock() for agent in agents for task in tasks}
        session = client.batching_session()

        async def worker() -> None:
            while not work.empty():
                item = work.get_nowait()
                lines: list[str] = []
                sealed = _EvaluationSession(
                    session, created[item.agent].evaluation_id, locks[(item.agent, item.task)]
                )
                try:
                    record = await run_episode(
                        sealed,
                        factories[item.agent](seed=item.index),
                        item.task,
                        item.index,
                        agent_name=item.agent,
                        emit=lines.append,
                        executor=agent_threads,
                    )
                except MLOpsDebugError as exc:
                    failures.append((item, f"{exc.code.name}: {exc.message}"))
                    continue
                except Exception as exc:  # noqa: BLE001 - an agent's bug fails its episode, not the run
                    failures.append((item, f"agent raised {type(exc).__name__}: {exc}"))
                    continue
                as_json = record.to_json()
                played[as_json["timing"]["episode_id"]] = as_json
                on_record(as_json, lines)

        workers = max(1, min(concurrency, work.qsize()))
        agent_threads = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="mlopsdebug-agent")
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            agent_threads.shutdown(wait=False, cancel_futures=True)
            await session.close()
            # Close even after a failure: the evaluations must not stay open for anyone to play on.
            reports = {
                agent: (await client.close_evaluation(c.evaluation_id, c.operator_token)).report
                for agent, c in created.items()
            }
    return reports, failures, played


def records_from_reports(
    reports: Mapping[str, ep_pb.EvaluationReport], played: Mapping[str, Mapping[str, Any]]
) -> dict[eval_records.EpisodeKey, dict[str, Any]]:
    """One eval-file record per planned episode: what the agent did (by episode id), with the seed,
    score, grade and fault that only the operator's report holds. Episodes without a played record
    (failed, never started) get an empty one with status "aborted" and score 0."""
    records: dict[eval_records.EpisodeKey, dict[str, Any]] = {}
    for agent, report in reports.items():
        for episode in report.episodes:
            grade = grade_to_dict(episode.grade) if episode.HasField("grade") else None
            base = played.get(episode.episode_id) if episode.episode_id else None
            record = dict(base) if base is not None else {
                "agent": agent, "status": _STATUS[episode.status], "n_steps": episode.step_count, "steps": [],
                "timing": {"episode_id": episode.episode_id},
            }  # fmt: skip
            answer = (grade or {}).get("answer") or {}
            record.update(
                task=episode.task_id,
                seed=episode.seed,
                fault=answer.get("fault_id") or None,
                score=episode.score,
                success=episode.score >= SUCCESS_THRESHOLD,
                grade=grade,
                evaluation={"evaluation_id": report.evaluation_id, "index": episode.index},
            )
            records[eval_records.EpisodeKey.of(record)] = record
    return records


def evaluate_sealed(args: argparse.Namespace) -> int:
    """The `eval --mode sealed` command; exit status as `eval`'s (1 when an episode failed)."""
    console = Console(stderr=True)
    out = Console()
    if not out.is_terminal:
        out = Console(width=120)
    try:
        tasks = eval_records.parse_tasks(args.tasks)
        agents = eval_records.parse_agents(args.agent)
        episodes = args.episodes if args.episodes is not None else len(eval_records.parse_seeds(args.seeds))
        factories = {name: load_agent_factory(name) for name in agents}
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if args.concurrency < 1 or episodes < 1:
        console.print("[red]error:[/] --concurrency and --episodes must be >= 1")
        return 2
    output = pathlib.Path(args.output)
    if output.exists() and output.stat().st_size and not args.fresh:
        console.print(
            f"[red]error:[/] {output} exists; a sealed run cannot resume: pass --fresh or another --output"
        )
        return 2
    records: dict[eval_records.EpisodeKey, dict[str, Any]] = {}
    try:
        with contextlib.ExitStack() as stack:
            address = args.address or stack.enter_context(eval_run.embedded_cluster(console))
            eval_run.check_tasks(address, tasks)
            lines_file = stack.enter_context(open(args.lines, "a", encoding="utf-8")) if args.lines else None
            progress = stack.enter_context(eval_run.progress_bar(console, not args.no_progress))
            bar = progress.add_task("sealed eval", total=len(agents) * len(tasks) * episodes, mean="-")
            total, done = 0.0, 0

            def on_record(record: dict[str, Any], lines: list[str]) -> None:
                nonlocal total, done
                if lines_file is not None:
                    lines_file.write("\n".join(lines) + "\n")
                    lines_file.flush()
                done += 1
                total += float(record["score"])
                progress.update(bar, advance=1, mean=f"{total / done:.3f}")

            reports, failures, played = eventloop.run(
                run_sealed(
                    address,
                    agents,
                    tasks,
                    episodes,
                    factories,
                    concurrency=args.concurrency,
                    on_record=on_record,
                )
            )
            records = records_from_reports(reports, played)
    except eval_run.TaskError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except MLOpsDebugError as exc:
        console.print(f"[red]error:[/] the episode service failed: {exc}")
        return 1
    finally:
        for factory in factories.values():
            close = getattr(factory, "close", None)
            if callable(close):
                close()
    eval_records.write_canonical(output, records)
    planned = list(records.values())
    per_task, per_fault = eval_statistics.summarize(planned)
    comparisons = eval_statistics.compare(planned)
    for table in eval_report.render_tables(per_task, per_fault, comparisons):
        out.print(table)
    for agent, report in sorted(reports.items()):
        out.print(
            f"sealed evaluation {report.evaluation_id} ({agent}): closed, {len(report.episodes)} episodes"
        )
    out.print(f"{len(planned)} episodes in {output} (seeds and grades from the operator's reports)")
    if args.summary_md:
        md = pathlib.Path(args.summary_md)
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(eval_report.render_markdown(per_task, per_fault, comparisons), encoding="utf-8")
        out.print(f"summary written to {md}")
    if args.chart:
        try:
            eval_report.write_chart(planned, pathlib.Path(args.chart))
        except RuntimeError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        out.print(f"chart written to {args.chart}")
    if failures:
        for item, reason in failures[:10]:
            console.print(f"[red]failed[/] {item.agent} {item.task} #{item.index}: {reason} (scored 0)")
        console.print(f"{len(failures)} episodes failed; a sealed evaluation cannot retry them.")
        return 1
    return 0
