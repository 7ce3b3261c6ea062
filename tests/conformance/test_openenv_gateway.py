"""The OpenEnv surface of a deployment's gateway, checked as a black box: the information routes, stateful
HTTP episodes by episode id, the WebSocket protocol of OpenEnv's EnvClient, HTTP MCP's envelope, and the
HTTP statuses of refusals (422, 404, 409; never 500). Needs a gateway URL (--gateway-url)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import pytest
from conformance.contract import (
    FAMILY_BUDGETS,
    REWARD_NEW_ARTIFACT,
    REWARD_NEW_SANITY_CHECK,
    REWARD_REPEATED_READ,
    Deployment,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mlopsdebug_client import vocabulary

SUBMISSION = {"action_type": "submit_diagnosis", "failure_category": "config_error", "root_cause_file": "config.yaml",
              "root_cause_field": "optimizer.learning_rate", "diagnosis": "the loss diverges",
              "proposed_fix": "lower the learning rate"}


@pytest.fixture
def http(gateway_url: str, deployment: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=60, headers=deployment.http_headers(),
                      verify=deployment.tls_ca_file or True) as client:
        yield client


@pytest.fixture
def ws(gateway_url: str, deployment: Deployment):
    url = gateway_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"
    with connect(url, additional_headers=deployment.http_headers(), open_timeout=30) as socket:
        yield socket


def reset(http: httpx.Client, **body) -> dict:
    response = http.post("/reset", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def step(http: httpx.Client, episode_id: str, action: dict) -> httpx.Response:
    return http.post("/step", json={"episode_id": episode_id, "action": action})


def exchange(ws, frame: dict | str) -> dict:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(ws.recv(timeout=60))


class TestInformationRoutes:
    def test_health_metadata_schema_and_openapi(self, http):
        assert http.get("/health").json() == {"status": "healthy"}
        metadata = http.get("/metadata").json()
        assert metadata["name"] and isinstance(metadata["description"], str)
        assert {"action", "observation", "state"} <= set(http.get("/schema").json())
        spec = http.get("/openapi.json").json()
        assert spec["info"]["version"].startswith("1.") and {"/reset", "/step", "/state"} <= set(spec["paths"])

    def test_the_action_schema_names_the_contract_words(self, http):
        schema = json.dumps(http.get("/schema").json()["action"])
        for word in (*vocabulary.ACTION_TYPES, *vocabulary.SANITY_CHECKS, *vocabulary.CATEGORIES):
            assert f'"{word}"' in schema, word


class TestHttpEpisodes:
    @pytest.mark.parametrize("task_id", list(FAMILY_BUDGETS))
    def test_reset_step_state_close(self, http, task_id):
        first = reset(http, task_id=task_id, seed=61)
        episode_id = first["episode_id"]
        assert first["reward"] is None and first["done"] is False
        assert first["observation"]["max_steps"] == FAMILY_BUDGETS[task_id]
        actions = [{"action_type": "read_config"}, {"action_type": "read_config"},
                   {"action_type": "run_sanity_check", "sanity_check_type": "class_balance"},
                   {"action_type": "query_artifact", "artifact_name": "model_card.json", "field_path": "no_such_key"},
                   SUBMISSION]
        rewards = []
        for count, action in enumerate(actions, start=1):
            response = step(http, episode_id, action)
            assert response.status_code == 200, response.text
            rewards.append(response.json()["reward"])
            assert http.get("/state", params={"episode_id": episode_id}).json()["step_count"] == count
        body = response.json()
        assert body["done"] is True and body["observation"]["terminated"] is True
        assert rewards[:4] == pytest.approx([REWARD_NEW_ARTIFACT, REWARD_REPEATED_READ, REWARD_NEW_SANITY_CHECK,
                                             REWARD_NEW_ARTIFACT])
        assert 0.0 <= rewards[4] <= 1.0 and math.isfinite(rewards[4])
        assert (step(http, episode_id, {"action_type": "read_config"}).status_code) == 409
        assert http.post("/close", json={"episode_id": episode_id}).status_code == 200
        assert http.get("/state", params={"episode_id": episode_id}).status_code == 404

    def test_http_observes_what_another_episode_of_the_scenario_observes(self, http):
        one, two = reset(http, task_id="medium", seed=62), reset(http, task_id="medium", seed=62)
        strip = lambda obs: {k: v for k, v in obs.items() if k != "episode_id"}  # noqa: E731
        assert strip(one["observation"]) == strip(two["observation"])
        read = [step(http, e["episode_id"], {"action_type": "read_eval_results"}).json() for e in (one, two)]
        assert strip(read[0]["observation"]) == strip(read[1]["observation"])

    @pytest.mark.parametrize(("method", "path", "kwargs"), [
        ("post", "/step", {"json": {"action": {"action_type": "read_config"}}}),
        ("post", "/step", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("post", "/reset", {"json": {"seed": -1}}),
        ("post", "/reset", {"json": {"task_id": "expert"}}),
        ("get", "/state", {}),
    ])
    def test_malformed_requests_are_422(self, http, method, path, kwargs):
        response = getattr(http, method)(path, **kwargs)
        assert response.status_code == 422 and response.json()["detail"]

    @pytest.mark.parametrize("action", [
        {"action_type": "teleport"},
        {"action_type": "run_sanity_check", "sanity_check_type": "astrology"},
        {"action_type": "query_artifact", "artifact_name": "train.log", "field_path": "a"},
        {"action_type": "read_config", "bogus": 1},
    ])
    def test_a_bad_action_is_422_and_changes_nothing(self, http, action):
        episode_id = reset(http, seed=63)["episode_id"]
        assert step(http, episode_id, action).status_code == 422
        assert http.get("/state", params={"episode_id": episode_id}).json()["step_count"] == 0

    def test_unknown_episodes_are_404_and_taken_ids_409(self, http):
        missing = {"episode_id": "conformance-no-such-episode"}
        assert step(http, missing["episode_id"], {"action_type": "read_config"}).status_code == 404
        assert http.get("/state", params=missing).status_code == 404
        assert http.post("/close", json=missing).status_code == 404
        reset(http, episode_id="conformance-http-taken")
        assert http.post("/reset", json={"episode_id": "conformance-http-taken"}).status_code == 409
        http.post("/close", json={"episode_id": "conformance-http-taken"})


class TestWebSocket:
    def test_an_episode_over_the_openenv_protocol(self, ws):
        opened = exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 64}})
        assert opened["type"] == "observation" and opened["data"]["done"] is False and opened["data"]["reward"] is None
        state = exchange(ws, {"type": "state"})
        assert state["type"] == "state" and state["data"]["step_count"] == 0
        read = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
        assert read["type"] == "observation" and read["data"]["reward"] == pytest.approx(REWARD_NEW_ARTIFACT)
        assert read["data"]["observation"]["last_action_result"]["kind"] == "artifact"
        refused = exchange(ws, {"type": "step", "data": {"action_type": "teleport"}})
        assert refused["type"] == "error" and refused["data"]["code"] == "VALIDATION_ERROR"
        assert exchange(ws, "{not json")["data"]["code"] == "INVALID_JSON"
        assert exchange(ws, {"type": "bogus"})["data"]["code"] == "UNKNOWN_TYPE"
        assert exchange(ws, {"type": "state"})["data"]["step_count"] == 1  # errors changed nothing
        done = exchange(ws, {"type": "step", "data": SUBMISSION})
        assert done["data"]["done"] is True and done["data"]["observation"]["last_action_result"]["kind"] == "grade"
        after = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})
        assert after["type"] == "error" and after["data"]["code"] == "EXECUTION_ERROR"
        ws.send(json.dumps({"type": "close"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    def test_websocket_and_http_serve_one_world(self, ws, http):
        """The same (task, seed) reads the same artifact over both transports."""
        exchange(ws, {"type": "reset", "data": {"task_id": "hard", "seed": 65}})
        over_ws = exchange(ws, {"type": "step", "data": {"action_type": "read_config"}})["data"]["observation"]
        episode_id = reset(http, task_id="hard", seed=65)["episode_id"]
        over_http = step(http, episode_id, {"action_type": "read_config"}).json()["observation"]
        assert over_ws["last_action_result"] == over_http["last_action_result"]
        assert over_ws["run_id"] == over_http["run_id"]


class TestHttpMcp:
    def test_json_rpc_errors_come_with_http_200(self, http):
        response = http.post("/mcp", json={})
        assert response.status_code == 200
        assert response.json()["jsonrpc"] == "2.0" and response.json()["error"]["code"] == -32600
