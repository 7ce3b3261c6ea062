"""Every HTTP and WebSocket endpoint of the gateway (MCP included) under hostile input, over real sockets.

Properties: no HTTP 5xx; every WebSocket frame gets a well-formed reply (never the catch-all "internal
gateway error") and the connection stays open; MCP answers JSON-RPC 2.0 without internal errors; no
ERROR log line from the gateway or uvicorn; a failed call leaves the episode it named unchanged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import websockets.exceptions
import websockets.sync.client
from fuzz.budget import examples
from fuzz.strategies import JSON, JSON_SCALARS, ODD_VALUES, seed_actions
from hypothesis import example, given
from hypothesis import strategies as st

from mlopsdebug_gateway.mcp import INTERNAL_ERROR, TOOL_NAMES

ROUTES = ["/health", "/metadata", "/schema", "/state", "/reset", "/step", "/close", "/mcp", "/openapi.json", "/docs"]
WS_ERROR_CODES = {"INVALID_JSON", "UNKNOWN_TYPE", "VALIDATION_ERROR", "EXECUTION_ERROR", "CAPACITY_REACHED"}
MCP_METHODS = ["initialize", "ping", "tools/list", "tools/call", "openenv/session/create", "openenv/session/close",
               "notifications/initialized", "resources/list", ""]


@pytest.fixture(scope="module")
def http(fuzz_gateway):
    with httpx.Client(base_url=fuzz_gateway.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def witness(http) -> str:
    """An HTTP episode the fuzzer aims at: a failed call must leave its state as it was."""
    response = http.post("/reset", json={"task_id": "hard", "seed": 31})
    assert response.status_code == 200
    return response.json()["episode_id"]


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """A gateway bug that a route swallows still logs (the WS catch-all, uvicorn's 'Exception in ASGI')."""
    with caplog.at_level(logging.ERROR):
        yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith(("mlopsdebug", "uvicorn"))]
    assert not errors, [r.getMessage() for r in errors]


def state_of(http: httpx.Client, episode_id: str) -> Any:
    response = http.get("/state", params={"episode_id": episode_id})
    return response.status_code, response.json()


def assert_not_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"


# -- HTTP --


BODIES = st.one_of(
    st.none(),
    st.builds(lambda value: json.dumps(value).encode(), JSON),
    st.binary(max_size=300),
    st.sampled_from([b"{", b"[]", b"null", b"\xff\xfe", b'{"seed": 1e999}', b'{"a":' * 50, b"\x00" * 10]),
)
CONTENT_TYPES = st.sampled_from([None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "application/json; charset=latin-1", "garbage"])


@examples(120)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=st.one_of(st.sampled_from(ROUTES), st.text(max_size=20).map(lambda p: "/" + p)),
    body=BODIES,
    content_type=CONTENT_TYPES,
    params=st.dictionaries(st.sampled_from(["episode_id", "x", "seed"]), st.text(max_size=140), max_size=2),
)
@example(method="POST", path="/step", body=b'{"seed": 1e999}', content_type="application/json", params={})  # was 500
def test_any_request_to_any_route(http, method, path, body, content_type, params):
    headers = {"content-type": content_type} if content_type else {}
    try:
        response = http.request(method, path, content=body, headers=headers, params=params)
    except httpx.InvalidURL:
        return  # a path httpx itself refuses to send
    assert_not_5xx(response)


@examples(80)
@given(body=st.dictionaries(st.sampled_from(["task_id", "seed", "episode_id", "extra"]),
                            st.one_of(ODD_VALUES, st.sampled_from(["easy", "hard", 0, 7, 2**53 - 1, 2**53])),
                            max_size=3))
def test_reset(http, body):
    response = http.post("/reset", json=body)
    assert_not_5xx(response)
    if response.status_code == 200:
        http.post("/close", json={"episode_id": response.json()["episode_id"]})


def test_step_state_close(http, witness):
    @examples(120)
    @given(
        target=st.one_of(st.just(witness), st.text(max_size=140), JSON_SCALARS),
        action=st.one_of(seed_actions(), JSON),
        extras=st.dictionaries(st.sampled_from(["timeout_s", "request_id", "other"]),
                               st.one_of(ODD_VALUES, st.sampled_from([5, 30.0, "r-1"])), max_size=2),
        route=st.sampled_from(["step", "step", "step", "state", "close"]),
    )
    def check(target: Any, action: Any, extras: dict[str, Any], route: str) -> None:
        if isinstance(extras.get("timeout_s"), (int, float)) and not isinstance(extras["timeout_s"], bool):
            extras["timeout_s"] = max(5, abs(extras["timeout_s"]))  # a caller's tiny deadline is a fair 504
        before = state_of(http, witness)
        if route == "state":
            response = http.get("/state", params={"episode_id": str(target)})
        elif route == "close":
            if target == witness:
                return
            response = http.post("/close", json={"episode_id": target})
        else:
            response = http.post("/step", json={"episode_id": target, "action": action, **extras})
        assert_not_5xx(response)
        if response.status_code != 200 or target != witness or route != "step":
            assert state_of(http, witness) == before, "a failed or foreign call changed the witness episode"

    check()


def test_mcp_http(http, witness):
    @examples(100)
    @given(
        method=st.one_of(st.sampled_from(MCP_METHODS), st.text(max_size=20)),
        rid=st.one_of(st.integers(), st.text(max_size=10), st.none(), st.booleans(),
                    st.floats(allow_nan=False, allow_infinity=False)),
        name=st.one_of(st.sampled_from(sorted(TOOL_NAMES)), st.text(max_size=12), JSON_SCALARS),
        arguments=st.one_of(seed_actions(), JSON),
        session_id=st.one_of(st.none(), st.text(max_size=40), JSON_SCALARS),
        envelope=st.sampled_from(["good", "no-version", "batch", "extra"]),
    )
    def check(method: str, rid: Any, name: Any, arguments: Any, session_id: Any, envelope: str) -> None:
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if isinstance(arguments, dict) and "episode_id" not in arguments and name != "reset":
            arguments = {**arguments, "episode_id": witness}
            params["arguments"] = arguments
        if session_id is not None:
            params["session_id"] = session_id
        message: Any = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        if envelope == "no-version":
            message.pop("jsonrpc")
        elif envelope == "batch":
            message = [message]
        elif envelope == "extra":
            message["x"] = 1
        before = state_of(http, witness)
        response = http.post("/mcp", json=message)
        assert response.status_code == 200, response.text[:300]
        reply = response.json()
        assert reply["jsonrpc"] == "2.0"
        assert reply.get("error", {}).get("code") != INTERNAL_ERROR, reply
        succeeded = "result" in reply and not reply["result"].get("isError", False)
        if not succeeded:
            assert state_of(http, witness) == before

    check()


# -- WebSocket --


def ws_url(gateway, path: str) -> str:
    return gateway.url.replace("http://", "ws://") + path


OPENENV_FRAMES = st.one_of(
    st.builds(lambda data: {"type": "reset", "data": data},
              st.dictionaries(st.sampled_from(["task_id", "seed", "episode_id", "x"]), ODD_VALUES, max_size=3)),
    st.builds(lambda action: {"type": "step", "data": action}, st.one_of(seed_actions(), JSON)),
    st.builds(lambda data: {"type": "step", "data": data},
              st.fixed_dictionaries({"type": st.sampled_from(["list_tools", "call_tool"]),
                                     "tool_name": st.one_of(st.sampled_from(sorted(TOOL_NAMES)), JSON_SCALARS),
                                     "arguments": st.one_of(seed_actions(), JSON)})),
    st.just({"type": "state"}),
    st.builds(lambda extra: {"type": "state", **extra}, st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=2)),
    st.builds(lambda kind, data: {"type": kind, "data": data}, JSON_SCALARS, JSON),
    st.builds(lambda data: {"type": "mcp", "data": data}, JSON),
    JSON,
)
RAW_FRAMES = st.one_of(
    OPENENV_FRAMES.map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=60),  # binary frames, often not UTF-8
)


def test_openenv_websocket(fuzz_gateway):
    @examples(60)
    @given(frames=st.lists(RAW_FRAMES, min_size=1, max_size=6))
    def check(frames: list[str | bytes]) -> None:
        with websockets.sync.client.connect(ws_url(fuzz_gateway, "/ws"), max_size=None) as ws:
            for frame in frames:
                ws.send(frame)
                reply = json.loads(ws.recv(timeout=60))
                assert reply["type"] in {"observation", "state", "error", "mcp"}, reply
                if reply["type"] == "error":
                    assert reply["data"]["code"] in WS_ERROR_CODES, reply
                    assert reply["data"]["message"] != "internal gateway error", frame
            ws.send(json.dumps({"type": "state"}))  # still open and answering in order
            assert json.loads(ws.recv(timeout=60))["type"] == "state"

    check()


def test_openenv_websocket_close_frame(fuzz_gateway):
    """The one frame that ends the connection: a valid close, answered by closing with 1000."""
    with websockets.sync.client.connect(ws_url(fuzz_gateway, "/ws")) as ws:
        ws.send(json.dumps({"type": "close"}))
        with pytest.raises(websockets.exceptions.ConnectionClosedOK):
            ws.recv(timeout=30)


def test_mcp_websocket(fuzz_gateway):
    @examples(60)
    @given(frames=st.lists(st.one_of(
        st.builds(lambda method, rid, params: json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                                                          "params": params}),
                  st.one_of(st.sampled_from(MCP_METHODS), st.text(max_size=12)),
                  st.one_of(st.integers(), st.text(max_size=8)),
                  st.one_of(st.builds(lambda n, a: {"name": n, "arguments": a},
                                      st.sampled_from(sorted(TOOL_NAMES)), st.one_of(seed_actions(), JSON)), JSON)),
        st.text(max_size=40), st.binary(max_size=40), JSON.map(json.dumps),
    ), min_size=1, max_size=5))
    @example(frames=[f'{{"jsonrpc": "2.0", "id": {2**70}, "method": "ping"}}'])  # killed the socket (orjson)
    def check(frames: list[str | bytes]) -> None:
        with websockets.sync.client.connect(ws_url(fuzz_gateway, "/mcp"), max_size=None) as ws:
            for frame in frames:
                ws.send(frame)
            ws.send(json.dumps({"jsonrpc": "2.0", "id": "last", "method": "ping"}))
            while True:  # replies in order; notifications get none
                reply = json.loads(ws.recv(timeout=60))
                assert reply["jsonrpc"] == "2.0"
                assert reply.get("error", {}).get("code") != INTERNAL_ERROR, reply
                if reply.get("id") == "last" and "result" in reply:
                    break

    check()


def test_zz_gateway_healthy_after_the_run(http, witness):
    assert http.get("/health").json() == {"status": "healthy"}
    response = http.post("/step", json={"episode_id": witness, "action": {"action_type": "read_config"}})
    assert response.status_code in (200, 409)  # 409 if a fuzzed submission ended it
