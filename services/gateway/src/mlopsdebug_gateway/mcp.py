"""The environment as MCP tools over JSON-RPC 2.0: one tool per action plus `reset`.

A tool-calling agent plays with `tools/list` and `tools/call` alone. Over WebSocket (/mcp, or an `mcp`
frame on /ws) the connection's episode is used. Over HTTP (POST /mcp) a caller either opens a session
(`openenv/session/create`, as OpenEnv's MCP client does, then passes `session_id` in params) or passes
the `episode_id` that `reset` returned as a tool argument. Tool failures (an ended episode, an unknown
one) come back as results with `isError: true`; malformed requests and arguments as JSON-RPC errors.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlopsdebug_common.domain import CATEGORIES, SANITY_CHECKS, STRUCTURED_ARTIFACTS
from mlopsdebug_common.tasks import MAX_SEED, TASK_IDS
from mlopsdebug_common.validation import (
    FIELD_MAX_CHARS,
    FIELD_PATH_MAX_CHARS,
    FILE_MAX_CHARS,
    LOG_FILTER_MAX_CHARS,
    TEXT_MAX_CHARS,
)
from mlopsdebug_gateway.errors import UpstreamError
from mlopsdebug_gateway.models import EPISODE_ID_PATTERN, REQUIRED_FIELDS, validation_errors
from mlopsdebug_gateway.session import EpisodeSession, NoEpisodeError

PROTOCOL_VERSION: Final[str] = "2025-06-18"
PARSE_ERROR: Final[int] = -32700
INVALID_REQUEST: Final[int] = -32600
METHOD_NOT_FOUND: Final[int] = -32601
INVALID_PARAMS: Final[int] = -32602
INTERNAL_ERROR: Final[int] = -32603
SERVER_ERROR: Final[int] = -32000

_EPISODE_ID = {
    "type": "string",
    "pattern": EPISODE_ID_PATTERN,
    "description": "Episode to act in; only needed over HTTP without a session (reset returns it)",
}
_NO_ARGS = "Takes no arguments besides episode_id."


def _tool(name: str, description: str, properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"name": name, "description": description, "inputSchema": schema}


def _action_tool(name: str, description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return _tool(name, description, {**(properties or {}), "episode_id": _EPISODE_ID}, REQUIRED_FIELDS.get(name, ()))


TOOLS: Final[tuple[dict[str, Any], ...]] = (
    _tool(
        "reset",
        "Starts a new episode: a broken training run to debug. Returns the first observation and its episode_id.",
        {
            "task_id": {"type": "string", "enum": list(TASK_IDS), "description": "Difficulty (easy, medium, hard: the newest version; easy-v1 etc. pin one); default easy"},
            "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED, "description": "Scenario seed"},
            "episode_id": {"type": "string", "pattern": EPISODE_ID_PATTERN, "description": "Id to give the episode"},
            "split": {"type": "string", "enum": ["all", "train", "heldout"], "description": "Fault split; default all"},
        },
    ),
    _action_tool("read_config", "Reads config.yaml: hyperparameters, model, optimizer, data settings. " + _NO_ARGS),
    _action_tool(
        "read_logs",
        "Reads train.log, optionally filtered by a keyword or an epoch range 'epoch:N-M'.",
        {"log_filter": {"type": "string", "maxLength": LOG_FILTER_MAX_CHARS}},
    ),
    _action_tool(
        "check_dataset_stats", "Reads dataset_stats.json: split sizes, class counts, feature statistics. " + _NO_ARGS
    ),
    _action_tool("inspect_preprocessing", "Reads preprocessing.py, the data pipeline code. " + _NO_ARGS),
    _action_tool("read_eval_results", "Reads eval_results.json: validation and test metrics. " + _NO_ARGS),
    _action_tool(
        "run_sanity_check",
        "Runs one diagnostic check computed from the run's artifacts.",
        {"sanity_check_type": {"type": "string", "enum": list(SANITY_CHECKS)}},
    ),
    _action_tool(
        "query_artifact",
        "Fetches one field of a structured artifact by dot path, e.g. optimizer.learning_rate.",
        {
            "artifact_name": {"type": "string", "enum": list(STRUCTURED_ARTIFACTS)},
            "field_path": {"type": "string", "minLength": 1, "maxLength": FIELD_PATH_MAX_CHARS},
        },
    ),
    _action_tool(
        "submit_diagnosis",
        "Submits the final diagnosis; it is graded and the episode ends. Name one field, not several.",
        {
            "failure_category": {"type": "string", "enum": list(CATEGORIES)},
            "root_cause_file": {"type": "string", "minLength": 1, "maxLength": FILE_MAX_CHARS},
            "root_cause_field": {"type": "string", "minLength": 1, "maxLength": FIELD_MAX_CHARS},
            "diagnosis": {"type": "string", "maxLength": TEXT_MAX_CHARS},
            "proposed_fix": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX_CHARS},
        },
    ),
)
TOOL_NAMES: Final[frozenset[str]] = frozenset(tool["name"] for tool in TOOLS)


class JsonRpcRequest(BaseModel):
    """A JSON-RPC 2.0 request or notification; strict, so an id of `true` is refused rather than read as 1."""

    model_config = ConfigDict(extra="forbid", strict=True)

    jsonrpc: Literal["2.0"]
    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | int | None = None


def response(request_id: str | int | None, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error(request_id: str | int | None, code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message, "data": data}}


def tool_result(payload: Any, *, is_error: bool = False) -> dict[str, Any]:
    """An MCP CallToolResult. `data` repeats the payload for OpenEnv's MCP client, which returns it as is."""
    text = payload if isinstance(payload, str) else json.dumps(payload, allow_nan=False)
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": is_error}
    if not is_error:
        result["structuredContent"] = payload
        result["data"] = payload
    return result


class SessionScope(Protocol):
    """Where tool calls find their episode session, and how MCP sessions are opened and closed."""

    def session_for(self, params: dict[str, Any], episode_id: str | None) -> EpisodeSession: ...

    async def create_session(self) -> str: ...

    async def close_session(self, session_id: str) -> bool: ...


class ScopeError(Exception):
    """A JSON-RPC error raised while finding a session (unknown session id, capacity)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def parse_request(raw: Any) -> JsonRpcRequest | dict[str, Any]:
    """The request, or the error response that a malformed one gets."""
    if isinstance(raw, list):
        return error(None, INVALID_REQUEST, "Invalid request: batch requests are not supported")
    if not isinstance(raw, dict):
        return error(None, INVALID_REQUEST, "Invalid request: expected a JSON-RPC 2.0 object")
    try:
        return JsonRpcRequest.model_validate(raw)
    except ValidationError as exc:
        raw_id = raw.get("id")
        request_id = raw_id if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
        return error(request_id, INVALID_REQUEST, "Invalid request", validation_errors(exc))


async def handle(raw: Any, scope: SessionScope, *, server_version: str) -> dict[str, Any]:
    """Answers one JSON-RPC message (already decoded from JSON)."""
    request = parse_request(raw)
    if isinstance(request, dict):
        return request
    rid, params = request.id, request.params
    try:
        if request.method == "initialize":
            return response(
                rid,
                {
                    "protocolVersion": str(params.get("protocolVersion") or PROTOCOL_VERSION),
                    "capabilities": {"tools": {"listChanged": False}},
                    "serverInfo": {"name": "mlops-debug-env", "version": server_version},
                },
            )
        if request.method == "ping" or request.method.startswith("notifications/"):
            return response(rid, {})
        if request.method == "tools/list":
            return response(rid, {"tools": list(TOOLS)})
        if request.method == "tools/call":
            return await _call_tool(rid, params, scope)
        if request.method == "openenv/session/create":
            return response(rid, {"session_id": await scope.create_session()})
        if request.method == "openenv/session/close":
            session_id = params.get("session_id")
            if not isinstance(session_id, str) or not session_id:
                return error(rid, INVALID_PARAMS, "Invalid params - 'session_id' is required")
            if not await scope.close_session(session_id):
                return error(rid, INVALID_PARAMS, f"Unknown session_id: {session_id[:64]}")
            return response(rid, {"session_id": session_id, "closed": True})
    except ScopeError as exc:
        return error(rid, exc.code, exc.message, exc.data)
    return error(rid, METHOD_NOT_FOUND, f"Method not found: {request.method[:64]}")


@dataclasses.dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool call came to: a step payload, or a failure of some kind with its message."""

    kind: Literal["ok", "invalid_args", "tool_not_found", "execution_error", "capacity"]
    payload: Any = None
    message: str = ""
    data: Any = None


async def run_tool(name: Any, arguments: Any, scope: SessionScope, params: dict[str, Any]) -> ToolOutcome:
    """Runs one tool on the episode session the scope picks; never raises for caller mistakes."""
    if not isinstance(name, str) or not name:
        return ToolOutcome("invalid_args", message="Missing 'name' in params")
    if name not in TOOL_NAMES:
        return ToolOutcome("tool_not_found", message=f"Tool not found: {name[:64]}")
    if not isinstance(arguments, dict):
        return ToolOutcome("invalid_args", message="'arguments' must be an object")
    arguments = dict(arguments)
    episode_id = None if name == "reset" else arguments.pop("episode_id", None)
    if episode_id is not None and not isinstance(episode_id, str):
        return ToolOutcome("invalid_args", message="'episode_id' must be a string")
    try:
        session = scope.session_for(params, episode_id)
        if name == "reset":
            unknown = sorted(set(arguments) - {"task_id", "seed", "episode_id"})
            if unknown:
                return ToolOutcome("invalid_args", message=f"Unknown argument(s) for reset: {', '.join(unknown)}")
            return ToolOutcome("ok", await session.reset(arguments))
        return ToolOutcome("ok", await session.step({**arguments, "action_type": name}))
    except ScopeError as exc:
        return ToolOutcome("invalid_args", message=exc.message, data=exc.data)
    except ValidationError as exc:
        return ToolOutcome("invalid_args", message="Invalid arguments", data=validation_errors(exc))
    except NoEpisodeError as exc:
        return ToolOutcome("execution_error", message=str(exc))
    except UpstreamError as exc:
        if exc.code == "RESOURCE_EXHAUSTED":
            return ToolOutcome("capacity", message=exc.message)
        if exc.code == "INVALID_ARGUMENT":
            return ToolOutcome("invalid_args", message=exc.message, data=exc.validation_detail())
        return ToolOutcome("execution_error", message=exc.message)


async def _call_tool(rid: str | int | None, params: dict[str, Any], scope: SessionScope) -> dict[str, Any]:
    outcome = await run_tool(params.get("name"), params.get("arguments") or {}, scope, params)
    if outcome.kind == "ok":
        return response(rid, tool_result(outcome.payload))
    if outcome.kind == "execution_error":
        return response(rid, tool_result(outcome.message, is_error=True))
    code = SERVER_ERROR if outcome.kind == "capacity" else INVALID_PARAMS
    return error(rid, code, outcome.message, outcome.data)


async def step_action(data: dict[str, Any], scope: SessionScope) -> dict[str, Any]:
    """OpenEnv's simulation-mode MCP actions ({"type": "list_tools"} / {"type": "call_tool", ...}) sent as a
    WebSocket step, which is how OpenEnv's MCPToolClient talks by default. Answers an observation envelope."""
    if data.get("type") == "list_tools":
        return {"observation": {"tools": list(TOOLS)}, "reward": None, "done": False}
    name = data.get("tool_name")
    outcome = await run_tool(name, data.get("arguments") or {}, scope, {})
    observation: dict[str, Any] = {"tool_name": name if isinstance(name, str) else "", "result": None, "error": None}
    reward, done = None, False
    if outcome.kind == "ok":
        observation["result"] = tool_result(outcome.payload)
        reward, done = outcome.payload["reward"], outcome.payload["done"]
    else:
        error_type = "execution_error" if outcome.kind == "capacity" else outcome.kind
        observation["error"] = {"error_type": error_type, "message": outcome.message}
    return {"observation": observation, "reward": reward, "done": done}


def is_mcp_step(data: dict[str, Any]) -> bool:
    return data.get("type") in ("list_tools", "call_tool") and "action_type" not in data


@dataclasses.dataclass
class _Entry:
    session: EpisodeSession
    last_used: float
    owner: str


class McpSessions:
    """HTTP MCP sessions (`openenv/session/create`): each holds at most one episode, dropped when idle.

    Unlike OpenEnv, an idle session does not hold its slot forever: sessions unused for the idle
    timeout are closed (and their episodes with them) whenever a session is created. A session
    belongs to the caller that created it (its `limit_key`): for anyone else its id is unknown, and
    one caller holds at most `max_per_owner` of the `max_sessions`.
    """

    def __init__(
        self,
        *,
        max_sessions: int,
        max_per_owner: int,
        idle_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_sessions
        self._max_per_owner = max_per_owner
        self._idle = idle_timeout_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._per_owner: collections.Counter[str] = collections.Counter()
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def _pop(self, session_id: str) -> _Entry:
        entry = self._entries.pop(session_id)
        self._per_owner[entry.owner] -= 1
        if not self._per_owner[entry.owner]:
            del self._per_owner[entry.owner]
        return entry

    def _expire(self) -> None:
        if self._idle <= 0:
            return
        cutoff = self._clock() - self._idle
        for session_id in [sid for sid, entry in self._entries.items() if entry.last_used < cutoff]:
            self._close_later(self._pop(session_id).session)

    def _close_later(self, session: EpisodeSession) -> None:
        task = asyncio.get_running_loop().create_task(session.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def create(self, owner: str, make_session: Callable[[], EpisodeSession]) -> str:
        self._expire()
        mine = self._per_owner.get(owner, 0)
        if mine >= self._max_per_owner:
            raise ScopeError(
                SERVER_ERROR,
                f"Quota max_mcp_sessions_per_principal reached: {mine}/{self._max_per_owner} MCP sessions "
                "of yours are open; close one (openenv/session/close) first",
                {"quota": "max_mcp_sessions_per_principal", "active_sessions": mine, "max_sessions": self._max_per_owner},
            )
        if len(self._entries) >= self._max:
            raise ScopeError(
                SERVER_ERROR,
                f"Server at capacity: {len(self._entries)}/{self._max} MCP sessions active",
                {"active_sessions": len(self._entries), "max_sessions": self._max},
            )
        session_id = uuid.uuid4().hex
        self._entries[session_id] = _Entry(make_session(), self._clock(), owner)
        self._per_owner[owner] += 1
        return session_id

    def _entry(self, session_id: str, owner: str) -> _Entry:
        entry = self._entries.get(session_id)
        if entry is None or entry.owner != owner:  # someone else's session is as unknown as a missing one
            raise ScopeError(INVALID_PARAMS, f"Unknown session_id: {session_id[:64]}")
        return entry

    def get(self, session_id: str, owner: str) -> EpisodeSession:
        entry = self._entry(session_id, owner)
        entry.last_used = self._clock()
        return entry.session

    async def close(self, session_id: str, owner: str) -> bool:
        try:
            self._entry(session_id, owner)
        except ScopeError:
            return False
        await self._pop(session_id).session.aclose()
        return True

    async def close_all(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        self._per_owner.clear()
        for entry in entries:
            await entry.session.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class HttpScope:
    """POST /mcp for one caller: its named MCP sessions, or a one-off session on the episode given as an argument."""

    def __init__(
        self, sessions: McpSessions, make_session: Callable[[str | None], EpisodeSession], owner: str
    ) -> None:
        self._sessions = sessions
        self._make_session = make_session
        self._owner = owner

    def session_for(self, params: dict[str, Any], episode_id: str | None) -> EpisodeSession:
        session_id = params.get("session_id")
        if session_id is not None:
            if not isinstance(session_id, str):
                raise ScopeError(INVALID_PARAMS, "'session_id' must be a string")
            session = self._sessions.get(session_id, self._owner)
            if episode_id is not None and episode_id != session.episode_id:
                raise ScopeError(INVALID_PARAMS, "episode_id does not belong to this session")
            return session
        return self._make_session(episode_id)

    async def create_session(self) -> str:
        return self._sessions.create(self._owner, lambda: self._make_session(None))

    async def close_session(self, session_id: str) -> bool:
        return await self._sessions.close(session_id, self._owner)


class ConnectionScope:
    """A WebSocket connection: every call plays the connection's own episode."""

    def __init__(self, session: EpisodeSession) -> None:
        self._session = session

    def session_for(self, params: dict[str, Any], episode_id: str | None) -> EpisodeSession:
        if episode_id is not None and episode_id != self._session.episode_id:
            raise ScopeError(INVALID_PARAMS, "episode_id does not belong to this connection")
        return self._session

    async def create_session(self) -> str:
        raise ScopeError(INVALID_REQUEST, "a WebSocket connection is already a session")

    async def close_session(self, session_id: str) -> bool:
        raise ScopeError(INVALID_REQUEST, "close the WebSocket to end its session")
