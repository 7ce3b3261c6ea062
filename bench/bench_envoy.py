"""Steps/s through Envoy: the episode service direct (episodes in memory, then in Redis), behind Envoy
with one replica, and with two (episodes in Redis).

    .venv/bin/python bench/bench_envoy.py                    # about 40 s on 2 cores
    .venv/bin/python bench/bench_envoy.py --duration-s 10 --workers 64 --replicas 1,2,3
    .venv/bin/python bench/bench_envoy.py --replicas none --repeat 5   # the stores only, five times

Each row runs on a local cluster of real processes (`mlopsdebug up --episodes N` through LocalCluster):
`--workers` asyncio tasks in this process play episodes back to back for `--duration-s`: one unary Step
call at a time each (every call carries `x-episode-id`, so Envoy keeps an episode on one replica), or
one Session stream each. It prints steps/s and the median and 99th-percentile step latency.
The two direct rows (memory store, Redis store) run on two clusters that are both up, measured in turn.
With `--repeat N` every row is measured N times (the two stores in alternating order), and each
comparison is the median (and range) of the N ratios, each taken within one run: on a shared machine a
ratio of two rows measured side by side means more than either row's steps/s.
Prints numbers only; it asserts nothing.

On a 2-core machine the client, Redis, Envoy and the replicas share the same two cores, so a second
replica adds no core: expect 2 replicas to match 1, not double it. What the rows do show is the store's
cost per step (direct, memory vs. Redis), Envoy's (direct, Redis vs. Envoy with one replica), and that
spreading episodes over replicas costs nothing extra.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import resource
import statistics
import time
from collections.abc import Iterable

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import AsyncEpisodeClient, actions
from mlopsdebug_common import eventloop

SERVICES = ("generator", "grader", "episode")
# Cheap actions on a cached scenario: what is measured is the path, not the work behind it.
ACTIONS = [actions.read_config(), actions.check_dataset_stats(), actions.read_eval_results()]


async def unary_worker(client: AsyncEpisodeClient, seed: int, until: float, latencies: list[float]) -> None:
    while time.perf_counter() < until:
        reset = await client.reset("easy", seed)
        episode_id, budget = reset.episode_id, reset.observation.max_steps
        for i in range(budget - 1):
            if time.perf_counter() >= until:
                break
            started = time.perf_counter()
            await client.step(episode_id, ACTIONS[i % len(ACTIONS)])
            latencies.append(time.perf_counter() - started)
        await client.close_episode(episode_id)


async def session_worker(client: AsyncEpisodeClient, seed: int, until: float, latencies: list[float]) -> None:
    async with client.session() as session:
        while time.perf_counter() < until:
            reset = await session.reset("easy", seed)
            for i in range(reset.observation.max_steps - 1):
                if time.perf_counter() >= until:
                    break
                started = time.perf_counter()
                await session.step(ACTIONS[i % len(ACTIONS)])
                latencies.append(time.perf_counter() - started)
            await session.close_episode()


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time (user + system) of this process and of `pids` so far; 0 for a process /proc cannot show."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    total = mine.ru_utime + mine.ru_stime
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def measure(
    address: str, mode: str, workers: int, duration_s: float, pids: Iterable[int] = ()
) -> dict[str, float]:
    """Steps/s, p50 and p99 latency, and the CPU time per step of this process and `pids` together."""
    pids = list(pids)
    async with AsyncEpisodeClient(address) as client:
        # Warm up: every seed's scenario generated and cached before the clock starts.
        async def warm(seed: int) -> None:
            await client.close_episode((await client.reset("easy", seed)).episode_id)

        await asyncio.gather(*(warm(seed) for seed in range(workers)))
        latencies: list[float] = []
        worker = unary_worker if mode == "unary" else session_worker
        cpu = cpu_seconds(pids)
        started = time.perf_counter()
        until = started + duration_s
        await asyncio.gather(*(worker(client, seed, until, latencies) for seed in range(workers)))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pids) - cpu
    ordered = sorted(latencies)
    return {
        "steps_per_s": len(latencies) / wall,
        "cpu_us": cpu / len(latencies) * 1e6,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--duration-s", type=float, default=4.0, help="per row (default 4)")
    parser.add_argument("--workers", type=int, default=32, help="concurrent episodes (default 32)")
    parser.add_argument(
        "--replicas", default="1,3", help="episode replicas behind Envoy, one row each (default 1,3)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of every row, interleaved (default 1)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 0.3 s per row, 4 episodes")
    args = parser.parse_args()
    if args.quick:
        args.duration_s, args.workers = 0.3, 4
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    counts = [] if args.replicas == "none" else [int(count) for count in args.replicas.split(",")]
    # (label, episode processes, Envoy in front, episodes in Redis)
    rows = [("direct, memory", 1, False, False), ("direct, Redis", 1, False, True)] + [
        (f"Envoy, {count} replica{'s' if count > 1 else ''}", count, True, True) for count in counts
    ]
    print(
        f"{args.workers} concurrent episodes, {args.duration_s:g} s per row; steps/s, p50 and p99 step latency"
    )
    print(
        "Method: one client process runs"
        f" {args.workers} asyncio tasks, each playing easy episodes back to back (cheap actions, scenarios"
        " cached beforehand), one Step at a time, over unary calls or one Session stream per task;"
        " steps/s = steps completed / wall time, latency per Step call. The two direct rows run on two"
        " local clusters of real processes, both up, measured in turn (memory then Redis, then the other way"
        " round in the next run), so that a shared machine's drifting load weighs on both alike; each"
        " Envoy row on a fresh cluster."
    )
    print(f"| {'path':<20} | {'calls':<7} | {'steps/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'CPU us/step':>11} |")
    print(f"|{'-' * 22}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 13}|")

    def options(episodes: int, envoy: bool, redis: bool) -> ClusterOptions:
        return ClusterOptions.ephemeral(
            services=SERVICES, episodes=episodes, envoy=envoy, redis=redis,
            extra_env={"MLOPSDEBUG_LOG_LEVEL": "warning"},
        )  # fmt: skip

    def show(label: str, mode: str, result: dict[str, float], repeat: int) -> None:
        run = f" (run {repeat + 1})" if args.repeat > 1 else ""
        print(
            f"| {label + run:<20} | {mode:<7} | {result['steps_per_s']:>8.0f} | {result['p50_ms']:>7.2f}"
            f" | {result['p99_ms']:>7.2f} | {result['cpu_us']:>11.0f} |",
            flush=True,
        )

    runs: list[dict[tuple[str, str], dict[str, float]]] = [{} for _ in range(args.repeat)]
    stores = [(label, options(episodes, envoy, redis)) for label, episodes, envoy, redis in rows[:2]]
    with LocalCluster(stores[0][1]) as memory, LocalCluster(stores[1][1]) as shared:
        clusters = [(stores[0][0], memory), (stores[1][0], shared)]
        for repeat, results in enumerate(runs):
            for mode in ("unary", "Session"):
                for label, cluster in clusters if repeat % 2 == 0 else clusters[::-1]:
                    pids = [process.pid for process in cluster.processes.values()]
                    results[label, mode] = eventloop.run(
                        measure(cluster.address("episode"), mode, args.workers, args.duration_s, pids)
                    )
            for label, _ in clusters:
                for mode in ("unary", "Session"):
                    show(label, mode, results[label, mode], repeat)
    for repeat, results in enumerate(runs):
        for label, episodes, envoy, redis in rows[2:]:
            with LocalCluster(options(episodes, envoy, redis)) as cluster:
                for mode in ("unary", "Session"):
                    pids = [process.pid for process in cluster.processes.values()]
                    result = eventloop.run(
                        measure(cluster.address("episode"), mode, args.workers, args.duration_s, pids)
                    )
                    results[label, mode] = result
                    show(label, mode, result, repeat)
    for line in comparisons(runs, args.workers, [label for label, *_ in rows[2:]]):
        print(line)


def _spread(values: list[float], unit: str, digits: int, sign: str = "") -> str:
    """The median of the runs' values, and their range when there are several."""
    middle = f"{statistics.median(values):{sign}.{digits}f}{unit}"
    if len(values) == 1:
        return middle
    low, high = f"{min(values):{sign}.{digits}f}", f"{max(values):{sign}.{digits}f}"
    return f"{middle} (range {low} to {high}{unit} over {len(values)} runs)"


def comparisons(
    runs: list[dict[tuple[str, str], dict[str, float]]], workers: int, envoy_rows: list[str]
) -> list[str]:
    """Issue 14's figures from the table's rows: store against store, Envoy's hop, replicas against one.
    Each figure is taken within one run, then summarised over the runs (median and range)."""

    def per_run(row: str, mode: str, key: str) -> list[float]:
        return [results[row, mode][key] for results in runs]

    lines = []
    for mode in ("Session", "unary"):
        redis, memory = per_run("direct, Redis", mode, "steps_per_s"), per_run("direct, memory", mode, "steps_per_s")
        ratios = [r / m for r, m in zip(redis, memory, strict=True)]
        ratio = statistics.median(ratios)
        target = (
            f" (target at 32 Session episodes: >= 0.8x, {'met' if ratio >= 0.8 else 'NOT met'})"
            if mode == "Session" and workers == 32
            else ""
        )
        lines.append(
            f"Redis store vs memory store, {mode}, {workers} episodes: {statistics.median(redis):.0f} vs"
            f" {statistics.median(memory):.0f} steps/s = {_spread(ratios, 'x', 2)}{target}; p50"
            f" {statistics.median(per_run('direct, Redis', mode, 'p50_ms')):.2f} vs"
            f" {statistics.median(per_run('direct, memory', mode, 'p50_ms')):.2f} ms; CPU per step (this client,"
            f" the services, Redis) {statistics.median(per_run('direct, Redis', mode, 'cpu_us')):.0f} vs"
            f" {statistics.median(per_run('direct, memory', mode, 'cpu_us')):.0f} us, memory/Redis"
            f" {_spread([m / r for m, r in zip(per_run('direct, memory', mode, 'cpu_us'), per_run('direct, Redis', mode, 'cpu_us'), strict=True)], 'x', 2)}"
        )
    if not envoy_rows:
        return lines
    one = envoy_rows[0]
    for mode in ("unary", "Session"):
        direct, proxied = per_run("direct, Redis", mode, "p50_ms"), per_run(one, mode, "p50_ms")
        added = [p - d for p, d in zip(proxied, direct, strict=True)]
        lines.append(
            f"Envoy's added latency, {mode} (p50, Redis store, {one} vs direct): {_spread(added, ' ms', 2, '+')}"
            f" ({statistics.median(proxied):.2f} vs {statistics.median(direct):.2f} ms)"
        )
    for label in envoy_rows[1:]:
        for mode in ("unary", "Session"):
            more, base = per_run(label, mode, "steps_per_s"), per_run(one, mode, "steps_per_s")
            ratios = [m / b for m, b in zip(more, base, strict=True)]
            lines.append(
                f"{label} vs {one}, {mode}: {_spread(ratios, 'x', 2)} steps/s"
                f" ({statistics.median(more):.0f} vs {statistics.median(base):.0f}); p50"
                f" {statistics.median(per_run(label, mode, 'p50_ms')):.2f} vs {statistics.median(per_run(one, mode, 'p50_ms')):.2f} ms"
            )
    return lines


if __name__ == "__main__":
    main()
