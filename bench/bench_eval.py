"""Evaluation throughput: how fast `mlopsdebug eval` plays episodes, per agent and concurrency.

    .venv/bin/python bench/bench_eval.py                 # about 1 minute on 2 cores
    .venv/bin/python bench/bench_eval.py --seeds 30 --concurrency 1,32

Each row plays the agent on every task for a fresh range of seeds (never played before, so every
episode's scenario is generated, as in a first evaluation) through the same code as `mlopsdebug eval`
(`run_eval`: one batching Session stream, the agent in this process), against a local cluster of
real processes. It prints episodes/s, steps/s, and the CPU spent per episode by this process (the
agent and the client) and by the cluster (generator, grader and episode service together), read from
/proc. Prints numbers only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from mlopsdebug_agents import load_agent_factory
from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_cli.evaluate import EpisodeKey, plan, run_eval
from mlopsdebug_common import eventloop

TASKS = ("easy", "medium", "hard")
SERVICES = ("generator", "grader", "episode")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (/proc/<pid>/stat)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    address: str, pids: list[int], agent: str, seeds: range, concurrency: int
) -> dict[str, Any]:
    keys = plan([agent], TASKS, list(seeds))
    steps = 0
    scores: list[float] = []

    def on_record(key: EpisodeKey, record: dict[str, Any], lines: list[str]) -> None:
        nonlocal steps
        steps += record["n_steps"]
        scores.append(record["score"])

    cluster_before = sum(process_cpu_s(pid) for pid in pids)
    client_before, wall_before = time.process_time(), time.perf_counter()
    factories = {agent: load_agent_factory(agent)}
    failures = await run_eval(address, keys, factories, concurrency=concurrency, on_record=on_record)
    wall = time.perf_counter() - wall_before
    client = time.process_time() - client_before
    cluster = sum(process_cpu_s(pid) for pid in pids) - cluster_before
    if failures:
        raise RuntimeError(f"{len(failures)} episodes failed, e.g. {failures[0]}")
    episodes = len(keys)
    return {
        "agent": agent,
        "concurrency": concurrency,
        "episodes": episodes,
        "wall": wall,
        "episodes/s": episodes / wall,
        "steps/s": steps / wall,
        "steps/episode": steps / episodes,
        "client ms/episode": client / episodes * 1e3,
        "cluster ms/episode": cluster / episodes * 1e3,
        "mean score": sum(scores) / len(scores),
    }


def table(rows: list[dict[str, Any]]) -> Table:
    out = Table(title="Evaluation throughput (fresh seeds: every scenario generated)", title_justify="left")
    formats = {
        "agent": "{}",
        "concurrency": "{}",
        "episodes": "{:,}",
        "wall": "{:.2f} s",
        "episodes/s": "{:,.0f}",
        "steps/s": "{:,.0f}",
        "steps/episode": "{:.1f}",
        "client ms/episode": "{:.2f}",
        "cluster ms/episode": "{:.2f}",
        "mean score": "{:.3f}",
    }
    for name in formats:
        out.add_column(name, justify="left" if name == "agent" else "right")
    for row in rows:
        out.add_row(*(fmt.format(row[name]) for name, fmt in formats.items()))
    return out


async def run(args: argparse.Namespace, console: Console) -> list[dict[str, Any]]:
    cluster = LocalCluster(
        ClusterOptions.ephemeral(services=SERVICES, extra_env={"MLOPSDEBUG_LOG_LEVEL": "warning"})
    )
    cluster.start()
    try:
        address = cluster.address("episode")
        pids = [cluster.processes[name].pid for name in SERVICES]
        # Warm-up (imports, connections, first-call caches) on seeds no row uses.
        await measure(address, pids, "heuristic", range(10**6, 10**6 + 2), 2)
        rows = []
        first = 0
        for agent in args.agents.split(","):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                console.print(f"{agent} x {concurrency} ...")
                seeds = range(first, first + args.seeds)
                rows.append(await measure(address, pids, agent, seeds, concurrency))
                first += args.seeds
        return rows
    finally:
        cluster.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--agents", default="random,heuristic", help="comma-separated agents (default: both)")
    parser.add_argument("--concurrency", default="1,8,32,64", help="episodes at once, one row each")
    parser.add_argument("--seeds", type=int, default=100, help="seeds per task per row (default 100)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 seeds, 1 and 32 at once")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.concurrency = 5, "1,32"
    console = Console() if Console().is_terminal else Console(width=180)
    rows = eventloop.run(run(args, console))
    console.print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
