"""The gateway's HTTP routes and HTTP MCP: stateful by episode id, 422/404/409/429/503, never 500."""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import pathlib
import signal
import socket
import subprocess
import sys
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

from mlopsdebug_common.tasks import TASK_ORDER
from mlopsdebug_gateway.models import MLOpsObservation, MLOpsState


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as running:
        yield running


@pytest.fixture
def http(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


def reset(http, **body) -> dict:
    response = http.post("/reset", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def step(http, episode_id: str, action: dict) -> httpx.Response:
    return http.post("/step", json={"episode_id": episode_id, "action": action})


class TestInformationRoutes:
    def test_health(self, http):
        """GET /health is healthy while the episode service serves."""
        assert http.get("/health").json() == {"status": "healthy"}

    def test_health_unhealthy_without_episode_service(self):
        """With no episode service behind it the gateway reports unhealthy (503)."""

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = f"127.0.0.1:{sock.getsockname()[1]}"
        with running_gateway(dead) as gw:
            response = httpx.get(f"{gw.url}/health", timeout=10)
        assert (response.status_code, response.json()) == (503, {"status": "unhealthy"})

    def test_metadata(self, http):
        """GET /metadata names the environment and carries a readme and version."""
        data = http.get("/metadata").json()
        assert data["name"] == "mlops-debug-env" and isinstance(data["description"], str)
        assert "| hard |" in data["readme_content"] and data["version"]

    def test_openapi_version_is_1x_with_simulation_routes(self, http):
        """/openapi.json declares info.version 1.x and the /reset, /step, /state routes."""
        spec = http.get("/openapi.json").json()
        assert spec["info"]["version"].startswith("1.")
        assert {"/reset", "/step", "/state", "/health", "/metadata", "/schema", "/mcp"} <= set(spec["paths"])

    def test_schema_describes_real_observations(self, http):
        """Observations and states actually served validate against GET /schema."""
        jsonschema = pytest.importorskip("jsonschema")
        schema = http.get("/schema").json()
        assert {"action", "observation", "state"} <= set(schema)
        payload = reset(http, task_id="hard", seed=3)
        stepped = step(http, payload["episode_id"], {"action_type": "read_logs", "log_filter": "loss"}).json()
        for item in (payload, stepped):
            jsonschema.validate({**item["observation"], "reward": item["reward"], "done": item["done"]},
                                schema["observation"])
        jsonschema.validate(http.get("/state", params={"episode_id": payload["episode_id"]}).json(), schema["state"])
        jsonschema.validate({"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "a"},
                            schema["action"])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"action_type": "query_artifact"}, schema["action"])


class TestHttpEpisodes:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_full_episode_of_every_task(self, http, cluster, task_id):
        """reset -> every action type -> correct diagnosis over HTTP, state by episode id after each step."""
        low, high = declared_reward_range()
        first = reset(http, task_id=task_id, seed=21, episode_id=f"http-{task_id}")
        episode_id = first["episode_id"]
        assert episode_id == first["observation"]["episode_id"] == f"http-{task_id}"
        assert first["reward"] is None and first["done"] is False
        MLOpsObservation.model_validate(first["observation"])
        for steps, action in enumerate([*investigation(task_id), gold_submission(cluster, task_id, 21)], start=1):
            response = step(http, episode_id, action)
            assert response.status_code == 200, response.text
            body = response.json()
            assert math.isfinite(body["reward"]) and low <= body["reward"] <= high
            state = http.get("/state", params={"episode_id": episode_id}).json()
            assert (state["episode_id"], state["step_count"]) == (episode_id, steps)
        assert body["done"] is True and body["reward"] == pytest.approx(1.0)
        assert MLOpsState.model_validate(state).grade["score"] == pytest.approx(1.0)
        final = http.post("/close", json={"episode_id": episode_id})
        assert final.status_code == 200 and final.json()["state"] == "terminated"
        assert http.get("/state", params={"episode_id": episode_id}).status_code == 404

    def test_empty_reset_body(self, http):
        """POST /reset with no body, or {}, starts an episode of the default task."""
        assert http.post("/reset").json()["observation"]["task_id"] == "easy"
        assert reset(http)["observation"]["task_id"] == "easy"

    def test_unknown_reset_keys_are_reported_not_fatal(self, http):
        """Extra reset keys are ignored (as OpenEnv does) and named in the observation's messages."""
        body = reset(http, seed=1, target=3)
        assert "ignored unknown reset argument(s): target" in body["observation"]["messages"]

    def test_openenv_step_extras_are_accepted(self, http):
        """timeout_s and request_id, which OpenEnv's StepRequest carries, are accepted."""
        episode_id = reset(http, seed=2)["episode_id"]
        response = http.post("/step", json={"episode_id": episode_id, "action": {"action_type": "read_config"},
                                            "timeout_s": 5.0, "request_id": "r1"})
        assert response.status_code == 200

    def test_concurrent_http_clients_keep_their_own_episodes(self, gateway):
        """Many HTTP clients at once: each episode id keeps its own task, seed and step count."""

        def play(index: int) -> tuple[str, dict]:
            with httpx.Client(base_url=gateway.url, timeout=30) as client:
                task_id = TASK_ORDER[index % 3]
                episode_id = reset(client, task_id=task_id, seed=index)["episode_id"]
                for action in investigation(task_id)[: 1 + index % 4]:
                    assert step(client, episode_id, action).status_code == 200
                return episode_id, client.get("/state", params={"episode_id": episode_id}).json()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(play, range(32)))
        assert len({episode_id for episode_id, _ in results}) == 32
        for index, (episode_id, state) in enumerate(results):
            assert (state["episode_id"], state["seed"], state["task_id"], state["step_count"]) == (
                episode_id, index, TASK_ORDER[index % 3], 1 + index % 4)

    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_state_names_no_fault_while_running(self, http, cluster, task_id):
        """GET /state of a running episode has no grade, no answer and no fault id."""
        fault = fault_of(cluster, task_id, 9)
        episode_id = reset(http, task_id=task_id, seed=9)["episode_id"]
        for action in investigation(task_id)[:5]:
            step(http, episode_id, action)
            state = http.get("/state", params={"episode_id": episode_id}).json()
            assert "grade" not in state and fault not in json.dumps(state) and "answer" not in json.dumps(state)


class TestHttpErrors:
    @pytest.mark.parametrize(
        ("action", "loc"),
        [
            ({"action_type": "teleport"}, ["action_type"]),
            ({"action_type": "read_config", "bogus": 1}, ["bogus"]),
            ({"action_type": "query_artifact", "artifact_name": "config.yaml"}, ["field_path"]),
            ({"action_type": "query_artifact", "artifact_name": "train.log", "field_path": "a"}, ["artifact_name"]),
        ],
    )
    def test_invalid_action_is_422_with_loc(self, http, action, loc):
        """An invalid action is 422 with pydantic-style detail located at the action's field."""
        episode_id = reset(http, seed=4)["episode_id"]
        response = step(http, episode_id, action)
        assert response.status_code == 422
        assert loc in [error["loc"] for error in response.json()["detail"]]
        assert http.get("/state", params={"episode_id": episode_id}).json()["step_count"] == 0

    @pytest.mark.parametrize(
        ("method", "path", "kwargs"),
        [
            ("post", "/step", {"json": {"action": {"action_type": "read_config"}}}),
            ("post", "/step", {"json": {"episode_id": "x"}}),
            ("post", "/step", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
            ("post", "/step", {"json": [1, 2]}),
            ("post", "/reset", {"json": {"seed": -1}}),
            ("post", "/reset", {"json": {"seed": "many"}}),
            ("post", "/reset", {"json": {"task_id": "expert"}}),
            ("post", "/reset", {"json": {"episode_id": "spaces are not allowed"}}),
            ("get", "/state", {}),
            ("post", "/close", {"json": {}}),
        ],
    )
    def test_malformed_requests_are_422(self, http, method, path, kwargs):
        """Missing ids, malformed JSON, negative seeds, unknown tasks: 422 with detail, never 500."""
        response = getattr(http, method)(path, **kwargs)
        assert response.status_code == 422 and response.json()["detail"]

    @pytest.mark.parametrize(
        ("method", "path", "kwargs"),
        [
            ("post", "/step", {"json": {"episode_id": "no-such-episode", "action": {"action_type": "read_config"}}}),
            ("get", "/state", {"params": {"episode_id": "no-such-episode"}}),
            ("post", "/close", {"json": {"episode_id": "no-such-episode"}}),
        ],
    )
    def test_unknown_episode_is_404(self, http, method, path, kwargs):
        """An unknown (or closed) episode id is 404."""
        response = getattr(http, method)(path, **kwargs)
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"

    def test_step_after_end_is_409(self, http, cluster):
        """Acting after the episode ended is 409 (FAILED_PRECONDITION)."""
        episode_id = reset(http, task_id="hard", seed=12)["episode_id"]
        assert step(http, episode_id, gold_submission(cluster, "hard", 12)).status_code == 200
        response = step(http, episode_id, {"action_type": "read_config"})
        assert (response.status_code, response.json()["code"]) == (409, "FAILED_PRECONDITION")

    def test_duplicate_episode_id_is_409(self, http):
        """Resetting with an episode id in use is 409 (ALREADY_EXISTS)."""
        reset(http, episode_id="http-dup")
        response = http.post("/reset", json={"episode_id": "http-dup"})
        assert (response.status_code, response.json()["code"]) == (409, "ALREADY_EXISTS")

    def test_capacity_is_429(self, make_cluster):
        """When the episode service is full, POST /reset is 429."""
        full = make_cluster(max_episodes=1)
        with running_gateway(full.episode_addr) as gw, httpx.Client(base_url=gw.url, timeout=30) as client:
            reset(client)
            response = client.post("/reset", json={})
            assert (response.status_code, response.json()["code"]) == (429, "RESOURCE_EXHAUSTED")

    def test_episode_service_down_is_503(self, make_cluster):
        """With the episode service stopped, calls are 503, not 500."""
        private = make_cluster()
        with running_gateway(private.episode_addr, rpc_timeout_s=3.0) as gw, \
                httpx.Client(base_url=gw.url, timeout=30) as client:
            episode_id = reset(client)["episode_id"]
            private.stop_service("episode")
            response = step(client, episode_id, {"action_type": "read_config"})
            assert response.status_code == 503 and response.json()["code"] == "UNAVAILABLE"
            assert client.post("/reset", json={}).status_code == 503


class TestHttpMcp:
    def rpc(self, http, method: str, params: dict | None = None, rid: int = 1) -> dict:
        response = http.post("/mcp", json={"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        assert response.status_code == 200
        return response.json()

    def test_empty_body_is_a_jsonrpc_error_with_200(self, http):
        """POST /mcp {} is HTTP 200 with a JSON-RPC 2.0 error envelope (what openenv validate checks)."""
        response = http.post("/mcp", json={})
        assert response.status_code == 200
        assert response.json()["jsonrpc"] == "2.0" and response.json()["error"]["code"] == -32600
        assert http.post("/mcp", content=b"nope").json()["error"]["code"] == -32700

    def test_play_with_episode_ids(self, http, cluster):
        """Without a session, reset returns an episode id that the action tools take as an argument."""
        result = self.rpc(http, "tools/call", {"name": "reset", "arguments": {"task_id": "easy", "seed": 13}})["result"]
        episode_id = result["structuredContent"]["observation"]["episode_id"]
        read = self.rpc(http, "tools/call", {"name": "read_config", "arguments": {"episode_id": episode_id}})
        assert read["result"]["structuredContent"]["reward"] == pytest.approx(0.02)
        submission = {k: v for k, v in gold_submission(cluster, "easy", 13).items() if k != "action_type"}
        done = self.rpc(http, "tools/call", {"name": "submit_diagnosis", "arguments": {**submission, "episode_id": episode_id}})
        assert done["result"]["structuredContent"]["reward"] == pytest.approx(1.0)
        no_episode = self.rpc(http, "tools/call", {"name": "read_config", "arguments": {}})
        assert no_episode["result"]["isError"] is True

    def test_play_in_an_openenv_session(self, http):
        """openenv/session/create gives a session whose tools/call calls share one episode; close ends it."""
        session_id = self.rpc(http, "openenv/session/create")["result"]["session_id"]
        reset_result = self.rpc(http, "tools/call", {"name": "reset", "arguments": {"task_id": "medium"},
                                                      "session_id": session_id})["result"]
        episode_id = reset_result["structuredContent"]["observation"]["episode_id"]
        read = self.rpc(http, "tools/call", {"name": "read_eval_results", "arguments": {}, "session_id": session_id})
        assert read["result"]["structuredContent"]["observation"]["episode_id"] == episode_id
        closed = self.rpc(http, "openenv/session/close", {"session_id": session_id})
        assert closed["result"] == {"session_id": session_id, "closed": True}
        assert http.get("/state", params={"episode_id": episode_id}).status_code == 404
        unknown = self.rpc(http, "tools/call", {"name": "read_config", "arguments": {}, "session_id": session_id})
        assert unknown["error"]["code"] == -32602

    def test_session_capacity(self, cluster):
        """Past max MCP sessions, session/create answers -32000 with the counts."""
        with running_gateway(cluster.episode_addr, max_mcp_sessions=1) as gw, \
                httpx.Client(base_url=gw.url, timeout=30) as client:
            self.rpc(client, "openenv/session/create")
            full = self.rpc(client, "openenv/session/create")
            assert full["error"]["code"] == -32000 and full["error"]["data"]["max_sessions"] == 1

    def test_idle_sessions_are_dropped(self, cluster):
        """An MCP session idle past the idle timeout is closed, its episode with it."""
        with running_gateway(cluster.episode_addr, session_idle_timeout_s=0.3) as gw, \
                httpx.Client(base_url=gw.url, timeout=30) as client:
            stale = self.rpc(client, "openenv/session/create")["result"]["session_id"]
            reply = self.rpc(client, "tools/call", {"name": "reset", "arguments": {}, "session_id": stale})
            episode_id = reply["result"]["structuredContent"]["observation"]["episode_id"]
            time.sleep(0.5)
            self.rpc(client, "openenv/session/create")  # creating a session sweeps idle ones
            gone = self.rpc(client, "tools/call", {"name": "read_config", "arguments": {}, "session_id": stale})
            assert gone["error"]["code"] == -32602
            deadline = time.monotonic() + 5
            while client.get("/state", params={"episode_id": episode_id}).status_code != 404:
                assert time.monotonic() < deadline, "the idle session's episode was not closed"
                time.sleep(0.05)

    def test_invalid_tool_arguments_are_invalid_params(self, http):
        """Arguments the action model rejects are -32602 with pydantic-style data."""
        episode_id = reset(http)["episode_id"]
        reply = self.rpc(http, "tools/call", {"name": "query_artifact",
                                              "arguments": {"episode_id": episode_id, "artifact_name": "x"}})
        assert reply["error"]["code"] == -32602
        assert "artifact_name" in {e["loc"][0] for e in reply["error"]["data"]}


class TestServerProcess:
    def test_serve_gateway_runs_and_stops_on_sigterm(self, cluster):
        """`mlopsdebug serve gateway` serves on MLOPSDEBUG_GATEWAY_PORT and exits 0 on SIGTERM."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "MLOPSDEBUG_GATEWAY_HOST": "127.0.0.1", "MLOPSDEBUG_GATEWAY_PORT": str(port),
               "MLOPSDEBUG_EPISODE_ADDR": cluster.episode_addr, "MLOPSDEBUG_LOG_LEVEL": "warning"}
        cli = pathlib.Path(sys.executable).with_name("mlopsdebug")
        process = subprocess.Popen([str(cli), "serve", "gateway"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json() == {"status": "healthy"}:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "gateway did not come up"
                time.sleep(0.1)
            assert httpx.post(f"http://127.0.0.1:{port}/reset", json={"task_id": "hard"}).status_code == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
