"""Episode throughput, latency, reset cost and memory: the in-process core against each way in.

    .venv/bin/python bench/bench_episode.py            # full run, about 2-3 minutes on 2 cores
    .venv/bin/python bench/bench_episode.py --quick    # shorter windows, fewer samples
    .venv/bin/python bench/bench_episode.py --markdown bench-results.md
    .venv/bin/python bench/bench_episode.py --repeat 3 # every step row three times: median and range

What it measures (all on this machine; client and servers share its cores):
- Steps: steps/s and p50/p99 step latency for (a) the pure episode core in this process, (b) unary
  Step, (c) the Session stream, one stream and one message per step per episode, (c') the batching
  session: all episodes on one Session stream, steps that wait together sent as one StepBatch,
  (d) the gateway's OpenEnv WebSocket, each with 1 and 32 episodes played concurrently (the
  WebSocket also with 8). Each row also shows the CPU time per step of the client (this process,
  all its threads) and of the serving processes (episode service, plus the gateway on WebSocket
  rows; the echo server on its rows), from /proc, over the whole row; and the CPU ceiling, the
  steps/s at which those together would keep every core busy, which no amount of concurrency or
  pipelining of the same work can pass. Every episode is the hard task (40 steps): a
  fixed mix of 39 reads, queries and sanity checks, then a submission that the grader scores. A
  worker that finishes an episode resets a new one on a small pool of seeds (scenarios cached), so
  the time includes one warm reset per 40 steps. Latency is per step call, as the client sees it.
- Reset: latency of Reset (the episode is closed afterwards, untimed) with a cold scenario cache (a seed never seen: generation
  plus transfer) and a warm one (the same seeds again), one at a time.
- Memory: resident set (VmRSS) of the episode-service process before and after opening 10,000
  episodes, each on its own (task, seed), so each holds its own scenario.
Each row shows its ratio to the in-process core (throughput as a fraction of the core's; latency as
a multiple of it). Two reference rows send the same number of 3 KiB messages through an empty gRPC
echo server in its own process: what the transport alone costs on this machine, the ceiling for the
unary and Session rows.

The servers run as real processes (the `mlopsdebug up` launcher on free ports). If the gateway
cannot be started, its rows are skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import pathlib
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import AsyncEpisodeClient, ClientConfig
from mlopsdebug_client.actions import as_action
from mlopsdebug_common import eventloop

TASK = "hard"
WORKLOAD_SEEDS = tuple(range(8))
# The step mix of one episode: 39 investigation actions, then a submission (step 40 of 40).
_INVESTIGATION: tuple[dict[str, Any], ...] = (
    {"action_type": "read_config"},
    {"action_type": "read_logs", "log_filter": "epoch:1-2"},
    {"action_type": "check_dataset_stats"},
    {"action_type": "inspect_preprocessing"},
    {"action_type": "read_eval_results"},
    *({"action_type": "run_sanity_check", "sanity_check_type": c} for c in (
        "label_consistency", "data_leakage", "gradient_norms", "class_balance",
        "feature_statistics", "encoder_version_match", "loss_trajectory", "metric_gap_analysis",
    )),
    {"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "optimizer"},
    {"action_type": "query_artifact", "artifact_name": "eval_results.json", "field_path": "metrics"},
    {"action_type": "read_logs", "log_filter": "warning"},
)  # fmt: skip
SUBMISSION: dict[str, Any] = {
    "action_type": "submit_diagnosis",
    "failure_category": "evaluation_bug",
    "root_cause_file": "eval_results.json",
    "root_cause_field": "metrics",
    "diagnosis": "benchmark submission",
    "proposed_fix": "write each split's metrics under its own key",
}
WORKLOAD: tuple[dict[str, Any], ...] = tuple(_INVESTIGATION[i % len(_INVESTIGATION)] for i in range(39)) + (SUBMISSION,)


@dataclasses.dataclass
class StepStats:
    path: str
    episodes: int
    steps: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    all_steps: int = 0  # warmup included, the denominator of the CPU columns
    server_cpu_s: float | None = None  # CPU of the serving processes over the whole row
    client_cpu_s: float | None = None  # CPU of this process (the client, all its threads) over the row
    runs: list[StepStats] = dataclasses.field(default_factory=list)  # every repeat; this one is their median

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.elapsed_s if self.elapsed_s else 0.0

    def cpu_us_per_step(self, cpu_s: float | None) -> float | None:
        return cpu_s / self.all_steps * 1e6 if cpu_s is not None and self.all_steps else None

    @property
    def ceiling(self) -> float | None:
        """Steps/s at which client and servers together would keep every core busy: no pipelining
        or batching of the same work can pass it (one event loop cannot even use more than a core)."""
        total = sum(c for c in (self.cpu_us_per_step(self.client_cpu_s), self.cpu_us_per_step(self.server_cpu_s)) if c)
        return (os.cpu_count() or 1) * 1e6 / total if total else None

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


class Driver:
    """One way to play episodes: `worker()` returns an object with reset(seed), step(i), close()."""

    name = ""

    async def worker(self) -> Any:
        raise NotImplementedError


# -- (a) the in-process core --


class CoreDriver(Driver):
    """The pure episode core with scenarios generated in this process and graded in this process."""

    name = "in-process core"

    def __init__(self, seeds: Sequence[int]) -> None:
        from mlopsdebug_common.domain import Diagnosis  # noqa: PLC0415
        from mlopsdebug_common.sealing import Sealer  # noqa: PLC0415 - the baseline needs service code
        from mlopsdebug_common.tasks import TASKS  # noqa: PLC0415
        from mlopsdebug_episode.actions import Action  # noqa: PLC0415
        from mlopsdebug_episode.core import EpisodeConfig, EpisodeManager  # noqa: PLC0415
        from mlopsdebug_generator import core as generator  # noqa: PLC0415
        from mlopsdebug_grader import core as grader  # noqa: PLC0415

        sealer = Sealer(secrets.token_bytes(32))
        self.generate = lambda task, seed: generator.generate_scenario(task, seed, sealer=sealer, salt=b"")
        self.cache = {(TASK, s): self.generate(TASK, s) for s in seeds}

        class Scenarios:
            async def get(_inner, task_id: str, seed: int, split: str = "all") -> Any:  # noqa: N805
                key = (task_id, seed)  # the benchmark plays the "all" split only
                if key not in self.cache:
                    self.cache[key] = self.generate(task_id, seed)
                return self.cache[key]

        class Grader:
            async def grade(_inner, key: Any, diagnosis: Any, *, task: Any) -> Any:  # noqa: N805
                return grader.grade(
                    sealer.open(key), diagnosis, asymmetric_penalty=task.asymmetric_penalty, reveal_answer=False
                )

        self.tasks = TASKS
        self.manager = EpisodeManager(Scenarios(), Grader(), EpisodeConfig(max_episodes=1_000_000))
        diagnosis = Diagnosis(
            SUBMISSION["failure_category"],
            SUBMISSION["root_cause_file"],
            SUBMISSION["root_cause_field"],
            SUBMISSION["diagnosis"],
            SUBMISSION["proposed_fix"],
        )
        self.actions = [
            Action(
                kind=a["action_type"],
                log_filter=a.get("log_filter", ""),
                check=a.get("sanity_check_type", ""),
                artifact=a.get("artifact_name", ""),
                field_path=a.get("field_path", ""),
                diagnosis=diagnosis if a["action_type"] == "submit_diagnosis" else None,
            )
            for a in WORKLOAD
        ]

    async def worker(self) -> Any:
        driver = self

        class Worker:
            episode_id = ""

            async def reset(self, seed: int) -> None:
                if driver.manager.has(self.episode_id):
                    driver.manager.close(self.episode_id)
                self.episode_id = (await driver.manager.reset(TASK, seed)).episode_id

            async def step(self, i: int) -> None:
                await driver.manager.step(self.episode_id, driver.actions[i])

            async def close(self) -> None:
                if driver.manager.has(self.episode_id):
                    driver.manager.close(self.episode_id)

        return Worker()


# -- (b) unary Step and (c) the Session stream, through the Python client --


class UnaryDriver(Driver):
    name = "unary Step (gRPC)"

    def __init__(self, address: str) -> None:
        self.client = AsyncEpisodeClient(address, config=ClientConfig(timeout_s=None))
        self.actions = [as_action(a) for a in WORKLOAD]

    async def worker(self) -> Any:
        driver = self

        class Worker:
            episode_id = ""

            async def reset(self, seed: int) -> None:
                if self.episode_id:
                    await driver.client.close_episode(self.episode_id)
                self.episode_id = (await driver.client.reset(TASK, seed)).episode_id

            async def step(self, i: int) -> None:
                await driver.client.step(self.episode_id, driver.actions[i])

            async def close(self) -> None:
                if self.episode_id:
                    await driver.client.close_episode(self.episode_id)

        return Worker()


class SessionDriver(Driver):
    name = "Session stream (gRPC)"

    def __init__(self, address: str) -> None:
        self.client = AsyncEpisodeClient(address, config=ClientConfig(timeout_s=None))
        self.actions = [as_action(a) for a in WORKLOAD]

    def open_session(self) -> Any:
        return self.client.session()

    async def worker(self) -> Any:
        driver = self
        session = self.open_session()

        class Worker:
            episode_id = ""

            async def reset(self, seed: int) -> None:
                if self.episode_id:
                    await session.close_episode(self.episode_id)
                self.episode_id = (await session.reset(TASK, seed)).episode_id

            async def step(self, i: int) -> None:
                await session.step(driver.actions[i], self.episode_id)

            async def close(self) -> None:
                await session.close()

        return Worker()


class BatchingSessionDriver(SessionDriver):
    """Every worker on one shared batching session: concurrent steps leave as one StepBatch."""

    name = "Session, batching (gRPC)"

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.shared: Any = None

    def open_session(self) -> Any:
        if self.shared is None:
            self.shared = self.client.batching_session()
        return self.shared


# -- (d) the gateway's OpenEnv WebSocket --


class WebSocketDriver(Driver):
    name = "gateway WebSocket"

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames = [json.dumps({"type": "step", "data": a}) for a in WORKLOAD]

    async def worker(self) -> Any:
        import websockets  # noqa: PLC0415

        socket = await websockets.connect(self.url, max_size=8 << 20, compression=None)
        frames = self.frames

        async def call(frame: str) -> None:
            await socket.send(frame)
            reply = json.loads(await socket.recv())
            if reply.get("type") == "error":
                raise RuntimeError(f"gateway error: {reply['data']}")

        class Worker:
            async def reset(self, seed: int) -> None:
                await call(json.dumps({"type": "reset", "data": {"task_id": TASK, "seed": seed}}))

            async def step(self, i: int) -> None:
                await call(frames[i])

            async def close(self) -> None:
                await socket.close()

        return Worker()


# -- reference: the same traffic through an empty gRPC echo server (transport cost alone) --

_ECHO_SERVICE = "mlopsdebug.bench.Echo"


async def _serve_echo() -> None:
    """A gRPC server (its own process) that answers each message with a reply of the same size and does nothing else."""
    import grpc  # noqa: PLC0415

    async def stream(requests: Any, context: Any) -> Any:
        async for message in requests:
            yield message

    async def unary(message: bytes, context: Any) -> bytes:
        return message

    handler = grpc.method_handlers_generic_handler(
        _ECHO_SERVICE,
        {"Session": grpc.stream_stream_rpc_method_handler(stream), "Step": grpc.unary_unary_rpc_method_handler(unary)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


class EchoDriver(Driver):
    """Echoes a message the size of an average observation (3 KiB) as a bidi stream or unary calls."""

    def __init__(self, address: str, *, stream: bool) -> None:
        import grpc  # noqa: PLC0415

        self.name = f"ref: empty gRPC echo ({'stream' if stream else 'unary'})"
        self.channel = grpc.aio.insecure_channel(address)
        self.stream = stream
        self.payload = b"x" * 3072

    async def worker(self) -> Any:
        payload = self.payload
        if self.stream:
            call = self.channel.stream_stream(f"/{_ECHO_SERVICE}/Session")()

            async def step(i: int) -> None:
                await call.write(payload)
                await call.read()

            async def close() -> None:
                await call.done_writing()
        else:
            method = self.channel.unary_unary(f"/{_ECHO_SERVICE}/Step")

            async def step(i: int) -> None:
                await method(payload)

            async def close() -> None:
                pass

        class Worker:
            async def reset(self, seed: int) -> None:
                await step(-1)

        worker = Worker()
        worker.step = step  # type: ignore[attr-defined]
        worker.close = close  # type: ignore[attr-defined]
        return worker


async def measure_steps(driver: Driver, episodes: int, duration_s: float, warmup_s: float) -> StepStats:
    """Runs `episodes` workers for warmup + duration; counts steps and latencies of the measured window."""
    stats = StepStats(driver.name, episodes)
    workers = [await driver.worker() for _ in range(episodes)]
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop = measure_from + duration_s

    async def run(index: int, worker: Any) -> None:
        episode = index
        while True:
            await worker.reset(WORKLOAD_SEEDS[episode % len(WORKLOAD_SEEDS)])
            episode += episodes
            for i in range(len(WORKLOAD)):
                t0 = time.perf_counter()
                if t0 >= stop:
                    return
                await worker.step(i)
                t1 = time.perf_counter()
                stats.all_steps += 1
                if t0 >= measure_from:
                    stats.latencies_ms.append((t1 - t0) * 1000)

    await asyncio.gather(*(run(i, w) for i, w in enumerate(workers)))
    stats.elapsed_s = duration_s
    stats.steps = len(stats.latencies_ms)
    for worker in workers:
        await worker.close()
    return stats


async def measure_row(
    driver: Driver, episodes: int, duration_s: float, warmup_s: float, servers: list[int]
) -> StepStats:
    """One run of a row, with the CPU this process and the serving processes spent on it; a failing
    path is reported in its row, and the others still run."""
    gc.collect()  # start each row without the previous row's garbage
    cpu_before = sum(process_cpu_s(pid) for pid in servers)
    client_before = time.process_time()
    try:
        row = await measure_steps(driver, episodes, duration_s, warmup_s)
    except Exception as exc:  # noqa: BLE001
        return StepStats(driver.name, episodes, skipped=f"failed: {type(exc).__name__}: {exc}")
    row.client_cpu_s = time.process_time() - client_before
    if servers:
        row.server_cpu_s = sum(process_cpu_s(pid) for pid in servers) - cpu_before
    return row


def median_run(runs: list[StepStats]) -> StepStats:
    """The run with the median steps/s (the lower of the middle two for an even count), keeping all runs."""
    measured = sorted((r for r in runs if not r.skipped), key=lambda r: r.steps_per_s)
    if not measured:
        return runs[0]
    median = measured[(len(measured) - 1) // 2]
    median.runs = measured
    return median


# -- resets and memory --


@dataclasses.dataclass
class ResetStats:
    label: str
    latencies_ms: list[float]

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


async def measure_resets(
    reset: Callable[[int], Awaitable[str]], close: Callable[[str], Awaitable[None]], seeds: Sequence[int], label: str
) -> ResetStats:
    """Latency of each reset alone; the episode is closed afterwards, outside the timing."""
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        episode_id = await reset(seed)
        out.append((time.perf_counter() - t0) * 1000)
        await close(episode_id)
    return ResetStats(label, out)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (/proc/<pid>/stat)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serving_pids(driver: Driver, cluster: LocalCluster, echo_pid: int) -> list[int]:
    """The processes that serve a driver's steps: none for the core, which runs in this process."""
    if isinstance(driver, CoreDriver):
        return []
    if isinstance(driver, EchoDriver):
        return [echo_pid]
    pids = [cluster.processes["episode"].pid]
    if isinstance(driver, WebSocketDriver):
        pids.append(cluster.processes["gateway"].pid)
    return pids


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found")


async def open_many(address: str, count: int, concurrency: int, first_seed: int) -> float:
    """Opens `count` episodes (tasks in turn, distinct seeds) with unary Reset; returns seconds taken."""
    tasks = ("easy", "medium", "hard")
    async with AsyncEpisodeClient(address, config=ClientConfig(timeout_s=120.0)) as client:
        queue = list(range(count))
        t0 = time.perf_counter()

        async def worker() -> None:
            while queue:
                i = queue.pop()
                await client.reset(tasks[i % 3], first_seed + i)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


# -- report --


def _ratio(value: float, base: float, *, fraction: bool) -> str:
    if not base or value != value or base != base:
        return "-"
    return f"{value / base:.3f}" if fraction else f"{value / base:.1f}x"


def step_table(rows: list[StepStats]) -> Table:
    core = {r.episodes: r for r in rows if r.path == CoreDriver.name}
    table = Table(title=f"Steps: {TASK} task, 40-step episodes (39 reads/checks + a graded submission)", title_justify="left")
    repeated = any(len(r.runs) > 1 for r in rows)
    columns = (
        "path",
        "episodes",
        "steps/s",
        *(("range",) if repeated else ()),
        "p50 ms",
        "p99 ms",
        "steps/s vs core",
        "p50 vs core",
        "client CPU µs/step",
        "server CPU µs/step",
        "CPU ceiling",
    )
    for name in columns:
        table.add_column(name, justify="left" if name == "path" else "right")
    for r in rows:
        if r.skipped:
            cells = [r.path, str(r.episodes), "skipped", *([""] if repeated else []), "", "", ""]
            table.add_row(*cells, r.skipped[:60], "", "", "")
            continue
        base = core.get(r.episodes) or core.get(min(core, key=lambda n: abs(n - r.episodes))) if core else None
        spread = sorted(run.steps_per_s for run in r.runs or [r])
        table.add_row(
            r.path,
            str(r.episodes),
            f"{r.steps_per_s:,.0f}",
            *((f"{spread[0]:,.0f}-{spread[-1]:,.0f}",) if repeated else ()),
            f"{r.pct(50):.3f}",
            f"{r.pct(99):.3f}",
            _ratio(r.steps_per_s, base.steps_per_s, fraction=True) if base else "-",
            _ratio(r.pct(50), base.pct(50), fraction=False) if base else "-",
            _us(r.cpu_us_per_step(r.client_cpu_s)),
            _us(r.cpu_us_per_step(r.server_cpu_s)),
            f"{r.ceiling:,.0f}" if r.ceiling and r.server_cpu_s is not None else "-",
        )
    return table


def _us(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def reset_table(rows: list[tuple[ResetStats, ResetStats | None]]) -> Table:
    table = Table(title="Reset latency (one at a time; each episode closed afterwards, untimed)", title_justify="left")
    for name in ("path", "cache", "n", "p50 ms", "p99 ms", "mean ms", "p50 vs core"):
        table.add_column(name, justify="left" if name in ("path", "cache") else "right")
    for stats, base in rows:
        path, cache = stats.label.split("|")
        table.add_row(
            path,
            cache,
            str(len(stats.latencies_ms)),
            f"{stats.pct(50):.3f}",
            f"{stats.pct(99):.3f}",
            f"{np.mean(stats.latencies_ms):.3f}",
            _ratio(stats.pct(50), base.pct(50), fraction=False) if base else "-",
        )
    return table


def table_markdown(table: Table) -> str:
    heads = [str(c.header) for c in table.columns]
    cells = [list(map(str, c._cells)) for c in table.columns]  # noqa: SLF001 - rich keeps cells per column
    lines = [f"**{table.title}**", "", "| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    for row in zip(*cells, strict=True):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace, console: Console) -> list[Table]:
    duration, warmup = (1.5, 0.3) if args.quick else (args.duration_s, 0.5)
    concurrencies = (1, 32)
    tables: list[Table] = []
    bench_start = time.perf_counter()

    console.print("generating the in-process core's scenarios ...")
    core = CoreDriver(WORKLOAD_SEEDS)

    options = ClusterOptions.ephemeral(
        services=("generator", "grader", "episode"),
        max_episodes=args.episodes_for_memory + 2_000,
        idle_timeout_s=3_600.0,
        extra_env={
            "MLOPSDEBUG_GATEWAY_MAX_SESSIONS": "256",
            "MLOPSDEBUG_LOG_LEVEL": "warning",
            # One client opens every episode of the memory row: its quota must not stop it.
            "MLOPSDEBUG_MAX_EPISODES_PER_PRINCIPAL": str(args.episodes_for_memory + 2_000),
        },
    )
    cluster = LocalCluster(options)
    cluster.start()
    try:
        gateway_skip = None
        try:
            cluster.start_service("gateway")
        except Exception as exc:  # noqa: BLE001 - reported as the reason the rows are skipped
            gateway_skip = f"gateway did not start: {exc}"
        address = cluster.address("episode")
        episode_pid = cluster.processes["episode"].pid
        rss_idle = vm_rss_kib(episode_pid)

        # Warm the episode service's scenario cache with the workload seeds.
        async with AsyncEpisodeClient(address, config=ClientConfig(timeout_s=60.0)) as client:
            for seed in WORKLOAD_SEEDS:
                await client.close_episode((await client.reset(TASK, seed)).episode_id)

        plan: list[tuple[Callable[[], Driver], int, str | None]] = []
        for n in concurrencies:
            plan.append((lambda: core, n, None))
        for n in concurrencies:
            plan.append((lambda: UnaryDriver(address), n, None))
        for n in concurrencies:
            plan.append((lambda: SessionDriver(address), n, None))
        for n in concurrencies:
            plan.append((lambda: BatchingSessionDriver(address), n, None))
        ws_url = f"ws://{cluster.address('gateway')}/ws"
        for n in (1, 8, 32):
            plan.append((lambda: WebSocketDriver(ws_url), n, gateway_skip))
        echo = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--echo-server", stdout=asyncio.subprocess.PIPE
        )
        assert echo.stdout is not None
        echo_address = f"127.0.0.1:{int((await echo.stdout.readline()).decode())}"
        for stream in (False, True):
            for n in concurrencies:
                plan.append((lambda stream=stream: EchoDriver(echo_address, stream=stream), n, None))
        try:
            # Repeats are interleaved (every row once, then again), so that a slow minute of a noisy
            # machine touches every row a little rather than one row a lot.
            runs: list[list[StepStats]] = [[] for _ in plan]
            for repeat in range(args.repeat):
                for index, (make, n, skip) in enumerate(plan):
                    driver = make()
                    if skip:
                        runs[index].append(StepStats(driver.name, n, skipped=skip))
                        continue
                    counter = f" (run {repeat + 1} of {args.repeat})" if args.repeat > 1 else ""
                    console.print(f"steps: {driver.name} x {n}{counter} ...")
                    servers = _serving_pids(driver, cluster, echo.pid)
                    runs[index].append(await measure_row(driver, n, duration, warmup, servers))
                    client = getattr(driver, "client", None) or getattr(driver, "channel", None)
                    if client is not None:
                        await client.close()
            rows = [median_run(row_runs) for row_runs in runs]
        finally:
            echo.terminate()
            await echo.wait()
        tables.append(step_table(rows))

        # Resets: cold seeds never seen by either cache, then the same seeds warm.
        n_resets = 30 if args.quick else 100
        cold_seeds = [10_000_000 + i for i in range(n_resets)]

        async def core_reset(seed: int) -> str:
            return (await core.manager.reset(TASK, seed)).episode_id

        async def core_close(episode_id: str) -> None:
            core.manager.close(episode_id)

        core_cold = await measure_resets(core_reset, core_close, cold_seeds, "in-process core|cold")
        core_warm = await measure_resets(core_reset, core_close, cold_seeds, "in-process core|warm")
        async with AsyncEpisodeClient(address, config=ClientConfig(timeout_s=60.0)) as client:

            async def service_reset(seed: int) -> str:
                return (await client.reset(TASK, seed)).episode_id

            async def service_close(episode_id: str) -> None:
                await client.close_episode(episode_id)

            console.print("resets: cold and warm ...")
            svc_cold = await measure_resets(service_reset, service_close, cold_seeds, "unary Reset (gRPC)|cold")
            svc_warm = await measure_resets(service_reset, service_close, cold_seeds, "unary Reset (gRPC)|warm")
        tables.append(reset_table([(core_cold, None), (core_warm, None), (svc_cold, core_cold), (svc_warm, core_warm)]))

        # Memory: open many episodes on distinct (task, seed), each holding its own scenario.
        if args.episodes_for_memory:
            console.print(f"memory: opening {args.episodes_for_memory:,} episodes ...")
            before = vm_rss_kib(episode_pid)
            seconds = await open_many(address, args.episodes_for_memory, 32, first_seed=20_000_000)
            after = vm_rss_kib(episode_pid)
            table = Table(title="Episode-service memory (VmRSS of the process)", title_justify="left")
            for name in ("open episodes", "RSS at start MiB", "RSS before MiB", "RSS after MiB", "per episode KiB", "opened in s", "resets/s"):
                table.add_column(name, justify="right")
            table.add_row(
                f"{args.episodes_for_memory:,}",
                f"{rss_idle / 1024:.0f}",
                f"{before / 1024:.0f}",
                f"{after / 1024:.0f}",
                f"{(after - before) / args.episodes_for_memory:.1f}",
                f"{seconds:.1f}",
                f"{args.episodes_for_memory / seconds:,.0f}",
            )
            tables.append(table)
    finally:
        cluster.stop()
    console.print(f"benchmark took {time.perf_counter() - bench_start:.0f}s")
    return tables


def machine_line(started_load: tuple[float, float, float]) -> str:
    """CPUs, Python, and the load average before and after: other work on the machine skews every row."""
    after = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; 1-minute load average "
        f"{started_load[0]:.2f} before, {after[0]:.2f} after (the benchmark itself adds about 2)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows and fewer samples (a smoke run)")
    parser.add_argument("--duration-s", type=float, default=4.0, help="measured window per step row (default 4)")
    parser.add_argument(
        "--episodes-for-memory", type=int, default=10_000, help="episodes to open for the memory row (0 skips it)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of every step row, interleaved; the table shows the median run and the range",
    )
    parser.add_argument("--markdown", default=None, help="also write the tables as Markdown to this path")
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.echo_server:
        eventloop.run(_serve_echo())
        return 0
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # redirected: keep each row on one line
    load = os.getloadavg()
    tables = eventloop.run(run(args, console))
    machine = machine_line(load)
    console.print(machine)
    for table in tables:
        console.print(table)
    if args.markdown:
        text = machine + "\n\n" + "\n".join(table_markdown(t) for t in tables)
        pathlib.Path(args.markdown).write_text(text, encoding="utf-8")
        console.print(f"written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
