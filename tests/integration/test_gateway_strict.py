"""Strict JSON types on every gateway surface: a seed of `true` or `"12"` is refused, naming the field,
over HTTP (422), WebSocket (VALIDATION_ERROR frame) and MCP (-32602 / -32600); correct types still play."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets.sync.client
from compat.gateway_support import running_gateway

# (value, why it is wrong) for an integer field.
NOT_INTEGERS = [(True, "a boolean"), ("12", "a numeric string"), (12.0, "a float"), (None, "null")]


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as running:
        yield running


@pytest.fixture
def http(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        yield client


def _locs(detail: list[dict]) -> list[list]:
    return [error["loc"] for error in detail]


def _episode(http) -> str:
    response = http.post("/reset", json={"task_id": "easy", "seed": 3})
    assert response.status_code == 200, response.text
    return response.json()["episode_id"]


class TestHttp:
    @pytest.mark.parametrize(("seed", "why"), [item for item in NOT_INTEGERS if item[0] is not None])
    def test_reset_seed_must_be_an_integer(self, http, seed, why):
        response = http.post("/reset", json={"task_id": "easy", "seed": seed})
        assert response.status_code == 422, f"seed as {why} was accepted"
        assert ["body", "seed"] in _locs(response.json()["detail"])

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"task_id": 1}, ["body", "task_id"]),
            ({"episode_id": 7}, ["body", "episode_id"]),
        ],
    )
    def test_reset_strings_must_be_strings(self, http, body, loc):
        response = http.post("/reset", json=body)
        assert response.status_code == 422 and loc in _locs(response.json()["detail"])

    @pytest.mark.parametrize(
        ("extra", "loc"),
        [
            ({"timeout_s": "5"}, ["body", "timeout_s"]),
            ({"timeout_s": True}, ["body", "timeout_s"]),
            ({"request_id": 5}, ["body", "request_id"]),
        ],
    )
    def test_step_envelope_types(self, http, extra, loc):
        body = {"episode_id": _episode(http), "action": {"action_type": "read_config"}, **extra}
        response = http.post("/step", json=body)
        assert response.status_code == 422 and loc in _locs(response.json()["detail"])

    def test_step_episode_id_must_be_a_string(self, http):
        response = http.post("/step", json={"episode_id": 12, "action": {"action_type": "read_config"}})
        assert response.status_code == 422 and ["body", "episode_id"] in _locs(response.json()["detail"])

    @pytest.mark.parametrize(
        ("action", "loc"),
        [
            ({"action_type": "read_logs", "log_filter": 5}, ["log_filter"]),
            ({"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": 1}, ["field_path"]),
            ({"action_type": "run_sanity_check", "sanity_check_type": ["label_consistency"]}, ["sanity_check_type"]),
            ({"action_type": "read_config", "metadata": "x"}, ["metadata"]),
        ],
    )
    def test_action_fields(self, http, action, loc):
        episode_id = _episode(http)
        response = http.post("/step", json={"episode_id": episode_id, "action": action})
        assert response.status_code == 422 and loc in _locs(response.json()["detail"])
        assert http.get("/state", params={"episode_id": episode_id}).json()["step_count"] == 0

    def test_close_episode_id_must_be_a_string(self, http):
        response = http.post("/close", json={"episode_id": 5})
        assert response.status_code == 422 and ["body", "episode_id"] in _locs(response.json()["detail"])

    def test_correct_types_still_work(self, http):
        """Integers where floats are expected are fine (JSON has one number type for 5 and 5.0)."""
        episode_id = _episode(http)
        response = http.post("/step", json={"episode_id": episode_id, "action": {"action_type": "read_config"},
                                            "timeout_s": 5, "request_id": "r1"})
        assert response.status_code == 200
        assert http.get("/state", params={"episode_id": episode_id}).json()["seed"] == 3


class TestWebSocket:
    def exchange(self, gateway, *frames: dict) -> list[dict]:
        with websockets.sync.client.connect(gateway.url.replace("http://", "ws://") + "/ws") as ws:
            replies = []
            for frame in frames:
                ws.send(json.dumps(frame))
                replies.append(json.loads(ws.recv(timeout=30)))
            return replies

    @pytest.mark.parametrize(("seed", "why"), [item for item in NOT_INTEGERS if item[0] is not None])
    def test_reset_seed_must_be_an_integer(self, gateway, seed, why):
        """The issue's finding: `seed: true` became 1 and `seed: "12"` became 12."""
        (reply,) = self.exchange(gateway, {"type": "reset", "data": {"seed": seed}})
        assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR", f"seed as {why}: {reply}"
        assert ["seed"] in _locs(reply["data"]["errors"])

    def test_step_action_fields(self, gateway):
        reset, reply = self.exchange(
            gateway,
            {"type": "reset", "data": {"seed": 4}},
            {"type": "step", "data": {"action_type": "read_logs", "log_filter": 3}},
        )
        assert reset["type"] == "observation"
        assert reply["data"]["code"] == "VALIDATION_ERROR" and ["log_filter"] in _locs(reply["data"]["errors"])

    def test_envelope_data_must_be_an_object(self, gateway):
        (reply,) = self.exchange(gateway, {"type": "step", "data": "read_config"})
        assert reply["data"]["code"] == "VALIDATION_ERROR" and ["data"] in _locs(reply["data"]["errors"])

    def test_integer_seed_plays(self, gateway):
        reset, state = self.exchange(gateway, {"type": "reset", "data": {"seed": 12}}, {"type": "state"})
        assert reset["type"] == "observation" and state["data"]["seed"] == 12


class TestMcp:
    def rpc(self, http, body: dict) -> dict:
        response = http.post("/mcp", json=body)
        assert response.status_code == 200
        return response.json()

    @pytest.mark.parametrize("seed", [True, "12"])
    def test_reset_tool_seed(self, http, seed):
        reply = self.rpc(http, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                "params": {"name": "reset", "arguments": {"seed": seed}}})
        assert reply["error"]["code"] == -32602 and ["seed"] in _locs(reply["error"]["data"])

    def test_request_id_true_is_not_1(self, http):
        reply = self.rpc(http, {"jsonrpc": "2.0", "id": True, "method": "ping"})
        assert reply["error"]["code"] == -32600 and reply["id"] is None


class TestJsonEdgeValues:
    """Found by the fuzz tier (tests/fuzz): valid JSON that the gateway could not answer."""

    @pytest.mark.parametrize("path", ["/reset", "/step", "/close"])
    def test_infinite_number_is_422_not_500(self, http, path):
        """1e999 decodes to infinity; FastAPI's own 422 handler then failed to encode it and answered 500."""
        response = http.post(path, content=b'{"seed": 1e999, "episode_id": 1e999}',
                             headers={"content-type": "application/json"})
        assert response.status_code == 422 and response.json()["detail"]

    def test_huge_jsonrpc_id_on_the_mcp_socket_is_answered(self, gateway):
        """An id beyond 64 bits is echoed in the reply; orjson refused to encode it and the socket died."""
        with websockets.sync.client.connect(gateway.url.replace("http://", "ws://") + "/mcp") as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 2**70, "method": "ping"}))
            assert json.loads(ws.recv(timeout=30)) == {"jsonrpc": "2.0", "id": 2**70, "result": {}}
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            assert json.loads(ws.recv(timeout=30))["id"] == 1

    def test_huge_seed_on_the_openenv_socket_is_an_error_frame(self, gateway):
        with websockets.sync.client.connect(gateway.url.replace("http://", "ws://") + "/ws") as ws:
            ws.send(json.dumps({"type": "mcp", "data": {"jsonrpc": "2.0", "id": 2**70, "method": "ping"}}))
            assert json.loads(ws.recv(timeout=30))["type"] in ("mcp", "error")
            ws.send(json.dumps({"type": "reset", "data": {"seed": 2**70}}))
            reply = json.loads(ws.recv(timeout=30))
            assert reply["type"] == "error" and reply["data"]["code"] in ("VALIDATION_ERROR", "INVALID_JSON")
            ws.send(json.dumps({"type": "state"}))
            assert json.loads(ws.recv(timeout=30))["type"] == "state"
