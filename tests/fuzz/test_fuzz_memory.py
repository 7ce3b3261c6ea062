"""No memory growth under hostile input: the same batch of fuzzed calls, replayed, leaves a server's RSS flat.

The cluster and the gateway run in a child process (tests/fuzz/cluster_process.py). Hypothesis draws a
batch of calls across every gRPC method (typed junk and raw bytes), Session streams, HTTP routes, MCP and
both WebSockets; the batch is replayed until warm (caches filled, pools grown), the child's RSS read, the
batch replayed again several times, and the RSS read again. Anything a call creates (an episode, an MCP
session) is closed by the replay itself, so what remains is what the servers kept by mistake.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest
import websockets.sync.client
from fuzz.budget import examples
from fuzz.strategies import (
    EPISODE_IDS,
    JSON,
    generate_requests,
    grade_requests,
    raw_messages,
    reset_requests,
    seed_actions,
    session_requests,
    step_batches,
    step_requests,
)
from hypothesis import given
from hypothesis import strategies as st

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as gen_grpc

pytestmark = pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="reads RSS from /proc")

MIB = 1 << 20
WARM_ROUNDS = 2
MEASURED_ROUNDS = 5
TOLERANCE_MIB = 4  # clean runs grow 0.2-1 MiB; 10 KB kept per unary call grows about 6
EPISODE = "/mlopsdebug.episode.v1.EpisodeService/"
TIMEOUT_S = 30.0


def _rss_bytes(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def child() -> Iterator[tuple[subprocess.Popen, dict[str, str]]]:
    script = pathlib.Path(__file__).with_name("cluster_process.py")
    process = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()
        assert line, "the cluster process did not start"
        yield process, json.loads(line)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()



def calls(real_keys: list[pb.SealedAnswerKey]) -> st.SearchStrategy[tuple]:
    """One call of any kind, as plain data (bytes, dicts) so that replaying it repeats it exactly."""
    unary_methods = [
        ("generator", "/mlopsdebug.generator.v1.GeneratorService/GenerateScenario", generate_requests()),
        ("generator", "/mlopsdebug.generator.v1.GeneratorService/ListTasks", st.just(gen_pb.ListTasksRequest())),
        ("grader", "/mlopsdebug.grader.v1.GraderService/Grade", grade_requests(real_keys)),
        ("episode", EPISODE + "ListTasks", st.just(ep_pb.ListTasksRequest())),
        ("episode", EPISODE + "Reset", reset_requests()),
        ("episode", EPISODE + "Step", step_requests(EPISODE_IDS)),
        ("episode", EPISODE + "StepBatch", step_batches(EPISODE_IDS)),
        ("episode", EPISODE + "GetState", EPISODE_IDS.map(lambda i: ep_pb.GetStateRequest(episode_id=i))),
        ("episode", EPISODE + "CloseEpisode", EPISODE_IDS.map(lambda i: ep_pb.CloseEpisodeRequest(episode_id=i))),
    ]
    typed = [
        strategy.map(lambda m, service=service, method=method: ("unary", service, method, m.SerializeToString()))
        for service, method, strategy in unary_methods
    ]
    raw = st.builds(lambda pair, payload: ("unary", pair[0], pair[1], payload),
                    st.sampled_from([(s, m) for s, m, _ in unary_methods]), raw_messages())
    session = st.lists(session_requests(EPISODE_IDS), min_size=1, max_size=5).map(
        lambda requests: ("session", [r.SerializeToString() for r in requests]))
    http = st.one_of(
        st.builds(lambda path, body: ("http", "POST", path, body),
                  st.sampled_from(["/reset", "/step", "/close", "/mcp"]), st.one_of(JSON, st.binary(max_size=100))),
        st.builds(lambda episode_id: ("http", "GET", "/state", {"episode_id": episode_id}), st.text(max_size=40)),
        st.builds(lambda action: ("http", "POST", "/step", {"episode_id": "no-such", "action": action}),
                  seed_actions()),
        st.builds(lambda name, args: ("http", "POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                                               "params": {"name": name, "arguments": args}}),
                  st.sampled_from(["reset", "read_config", "query_artifact", "nope"]), st.one_of(seed_actions(), JSON)),
    )
    ws = st.builds(lambda path, frames: ("ws", path, frames), st.sampled_from(["/ws", "/mcp"]),
                   st.lists(st.one_of(JSON.map(json.dumps), st.text(max_size=30),
                                      st.builds(lambda data: json.dumps({"type": "reset", "data": data}), JSON)),
                            min_size=1, max_size=4))
    return st.one_of(*typed, raw, session, http, ws)


class Replayer:
    """Performs recorded calls against the child, closing whatever a call creates."""

    def __init__(self, addresses: dict[str, str]) -> None:
        self.channels = {name: grpc.insecure_channel(addresses[name]) for name in ("generator", "grader", "episode")}
        self.http = httpx.Client(base_url=addresses["gateway"], timeout=60)
        self.ws_base = addresses["gateway"].replace("http://", "ws://")

    def close(self) -> None:
        self.http.close()
        for channel in self.channels.values():
            channel.close()

    def _close_episode(self, episode_id: str) -> None:
        stub = self.channels["episode"].unary_unary(EPISODE + "CloseEpisode", request_serializer=None,
                                                    response_deserializer=None)
        try:
            stub(ep_pb.CloseEpisodeRequest(episode_id=episode_id).SerializeToString(), timeout=TIMEOUT_S)
        except grpc.RpcError:
            pass

    def __call__(self, call: tuple) -> None:
        kind = call[0]
        if kind == "unary":
            _, service, method, payload = call
            stub = self.channels[service].unary_unary(method, request_serializer=None, response_deserializer=None)
            try:
                reply = stub(payload, timeout=TIMEOUT_S)
            except grpc.RpcError:
                return
            if method.endswith("/Reset"):
                self._close_episode(ep_pb.ResetResponse.FromString(reply).episode_id)
        elif kind == "session":
            stream = self.channels["episode"].stream_stream(EPISODE + "Session", request_serializer=None,
                                                            response_deserializer=None)
            try:
                list(stream(iter(call[1]), timeout=TIMEOUT_S))  # the stream closes its own episodes
            except grpc.RpcError:
                pass
        elif kind == "http":
            _, method, path, body = call
            if method == "GET":
                response = self.http.get(path, params=body)
            elif isinstance(body, bytes):
                response = self.http.post(path, content=body, headers={"content-type": "application/json"})
            else:
                response = self.http.post(path, json=body)
            self._close_created(response)
        else:
            _, path, frames = call
            with websockets.sync.client.connect(self.ws_base + path, max_size=None) as ws:
                for frame in frames:
                    ws.send(frame)
                ws.send(json.dumps({"type": "state"} if path == "/ws" else {"jsonrpc": "2.0", "id": "z", "method": "ping"}))
                while True:
                    reply = json.loads(ws.recv(timeout=60))
                    if reply.get("type") == "state" or reply.get("id") == "z":
                        break

    def _close_created(self, response: httpx.Response) -> None:
        """An HTTP reset (plain or MCP) made an episode that outlives the request: close it."""
        if response.status_code != 200:
            return
        try:
            data = response.json()
        except ValueError:
            return
        episode_id = data.get("episode_id") if isinstance(data, dict) else None
        if episode_id is None and isinstance(data, dict) and isinstance(data.get("result"), dict):
            payload = data["result"].get("structuredContent")
            if isinstance(payload, dict):
                episode_id = payload.get("observation", {}).get("episode_id")
        if isinstance(episode_id, str):
            self._close_episode(episode_id)


def test_replayed_fuzz_batch_leaves_memory_flat(child):
    process, addresses = child
    generator = gen_grpc.GeneratorServiceStub(grpc.insecure_channel(addresses["generator"]))
    real_keys = [generator.GenerateScenario(gen_pb.GenerateScenarioRequest(task_id=t, seed=5), timeout=TIMEOUT_S)
                 .scenario.answer_key for t in ("easy", "medium", "hard")]
    replay = Replayer(addresses)
    batch: list[tuple] = []
    try:
        @examples(150)
        @given(call=calls(real_keys))
        def record(call: tuple) -> None:
            batch.append(call)
            replay(call)

        record()
        run_all: Callable[[], None] = lambda: [replay(call) for call in batch]  # noqa: E731
        for _ in range(WARM_ROUNDS):
            run_all()
        before = _rss_bytes(process.pid)
        for _ in range(MEASURED_ROUNDS):
            run_all()
        after = _rss_bytes(process.pid)
    finally:
        replay.close()
    growth = (after - before) / MIB
    assert growth < TOLERANCE_MIB, (
        f"RSS grew {growth:.1f} MiB over {MEASURED_ROUNDS} replays of {len(batch)} calls")
    assert process.poll() is None
