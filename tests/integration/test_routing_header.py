"""The `x-episode-id` routing header on the wire: every call that names an episode carries it, from the
Python client (sync, async, sessions), the Node client and the gateway. Envoy ring-hashes on it (see
mlopsdebug_cli.envoy); here a recording relay, a real gRPC server in front of the real episode
service, reads each call's metadata.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess

import httpx
import pytest
from compat.gateway_support import running_gateway
from recording_relay import RecordingRelay

from mlopsdebug_client import AsyncEpisodeClient, EpisodeClient, MLOpsDebugError, StatusCode, actions

NODE_CLIENT = pathlib.Path(__file__).resolve().parents[2] / "clients" / "node"


@pytest.fixture
def relay(cluster):
    running = RecordingRelay(cluster.episode_addr)
    yield running
    running.close()


def assert_each_call_names_its_episode(relay: RecordingRelay, methods: set[str]) -> None:
    seen = {call.method for call in relay.calls}
    assert methods <= seen, f"calls missing: {methods - seen}"
    for call in relay.calls:
        if call.method in methods:
            assert call.named and call.header == call.named[0], call


def test_python_unary_calls_carry_the_episode_header(relay):
    with EpisodeClient(relay.address) as client:
        client.list_tasks()
        first = client.reset("easy", seed=3).episode_id
        second = client.reset("easy", 4, "my-own-id").episode_id
        assert second == "my-own-id"
        client.step(first, actions.read_config())
        client.step_batch([(second, actions.read_config()), (first, actions.read_logs())])
        client.get_state(first)
        client.close_episode(first)
        client.close_episode(second)
    assert_each_call_names_its_episode(relay, {"Reset", "Step", "StepBatch", "GetState", "CloseEpisode"})
    # A reset without an id: the client drew it, so the reset was routed where its later calls go.
    assert relay.of("Reset")[0].header == first
    # A batch goes where its first episode hashes.
    assert relay.of("StepBatch")[0].header == second
    assert relay.of("ListTasks")[0].header is None


def test_async_unary_calls_carry_the_episode_header(relay):
    async def play() -> str:
        async with AsyncEpisodeClient(relay.address) as client:
            episode_id = (await client.reset("medium", seed=5)).episode_id
            await client.step(episode_id, actions.read_eval_results())
            await client.step_batch([(episode_id, actions.read_config())])
            await client.get_state(episode_id)
            await client.close_episode(episode_id)
            return episode_id

    episode_id = asyncio.run(play())
    assert_each_call_names_its_episode(relay, {"Reset", "Step", "StepBatch", "GetState", "CloseEpisode"})
    assert {call.header for call in relay.calls} == {episode_id}


def test_a_reopened_session_names_its_latest_episode(relay):
    """A stream is routed once, when it opens: a fresh session names no episode (any replica serves
    it); after a break, the new stream names the session's latest episode, which it then resumes."""
    with EpisodeClient(relay.address) as client, client.session() as session:
        episode_id = session.reset("easy", seed=7).episode_id
        session.step(actions.read_config())
        relay.cut_sessions()
        observation = session.step(actions.read_logs()).observation
        assert observation.step_count == 2
        assert session.reconnects == 1
    streams = relay.of("Session")
    assert [stream.header for stream in streams] == [None, episode_id]
    assert set(streams[0].named) == {episode_id}


def test_async_session_reopens_with_its_latest_episode(relay):
    async def play() -> str:
        async with AsyncEpisodeClient(relay.address) as client, client.session() as session:
            episode_id = (await session.reset("easy", seed=8)).episode_id
            relay.cut_sessions()
            await session.step(actions.read_config())
            return episode_id

    episode_id = asyncio.run(play())
    assert [stream.header for stream in relay.of("Session")] == [None, episode_id]


def test_gateway_unary_calls_carry_the_episode_header(relay):
    """HTTP routes reach the episode service by unary calls, each naming its episode (a reset draws its
    id first); anonymous callers' steps ride the gateway's shared batching stream, which names none."""
    with running_gateway(relay.address) as gateway, httpx.Client(base_url=gateway.url, timeout=30) as http:
        reset = http.post("/reset", json={"task_id": "easy", "seed": 2})
        assert reset.status_code == 200, reset.text
        episode_id = reset.json()["episode_id"]
        assert http.post("/step", json={"episode_id": episode_id, "action": {"action_type": "read_config"}}).status_code == 200
        assert http.get("/state", params={"episode_id": episode_id}).status_code == 200
        assert http.post("/close", json={"episode_id": episode_id}).status_code == 200
    assert_each_call_names_its_episode(relay, {"Reset", "GetState", "CloseEpisode"})
    assert relay.of("Reset")[0].header == episode_id
    batching = [stream for stream in relay.of("Session") if episode_id in stream.named]
    assert batching and all(stream.header is None for stream in batching)


NODE_SCRIPT = """
const { EpisodeClient, actions } = require("./dist/src/index");
(async () => {
  const client = new EpisodeClient(process.argv[1], { timeoutMs: 30000 });
  const reset = await client.reset("easy", { seed: 4 });
  const id = reset.episodeId;
  await client.step(id, actions.readConfig());
  await client.stepBatch([{ episodeId: id, action: actions.readLogs() }]);
  await client.getState(id);
  await client.closeEpisode(id);
  client.close();
  console.log(id);
})().catch((error) => { console.error(error); process.exit(1); });
"""


def test_node_unary_calls_carry_the_episode_header(relay):
    node = shutil.which("node")
    if node is None or not (NODE_CLIENT / "dist" / "src" / "index.js").exists():
        if os.environ.get("CI"):
            pytest.fail("the Node client is not built: ./dev setup builds it (needs Node.js and npm)")
        pytest.skip("the Node client is not built")
    result = subprocess.run(
        [node, "-e", NODE_SCRIPT, relay.address], cwd=NODE_CLIENT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    episode_id = result.stdout.strip()
    assert_each_call_names_its_episode(relay, {"Reset", "Step", "StepBatch", "GetState", "CloseEpisode"})
    assert {call.header for call in relay.calls} == {episode_id}
    assert episode_id.startswith("ep-")  # drawn by the client before the reset


def test_a_malformed_id_goes_without_the_header_and_is_refused_by_the_service(relay):
    """An id the service would refuse (here a control character, not even a legal header value) is not
    routed: the call goes without the header and gets the service's own answer (no such episode)."""
    with EpisodeClient(relay.address) as client:
        for call in (lambda: client.step("bad\x01id", actions.read_config()), lambda: client.get_state("x" * 200)):
            with pytest.raises(MLOpsDebugError) as refused:
                call()
            assert refused.value.code in (StatusCode.NOT_FOUND, StatusCode.INVALID_ARGUMENT)
    assert [call.header for call in relay.calls] == [None, None]


def test_the_gateway_refuses_a_malformed_id_instead_of_dropping_the_connection(relay):
    with running_gateway(relay.address) as gateway, httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.get("/state", params={"episode_id": "\x1f"})
        assert 400 <= response.status_code < 500, response.text
        assert http.get("/health").status_code == 200
    assert all(call.header is None for call in relay.of("GetState"))


NODE_MALFORMED = """
const { EpisodeClient, actions } = require("./dist/src/index");
(async () => {
  const client = new EpisodeClient(process.argv[1], { timeoutMs: 30000 });
  try {
    await client.step("bad\\u0001id", actions.readConfig());
  } catch (error) {
    console.log(error.code);
  }
  client.close();
})();
"""


def test_node_sends_no_header_for_a_malformed_id(relay):
    node = shutil.which("node")
    if node is None or not (NODE_CLIENT / "dist" / "src" / "index.js").exists():
        if os.environ.get("CI"):
            pytest.fail("the Node client is not built: ./dev setup builds it (needs Node.js and npm)")
        pytest.skip("the Node client is not built")
    result = subprocess.run(
        [node, "-e", NODE_MALFORMED, relay.address], cwd=NODE_CLIENT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() in ("NOT_FOUND", "INVALID_ARGUMENT"), result.stdout + result.stderr
    assert [call.header for call in relay.of("Step")] == [None]
