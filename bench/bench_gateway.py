"""Gateway latency and throughput: what the OpenEnv surface adds on top of the episode service.

    .venv/bin/python bench/bench_gateway.py           # about half a minute on 2 cores
    .venv/bin/python bench/bench_gateway.py --quick   # fewer samples

Runs an in-process cluster (generator, grader, episode on free ports, as the tests do) and a real
gateway (uvicorn, real sockets) in this process; client, gateway and servers share the machine's cores.
Prints, per way in: p50/p99 latency of one step as the client sees it, and steps/s:
- the episode service's Session stream directly (the baseline the gateway forwards to);
- the gateway's OpenEnv WebSocket (/ws), 1 session and 32 concurrent sessions;
- the gateway's HTTP POST /step (stateful by episode id);
- the gateway's MCP tools/call over POST /mcp;
and the time to open 100 WebSocket sessions at once and reset an episode on each.
Steps cycle through reads, queries and sanity checks, so rewards and results are real; no grading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import sys
import time
from collections.abc import Awaitable, Callable

import grpc
import httpx
import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_common import eventloop
from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.server import start_in_thread

ACTIONS = [
    {"action_type": "read_config"},
    {"action_type": "read_logs", "log_filter": "epoch:1-2"},
    {"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "optimizer"},
    {"action_type": "run_sanity_check", "sanity_check_type": "loss_trajectory"},
    {"action_type": "check_dataset_stats"},
]
PROTO_ACTIONS = [
    pb.Action(read_config=pb.ReadConfig()),
    pb.Action(read_logs=pb.ReadLogs(log_filter="epoch:1-2")),
    pb.Action(query_artifact=pb.QueryArtifact(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="optimizer")),
    pb.Action(run_sanity_check=pb.RunSanityCheck(check=pb.SANITY_CHECK_TYPE_LOSS_TRAJECTORY)),
    pb.Action(check_dataset_stats=pb.CheckDatasetStats()),
]
STEPS_PER_EPISODE = 39  # the hard task's budget is 40; leave the episode running


def row(name: str, latencies: list[float], elapsed: float) -> None:
    ms = np.array(latencies) * 1000
    print(f"{name:<34} p50 {np.percentile(ms, 50):7.2f} ms   p99 {np.percentile(ms, 99):7.2f} ms   "
          f"{len(latencies) / elapsed:8.0f} steps/s   ({len(latencies)} steps)")


async def timed_workers(
    workers: int, steps: int, worker: Callable[[int, int, list[float]], Awaitable[None]]
) -> tuple[list[float], float]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(worker(i, steps, latencies) for i in range(workers)))
    return latencies, time.perf_counter() - started


async def session_stream(addr: str, workers: int, steps: int) -> tuple[list[float], float]:
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = ep_grpc.EpisodeServiceStub(channel)

        async def worker(index: int, count: int, out: list[float]) -> None:
            call = stub.Session()
            done = 0
            while done < count:
                await call.write(ep_pb.SessionRequest(reset=ep_pb.ResetRequest(task_id="hard", seed=index % 8)))
                await call.read()
                for i in range(min(STEPS_PER_EPISODE, count - done)):
                    begin = time.perf_counter()
                    await call.write(ep_pb.SessionRequest(step=ep_pb.StepRequest(action=PROTO_ACTIONS[i % 5])))
                    await call.read()
                    out.append(time.perf_counter() - begin)
                    done += 1
            await call.done_writing()

        return await timed_workers(workers, steps, worker)


async def websocket(url: str, workers: int, steps: int) -> tuple[list[float], float]:
    async def worker(index: int, count: int, out: list[float]) -> None:
        async with connect(url.replace("http://", "ws://") + "/ws", max_size=None) as ws:
            done = 0
            while done < count:
                await ws.send(json.dumps({"type": "reset", "data": {"task_id": "hard", "seed": index % 8}}))
                await ws.recv()
                for i in range(min(STEPS_PER_EPISODE, count - done)):
                    begin = time.perf_counter()
                    await ws.send(json.dumps({"type": "step", "data": ACTIONS[i % 5]}))
                    json.loads(await ws.recv())
                    out.append(time.perf_counter() - begin)
                    done += 1

    return await timed_workers(workers, steps, worker)


async def http_steps(url: str, steps: int, mcp: bool) -> tuple[list[float], float]:
    async def worker(index: int, count: int, out: list[float]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            done = 0
            while done < count:
                episode_id = (await client.post("/reset", json={"task_id": "hard", "seed": index % 8})).json()[
                    "episode_id"]
                for i in range(min(STEPS_PER_EPISODE, count - done)):
                    begin = time.perf_counter()
                    if mcp:
                        action = {k: v for k, v in ACTIONS[i % 5].items() if k != "action_type"}
                        body = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                "params": {"name": ACTIONS[i % 5]["action_type"],
                                           "arguments": {**action, "episode_id": episode_id}}}
                        response = await client.post("/mcp", json=body)
                    else:
                        response = await client.post("/step", json={"episode_id": episode_id,
                                                                    "action": ACTIONS[i % 5]})
                    response.raise_for_status()
                    out.append(time.perf_counter() - begin)
                    done += 1
                await client.post("/close", json={"episode_id": episode_id})

    return await timed_workers(1, steps, worker)


async def open_sessions(url: str, sessions: int) -> float:
    async def one(index: int) -> None:
        async with connect(url.replace("http://", "ws://") + "/ws", open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "reset", "data": {"task_id": "easy", "seed": index}}))
            await ws.recv()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(sessions)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    steps = 200 if args.quick else 1000

    from inprocess import InProcessCluster  # noqa: PLC0415 - tests/ holds the in-process cluster

    cluster = InProcessCluster().start()
    gateway = start_in_thread(GatewayConfig(host="127.0.0.1", port=0, episode_addr=cluster.episode_addr,
                                            log_level="warning"))
    try:
        eventloop.run(websocket(gateway.url, 1, 40))  # warm the scenario cache and both servers
        print(f"gateway {gateway.url} -> episode {cluster.episode_addr}")
        row("Session stream (direct), 1", *eventloop.run(session_stream(cluster.episode_addr, 1, steps)))
        row("gateway WebSocket /ws, 1", *eventloop.run(websocket(gateway.url, 1, steps)))
        row("Session stream (direct), 32", *eventloop.run(session_stream(cluster.episode_addr, 32, steps // 8)))
        row("gateway WebSocket /ws, 32", *eventloop.run(websocket(gateway.url, 32, steps // 8)))
        row("gateway HTTP POST /step, 1", *eventloop.run(http_steps(gateway.url, steps // 2, mcp=False)))
        row("gateway MCP tools/call (HTTP), 1", *eventloop.run(http_steps(gateway.url, steps // 2, mcp=True)))
        print(f"{'100 WebSocket sessions + reset':<34} {eventloop.run(open_sessions(gateway.url, 100)):.2f} s")
    finally:
        gateway.stop()
        cluster.stop()


if __name__ == "__main__":
    main()
