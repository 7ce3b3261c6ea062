"""The gateway's OpenEnv WebSocket protocol with raw frames: real gateway, real episode service, real sockets."""

from __future__ import annotations

import asyncio
import json
import math
import time

import httpx
import pytest
from compat.gateway_support import (
    declared_reward_range,
    fault_of,
    gold_submission,
    investigation,
    running_gateway,
)
from gates import GatedProxy
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.tasks import TASK_ORDER, TASKS

GRADE = "/mlopsdebug.grader.v1.GraderService/Grade"
# With keys off everywhere, a bearer key still scopes episodes to itself, on every connection: the way
# these tests look at a WebSocket's episodes over HTTP, which no other caller can.
KEY_HEADERS = {"Authorization": "Bearer ws-test-key-0123456789"}


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as running:
        yield running


def ws_url(gateway, path: str = "/ws") -> str:
    return gateway.url.replace("http://", "ws://") + path


def exchange(ws, frame) -> dict:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(ws.recv(timeout=30))


def assert_open(ws) -> None:
    """The connection still answers: a state frame gets a state reply."""
    assert exchange(ws, {"type": "state"})["type"] == "state"


def assert_closed_normally(ws) -> None:
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000


@pytest.fixture(scope="module")
def seeds(cluster):
    from answers import seeds_by_fault

    return seeds_by_fault(cluster.address("generator"), cluster.secret)


class TestFullEpisodes:
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_episode_of_every_fault(self, gateway, cluster, seeds, fault):
        """A full episode per fault: reset, every action type, state after each step, the correct diagnosis."""
        task_id, seed = FAULTS[fault].task_id, seeds[fault][0]
        low, high = declared_reward_range()
        episode_id = f"ws-{fault}"
        with connect(ws_url(gateway)) as ws:
            reset = exchange(ws, {"type": "reset", "data": {"task_id": task_id, "seed": seed, "episode_id": episode_id}})
            assert reset["type"] == "observation"
            assert reset["data"]["reward"] is None and reset["data"]["done"] is False
            assert reset["data"]["observation"]["episode_id"] == episode_id
            assert reset["data"]["observation"]["max_steps"] == TASKS[task_id].max_steps
            state = exchange(ws, {"type": "state"})
            assert (state["data"]["episode_id"], state["data"]["step_count"]) == (episode_id, 0)
            actions = [*investigation(task_id), gold_submission(cluster, task_id, seed)]
            for steps, action in enumerate(actions, start=1):
                reply = exchange(ws, {"type": "step", "data": action})
                assert reply["type"] == "observation", reply
                reward = reply["data"]["reward"]
                assert isinstance(reward, (int, float)) and math.isfinite(reward) and low <= reward <= high
                state = exchange(ws, {"type": "state"})
                assert (state["data"]["episode_id"], state["data"]["step_count"]) == (episode_id, steps)
            assert reply["data"]["done"] is True and reply["data"]["observation"]["terminated"] is True
            assert reply["data"]["reward"] == pytest.approx(1.0)
            assert reply["data"]["observation"]["last_action_result"]["kind"] == "grade"
            assert state["data"]["state"] == "terminated" and state["data"]["grade"]["score"] == pytest.approx(1.0)
            ws.send(json.dumps({"type": "close"}))
            assert_closed_normally(ws)

    def test_dense_rewards_follow_the_rules(self, gateway):
        """First read +0.02, identical repeat -0.02, first sanity check +0.01, its repeat 0."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "medium", "seed": 11}})
            rewards = [
                exchange(ws, {"type": "step", "data": action})["data"]["reward"]
                for action in (
                    {"action_type": "read_config"},
                    {"action_type": "read_config"},
                    {"action_type": "run_sanity_check", "sanity_check_type": "class_balance"},
                    {"action_type": "run_sanity_check", "sanity_check_type": "class_balance"},
                )
            ]
        assert rewards == pytest.approx([0.02, -0.02, 0.01, 0.0])

    def test_budget_exhaustion_truncates(self, gateway):
        """The step that reaches max_steps still runs; the episode is truncated with terminal reward 0."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 2}})
            for _ in range(TASKS["easy"].max_steps):
                reply = exchange(ws, {"type": "step", "data": {"action_type": "check_dataset_stats"}})
            observation = reply["data"]["observation"]
            assert reply["data"]["done"] is True and observation["truncated"] is True
            assert observation["step_count"] == TASKS["easy"].max_steps
            after = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
            assert after["type"] == "error" and after["data"]["code"] == "EXECUTION_ERROR"
            assert_open(ws)

    def test_reset_without_arguments_uses_default_task(self, gateway):
        """reset() with no kwargs (as OpenEnv clients often call it) starts the default task with a drawn seed."""
        with connect(ws_url(gateway)) as ws:
            reply = exchange(ws, {"type": "reset"})
            assert reply["data"]["observation"]["task_id"] == "easy"
            assert isinstance(exchange(ws, {"type": "state"})["data"]["seed"], int)

    def test_reset_replaces_the_sessions_episode(self, gateway):
        """A second reset on one connection closes the first episode, so a session holds one episode.
        (A key holder reaches its own episodes over HTTP too, which is how this test looks upstream.)"""
        with connect(ws_url(gateway), additional_headers=KEY_HEADERS) as ws:
            first = exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1, "episode_id": "ws-replace-1"}})
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1, "episode_id": "ws-replace-2"}})
            assert exchange(ws, {"type": "state"})["data"]["episode_id"] == "ws-replace-2"
            assert first["data"]["observation"]["episode_id"] == "ws-replace-1"
            state = f"{gateway.url}/state"
            assert httpx.get(state, params={"episode_id": "ws-replace-1"}, headers=KEY_HEADERS).status_code == 404
            assert httpx.get(state, params={"episode_id": "ws-replace-2"}, headers=KEY_HEADERS).status_code == 200

    def test_same_episode_id_restarts_the_episode(self, gateway):
        """Resetting with the session's current episode id starts that id afresh."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1, "episode_id": "ws-again"}})
            exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
            again = exchange(ws, {"type": "reset", "data": {"task_id": "hard", "seed": 2, "episode_id": "ws-again"}})
            assert again["type"] == "observation"
            state = exchange(ws, {"type": "state"})["data"]
            assert (state["episode_id"], state["step_count"], state["task_id"]) == ("ws-again", 0, "hard")

    def test_disconnect_closes_the_episode(self, gateway):
        """Dropping the socket ends the Session stream, and with it the episode."""
        state, params = f"{gateway.url}/state", {"episode_id": "ws-dropped"}
        with connect(ws_url(gateway), additional_headers=KEY_HEADERS) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1, "episode_id": "ws-dropped"}})
            assert httpx.get(state, params=params, headers=KEY_HEADERS).status_code == 200
        deadline = time.monotonic() + 10
        while httpx.get(state, params=params, headers=KEY_HEADERS).status_code != 404:
            assert time.monotonic() < deadline, "episode outlived its connection"
            time.sleep(0.05)


class TestStateHidesTheAnswer:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_state_frames_name_no_fault_while_running(self, gateway, cluster, task_id):
        """While the episode runs, state frames carry no grade, no answer and no fault id."""
        fault = fault_of(cluster, task_id, 5)
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": task_id, "seed": 5}})
            for action in investigation(task_id)[:6]:
                exchange(ws, {"type": "step", "data": action})
                state = exchange(ws, {"type": "state"})["data"]
                text = json.dumps(state)
                assert "grade" not in state and "answer" not in text and fault not in text


class TestErrorFrames:
    def test_invalid_json(self, gateway):
        """Text that is not JSON gets INVALID_JSON and the connection stays open."""
        with connect(ws_url(gateway)) as ws:
            reply = exchange(ws, "{not json")
            assert reply["type"] == "error" and reply["data"]["code"] == "INVALID_JSON"
            assert reply["data"]["message"].startswith("Invalid JSON:")
            assert_open(ws)

    def test_unknown_type(self, gateway):
        """An unknown frame type gets UNKNOWN_TYPE and the connection stays open."""
        with connect(ws_url(gateway)) as ws:
            reply = exchange(ws, {"type": "bogus"})
            assert reply["data"] == {"message": "Unknown message type: bogus", "code": "UNKNOWN_TYPE"}
            assert_open(ws)

    @pytest.mark.parametrize(
        ("frame", "loc"),
        [
            ({"type": "step", "data": {"action_type": "teleport"}}, ["action_type"]),
            ({"type": "step", "data": {"action_type": "read_config", "bogus": 1}}, ["bogus"]),
            ({"type": "step", "data": {"action_type": "run_sanity_check"}}, ["sanity_check_type"]),
            ({"type": "step", "data": {"action": {"action_type": "read_config"}}}, ["action_type"]),
            ({"type": "step"}, ["data"]),
            ({"type": "state", "data": {}}, ["data"]),
            ({"type": "close", "data": {}}, ["data"]),
            ({"type": "reset", "data": {"seed": -1}}, ["seed"]),
            ({"type": "reset", "data": {"task_id": "expert"}}, ["task_id"]),
            ([1, 2], []),
        ],
    )
    def test_validation_error(self, gateway, frame, loc):
        """Bad envelopes, actions and reset kwargs get VALIDATION_ERROR with pydantic errors; the socket stays open."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 3}})
            reply = exchange(ws, frame)
            assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR"
            assert reply["data"]["message"] == "Invalid message"
            assert loc in [error["loc"] for error in reply["data"]["errors"]]
            assert_open(ws)

    def test_action_rejected_upstream_is_validation_error(self, gateway):
        """An action the episode service refuses (querying a text artifact) is VALIDATION_ERROR."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 3}})
            reply = exchange(
                ws, {"type": "step", "data": {"action_type": "query_artifact", "artifact_name": "train.log", "field_path": "a"}}
            )
            assert reply["data"]["code"] == "VALIDATION_ERROR", reply
            assert reply["data"]["errors"]
            assert exchange(ws, {"type": "state"})["data"]["step_count"] == 0  # a failed call changes nothing

    def test_step_before_reset_is_execution_error(self, gateway):
        """A step with no episode gets EXECUTION_ERROR; state before reset is OpenEnv's empty state."""
        with connect(ws_url(gateway)) as ws:
            reply = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
            assert reply["data"]["code"] == "EXECUTION_ERROR"
            assert exchange(ws, {"type": "state"})["data"] == {"episode_id": None, "step_count": 0}

    def test_step_after_submission_is_execution_error(self, gateway, cluster):
        """Acting after the episode ended is refused with EXECUTION_ERROR; the connection stays open."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 4}})
            exchange(ws, {"type": "step", "data": gold_submission(cluster, "easy", 4)})
            reply = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
            assert reply["data"]["code"] == "EXECUTION_ERROR"
            assert_open(ws)

    def test_duplicate_episode_id_is_execution_error(self, gateway):
        """A reset naming an episode id another session of the same owner (here: one key) holds fails
        with EXECUTION_ERROR. (Sessions of different owners may both use it: see test_principals.py.)"""
        with connect(ws_url(gateway), additional_headers=KEY_HEADERS) as first, \
                connect(ws_url(gateway), additional_headers=KEY_HEADERS) as second:
            exchange(first, {"type": "reset", "data": {"episode_id": "ws-taken"}})
            reply = exchange(second, {"type": "reset", "data": {"episode_id": "ws-taken"}})
            assert reply["data"]["code"] == "EXECUTION_ERROR"
            assert_open(second)

    def test_gateway_capacity_reached(self, cluster):
        """Past max sessions the gateway accepts, sends CAPACITY_REACHED and closes with 1000."""
        with running_gateway(cluster.episode_addr, max_ws_sessions=2) as small:
            with connect(ws_url(small)) as a, connect(ws_url(small, "/mcp")) as b:
                assert_open(a)
                with connect(ws_url(small)) as third:
                    reply = json.loads(third.recv(timeout=10))
                    assert reply["data"]["code"] == "CAPACITY_REACHED"
                    assert (reply["data"]["active_sessions"], reply["data"]["max_sessions"]) == (2, 2)
                    assert_closed_normally(third)
                assert b is not None
            with connect(ws_url(small)) as again:  # slots are freed on disconnect
                assert_open(again)

    def test_episode_capacity_reached(self, make_cluster):
        """When the episode service is full, a reset gets CAPACITY_REACHED and the socket closes with 1000."""
        full = make_cluster(max_episodes=1)
        with running_gateway(full.episode_addr) as small, connect(ws_url(small)) as holder:
            exchange(holder, {"type": "reset"})
            with connect(ws_url(small)) as ws:
                reply = exchange(ws, {"type": "reset"})
                assert reply["data"]["code"] == "CAPACITY_REACHED"
                assert_closed_normally(ws)
            # The holder's own reset replaces its episode even at capacity.
            assert exchange(holder, {"type": "reset", "data": {"task_id": "hard"}})["type"] == "observation"

    def test_episode_service_down_and_back(self, make_cluster):
        """With the episode service down, calls get EXECUTION_ERROR and health says unhealthy; then recovery."""
        private = make_cluster()
        with running_gateway(private.episode_addr, rpc_timeout_s=3.0) as gw, connect(ws_url(gw)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1}})
            private.stop_service("episode")
            reply = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
            assert reply["data"]["code"] == "EXECUTION_ERROR"
            assert httpx.get(f"{gw.url}/health").json() == {"status": "unhealthy"}
            private.start_service("episode")
            deadline = time.monotonic() + 15
            while True:
                reply = exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1}})
                if reply["type"] == "observation" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert reply["type"] == "observation"
            assert exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})["type"] == "observation"

    def test_idle_connection_is_closed(self, cluster):
        """A connection silent past the idle timeout is closed normally."""
        with running_gateway(cluster.episode_addr, session_idle_timeout_s=0.3) as gw, connect(ws_url(gw)) as ws:
            exchange(ws, {"type": "reset"})
            assert_closed_normally(ws)

    def test_each_message_restarts_the_idle_timeout(self, cluster):
        """The timeout counts silence, not connection age: a connection that keeps talking stays open."""
        with running_gateway(cluster.episode_addr, session_idle_timeout_s=0.5) as gw, connect(ws_url(gw)) as ws:
            exchange(ws, {"type": "reset"})
            talk_until = time.monotonic() + 1.5
            while time.monotonic() < talk_until:
                time.sleep(0.15)
                assert exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})["type"] == "observation"
            assert_closed_normally(ws)

    def test_close_frame_closes_with_1000(self, gateway):
        """{"type": "close"} gets no reply and a normal close."""
        with connect(ws_url(gateway)) as ws:
            ws.send(json.dumps({"type": "close"}))
            assert_closed_normally(ws)


class TestConcurrentSessions:
    def test_one_hundred_sessions(self, gateway):
        """100 WebSocket sessions play at once, each seeing only its own episode."""
        sessions = 100

        async def play(index: int) -> tuple[str, list[str]]:
            episode_id = f"ws-many-{index}"
            async with async_connect(ws_url(gateway), open_timeout=30) as ws:

                async def ask(frame: dict) -> dict:
                    await ws.send(json.dumps(frame))
                    return json.loads(await asyncio.wait_for(ws.recv(), 60))

                task_id = TASK_ORDER[index % 3]
                reset = await ask({"type": "reset", "data": {"task_id": task_id, "seed": index, "episode_id": episode_id}})
                seen = [reset["data"]["observation"]["episode_id"]]
                for steps, action in enumerate(investigation(task_id)[:3], start=1):
                    reply = await ask({"type": "step", "data": action})
                    seen.append(reply["data"]["observation"]["episode_id"])
                    state = (await ask({"type": "state"}))["data"]
                    assert (state["episode_id"], state["step_count"], state["seed"]) == (episode_id, steps, index)
                await ws.send(json.dumps({"type": "close"}))
                return episode_id, seen

        async def play_all() -> list[tuple[str, list[str]]]:
            return await asyncio.gather(*(play(i) for i in range(sessions)))

        results = asyncio.run(play_all())
        assert len(results) == sessions
        for episode_id, seen in results:
            assert set(seen) == {episode_id}


class TestMcpOverWebSocket:
    def test_tool_calling_agent_plays_over_ws_mcp(self, gateway, cluster):
        """On WS /mcp, tools/list and tools/call play a whole episode on the connection's episode."""
        with connect(ws_url(gateway, "/mcp")) as ws:
            init = exchange(ws, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}})
            assert init["result"]["serverInfo"]["name"] == "mlops-debug-env"
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))  # no reply
            tools = exchange(ws, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})["result"]["tools"]
            assert "submit_diagnosis" in {t["name"] for t in tools}

            def call(rid: int, name: str, **arguments) -> dict:
                return exchange(ws, {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                                     "params": {"name": name, "arguments": arguments}})

            reset = call(2, "reset", task_id="medium", seed=6)
            assert reset["id"] == 2 and reset["result"]["isError"] is False
            assert call(3, "read_config")["result"]["structuredContent"]["reward"] == pytest.approx(0.02)
            submission = {k: v for k, v in gold_submission(cluster, "medium", 6).items() if k != "action_type"}
            final = call(4, "submit_diagnosis", **submission)["result"]["structuredContent"]
            assert final["done"] is True and final["reward"] == pytest.approx(1.0)
            refused = call(5, "read_config")["result"]
            assert refused["isError"] is True
            bad = call(6, "run_sanity_check", sanity_check_type="astrology")
            assert bad["error"]["code"] == -32602
            assert exchange(ws, "not json")["error"]["code"] == -32700

    def test_mcp_frames_on_the_openenv_socket(self, gateway):
        """An {"type": "mcp"} frame on /ws is answered with an mcp frame, sharing the session's episode."""
        with connect(ws_url(gateway)) as ws:
            exchange(ws, {"type": "reset", "data": {"task_id": "hard", "seed": 8, "episode_id": "ws-mcp-shared"}})
            reply = exchange(ws, {"type": "mcp", "data": {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                                           "params": {"name": "read_eval_results", "arguments": {}}}})
            assert reply["type"] == "mcp"
            assert reply["data"]["result"]["structuredContent"]["observation"]["episode_id"] == "ws-mcp-shared"
            assert exchange(ws, {"type": "state"})["data"]["step_count"] == 1


class TestStepBatching:
    def test_concurrent_connections_see_what_they_would_see_alone(self, gateway, cluster, seeds):
        """Steps of many WebSockets travel in shared batches; each connection's replies are exactly the
        replies of the same episode played alone."""
        plan = [(FAULTS[fault].task_id, seeds[fault][0], fault) for fault in sorted(FAULTS)]
        submissions = {fault: gold_submission(cluster, task_id, seed) for task_id, seed, fault in plan}

        async def play(task_id: str, seed: int, fault: str, tag: str) -> list[dict]:
            async with async_connect(ws_url(gateway), open_timeout=30) as ws:

                async def ask(frame: dict) -> dict:
                    await ws.send(json.dumps(frame))
                    return json.loads(await asyncio.wait_for(ws.recv(), 60))

                reset = {"task_id": task_id, "seed": seed, "episode_id": f"{tag}-{fault}"}
                await ask({"type": "reset", "data": reset})
                replies = []
                for action in [*investigation(task_id), submissions[fault]]:
                    reply = await ask({"type": "step", "data": action})
                    reply["data"]["observation"].pop("episode_id")
                    replies.append(reply)
                return replies

        async def together() -> list[list[dict]]:
            return await asyncio.gather(*(play(*p, "together") for p in plan))

        async def alone() -> list[list[dict]]:
            return [await play(*p, "alone") for p in plan]

        assert asyncio.run(together()) == asyncio.run(alone())

    def test_the_batcher_puts_simultaneous_steps_in_one_message(self, cluster):
        """Twelve steps of two callers made at the same moment leave in fewer messages, each answered
        on its own and acting for its own caller (its client token)."""
        from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
        from mlopsdebug_client import (
            ClientConfig,
            actions,
        )
        from mlopsdebug_client import EpisodeClient as ServiceClient
        from mlopsdebug_gateway.errors import UpstreamError
        from mlopsdebug_gateway.upstream import EpisodeClient as Upstream

        tokens = ("batch-caller-a", "batch-caller-b")
        owned = []
        for i in range(12):
            token = tokens[i % 2]
            with ServiceClient(cluster.episode_addr, config=ClientConfig(client_token=token)) as service:
                owned.append((token, service.reset("easy", 60 + i).episode_id))

        async def go() -> tuple[list, tuple[int, int]]:
            upstream = Upstream(cluster.episode_addr, rpc_timeout_s=10, health_timeout_s=2)
            try:
                requests = [
                    ep_pb.StepRequest(episode_id=e, action=actions.read_config(), client_token=t) for t, e in owned
                ]
                requests.append(  # a's episode, stepped with b's token: not b's to step
                    ep_pb.StepRequest(episode_id=owned[0][1], action=actions.read_config(), client_token=tokens[1])
                )
                results = await asyncio.gather(
                    *(upstream.steps.step(r) for r in requests), return_exceptions=True
                )
                return results, upstream.steps.counts
            finally:
                await upstream.close()

        results, (steps, batches) = asyncio.run(go())
        assert [r.observation.step_count for r in results[:12]] == [1] * 12
        assert isinstance(results[12], UpstreamError) and results[12].code == "NOT_FOUND"
        assert steps == 13 and batches <= 3
        for token, episode_id in owned:
            with ServiceClient(cluster.episode_addr, config=ClientConfig(client_token=token)) as service:
                assert service.close_episode(episode_id).state.step_count == 1

    def test_a_submission_waiting_on_the_grader_holds_up_no_other_connection(self, make_cluster):
        """A graded step does not ride in a shared batch: while the grader holds one connection's
        submission, another connection's steps are answered (in a batch they would wait for it)."""
        cluster = make_cluster()
        gate = cluster.run(GatedProxy.start(cluster.address("grader"), GRADE))
        # Grading waits for the gate, not for a timeout: the episode service's own deadline is far away.
        cluster.episode_overrides.update(grader_addr=gate.address, peer_timeout_s=120.0)
        cluster.stop_service("episode")
        cluster.start_service("episode")
        submission = {
            "action_type": "submit_diagnosis",
            "failure_category": "config_error",
            "root_cause_file": "config.yaml",
            "root_cause_field": "optimizer.lr",
            "diagnosis": "the learning rate is too high",
            "proposed_fix": "lower the learning rate",
        }

        async def go(url: str) -> tuple[list[dict], dict]:
            async with async_connect(url) as submitter, async_connect(url) as other:

                async def ask(ws, frame: dict, timeout: float = 30) -> dict:
                    await ws.send(json.dumps(frame))
                    return json.loads(await asyncio.wait_for(ws.recv(), timeout))

                for ws, seed in ((submitter, 1), (other, 2)):
                    await ask(ws, {"type": "reset", "data": {"task_id": "easy", "seed": seed}})
                await submitter.send(json.dumps({"type": "step", "data": submission}))
                await asyncio.wait_for(asyncio.wrap_future(gate.arrived_future()), 30)  # the grader holds it now
                read = {"type": "step", "data": {"action_type": "read_config"}}
                others = [await ask(other, read, 20) for _ in range(3)]  # in the submission's batch: a timeout
                gate.release()
                graded = json.loads(await asyncio.wait_for(submitter.recv(), 30))
                return others, graded

        with running_gateway(cluster.episode_addr) as its_gateway:
            try:
                others, graded = asyncio.run(go(ws_url(its_gateway)))
            finally:
                gate.release()
                cluster.run(gate.stop())
        assert [reply["type"] for reply in others] == ["observation"] * 3
        assert [reply["data"]["observation"]["step_count"] for reply in others] == [1, 2, 3]
        assert graded["type"] == "observation", graded
        assert graded["data"]["done"] is True

