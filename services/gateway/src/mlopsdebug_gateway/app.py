"""The OpenEnv-compatible HTTP and WebSocket surface, forwarding every call to the episode service.

Routes: GET /health, /metadata, /schema, /state; POST /reset, /step, /close, /mcp; WebSocket /ws and /mcp.
HTTP episodes are addressed by the episode id that POST /reset returns, so any number of HTTP clients
play at once; every call carries its caller's credentials upstream (auth.py), so each caller reaches
only its own episodes. Each WebSocket connection is one OpenEnv session backed by one episode-service Session
stream. Invalid input is 422 with pydantic-style detail, an unknown episode 404; a gateway route never
answers 500 for anything a caller sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import orjson
from fastapi import Body, FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from mlopsdebug_gateway import mcp
from mlopsdebug_gateway.auth import AuthError, Caller, http_caller, ws_caller
from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.convert import encode_text
from mlopsdebug_gateway.errors import UpstreamError, ws_code
from mlopsdebug_gateway.limits import BodyLimit
from mlopsdebug_gateway.metadata import metadata, package_version
from mlopsdebug_gateway.models import (
    CloseRequest,
    HealthResponse,
    MetadataResponse,
    MLOpsAction,
    MLOpsObservation,
    MLOpsState,
    ResetRequest,
    SchemaResponse,
    StepRequest,
    StepResponse,
    plain_errors,
    validation_errors,
)
from mlopsdebug_gateway.session import EpisodeSession, NoEpisodeError
from mlopsdebug_gateway.upstream import EpisodeClient, StreamTransport, UnaryTransport

log = logging.getLogger("mlopsdebug.gateway")

OPENAPI_VERSION = "1.0.0"  # openenv validate maps 1.x to the openenv-http/1.x profile
CLOSE_NORMAL = 1000


# -- WebSocket envelopes, as strict as OpenEnv's (extra keys are a VALIDATION_ERROR), with strict types --


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class WSReset(_Envelope):
    type: Literal["reset"]
    data: dict[str, Any] = Field(default_factory=dict)


class WSStep(_Envelope):
    type: Literal["step"]
    data: dict[str, Any]


class WSState(_Envelope):
    type: Literal["state"]


class WSClose(_Envelope):
    type: Literal["close"]


class WSMcp(_Envelope):
    type: Literal["mcp"]
    data: dict[str, Any]


def _error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "data": {"message": message, "code": code, **extra}}


class Gateway:
    """Runtime state shared by the routes: the upstream client, WebSocket slots, HTTP MCP sessions."""

    def __init__(self, config: GatewayConfig, client: EpisodeClient) -> None:
        self.config = config
        self.client = client
        self.active_ws = 0
        self.mcp_sessions = mcp.McpSessions(
            max_sessions=config.max_mcp_sessions,
            max_per_owner=config.max_mcp_sessions_per_principal,
            idle_timeout_s=config.session_idle_timeout_s,
        )
        self.version = package_version()

    def http_caller(self, request: Request) -> Caller:
        """The caller of an HTTP request; raises AuthError (401) when keys are on and its key is not valid."""
        host = request.client.host if request.client is not None else "unknown"
        return http_caller(request.headers, host, self.config.api_keys, self.config.scope_secret)

    def unary_session(self, caller: Caller, episode_id: str | None = None) -> EpisodeSession:
        return EpisodeSession(
            UnaryTransport(self.client, caller.metadata),
            default_task_id=self.config.default_task_id,
            episode_id=episode_id,
        )

    def stream_session(self, caller: Caller) -> EpisodeSession:
        return EpisodeSession(StreamTransport(self.client, caller.metadata), default_task_id=self.config.default_task_id)

    def mcp_scope(self, caller: Caller) -> mcp.HttpScope:
        return mcp.HttpScope(self.mcp_sessions, lambda eid: self.unary_session(caller, eid), caller.limit_key)

    def try_acquire_ws(self) -> bool:
        if self.active_ws >= self.config.max_ws_sessions:
            return False
        self.active_ws += 1
        return True

    def release_ws(self) -> None:
        self.active_ws -= 1


def _upstream_response(exc: UpstreamError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(exc.http_body(), status_code=exc.http_status, headers=headers)


def _auth_response(exc: AuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.http_body(), status_code=exc.status, headers=headers)


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


def _with_episode_id(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "episode_id": payload["observation"]["episode_id"]}


def create_app(config: GatewayConfig) -> FastAPI:
    """Builds the gateway app; the episode-service channel opens when the app starts serving."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The gRPC channel must belong to the serving event loop, so it is made here, not in create_app.
        client = EpisodeClient(
            config.episode_addr, rpc_timeout_s=config.rpc_timeout_s, health_timeout_s=config.health_timeout_s,
            tls_ca=config.episode_tls_ca,
        )
        app.state.gateway = Gateway(config, client)
        try:
            yield
        finally:
            await app.state.gateway.mcp_sessions.close_all()
            await client.close()

    app = FastAPI(
        title="mlops-debug-env OpenEnv gateway",
        description="OpenEnv HTTP/WebSocket API of mlops-debug-env, stateful by episode id.",
        version=OPENAPI_VERSION,
        lifespan=lifespan,
    )

    # Outermost of the app's own middleware: bodies are capped before any route or parser reads them.
    app.add_middleware(BodyLimit, max_body_bytes=config.max_body_bytes, body_timeout_s=config.body_timeout_s)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 as FastAPI answers it, but JSON-safe: FastAPI's own handler answers a body holding 1e999 with 500."""
        return _invalid(plain_errors(exc.errors()))

    def gateway_of(request: Request | WebSocket) -> Gateway:
        return request.app.state.gateway

    # -- environment information --

    @app.get("/health", response_model=HealthResponse, tags=["Health"])
    async def health(request: Request) -> JSONResponse:
        """Healthy when the episode service answers its health check; 503 unhealthy otherwise."""
        if await gateway_of(request).client.healthy():
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "unhealthy"}, status_code=503)

    @app.get("/metadata", response_model=MetadataResponse, tags=["Environment Info"])
    async def get_metadata() -> dict[str, Any]:
        return metadata()

    schemas = {
        "action": MLOpsAction.model_json_schema(),
        "observation": MLOpsObservation.model_json_schema(),
        "state": MLOpsState.model_json_schema(),
    }

    @app.get("/schema", response_model=SchemaResponse, tags=["Schema"])
    async def get_schema() -> dict[str, Any]:
        """JSON schemas of the action, the observation (with its reward and done flag) and the state."""
        return schemas

    # -- HTTP episodes, stateful by episode id --

    @app.post("/reset", response_model=StepResponse, response_model_exclude_unset=True, tags=["Environment Control"])
    async def reset(request: Request, body: ResetRequest | None = Body(default=None)) -> Any:
        """Starts an episode; the returned episode_id addresses it in /step, /state and /close."""
        data = body.model_dump(exclude_none=True) if body is not None else {}
        try:
            gateway = gateway_of(request)
            payload = await gateway.unary_session(gateway.http_caller(request)).reset(data)
        except AuthError as exc:
            return _auth_response(exc)
        except UpstreamError as exc:
            return _upstream_response(exc)
        return _with_episode_id(payload)

    @app.post(
        "/step",
        response_model=StepResponse,
        response_model_exclude_unset=True,
        tags=["Environment Control"],
        responses={404: {"description": "Unknown, closed or expired episode"}, 409: {"description": "Episode ended"}},
    )
    async def step(request: Request, body: StepRequest) -> Any:
        """Applies one action to the episode; an invalid action is 422 with loc relative to the action."""
        gateway = gateway_of(request)
        timeout = min(body.timeout_s, gateway.config.rpc_timeout_s) if body.timeout_s else None
        try:
            session = gateway.unary_session(gateway.http_caller(request), body.episode_id)
            payload = await session.step(body.action, timeout_s=timeout)
        except AuthError as exc:
            return _auth_response(exc)
        except ValidationError as exc:
            return _invalid(validation_errors(exc))
        except UpstreamError as exc:
            return _upstream_response(exc)
        return _with_episode_id(payload)

    @app.get("/state", response_model=MLOpsState, response_model_exclude_unset=True, tags=["State Management"])
    async def state(
        request: Request,
        episode_id: str = Query(min_length=1, max_length=128, description="Id returned by POST /reset"),
    ) -> Any:
        """The episode's state; it never holds the answer while the episode runs."""
        try:
            gateway = gateway_of(request)
            return await gateway.unary_session(gateway.http_caller(request), episode_id).state()
        except AuthError as exc:
            return _auth_response(exc)
        except UpstreamError as exc:
            return _upstream_response(exc)

    @app.post("/close", response_model=MLOpsState, response_model_exclude_unset=True, tags=["Environment Control"])
    async def close(request: Request, body: CloseRequest) -> Any:
        """Ends the episode and frees its slot; returns its final state."""
        try:
            gateway = gateway_of(request)
            return await gateway.unary_session(gateway.http_caller(request), body.episode_id).close_episode()
        except AuthError as exc:
            return _auth_response(exc)
        except UpstreamError as exc:
            return _upstream_response(exc)

    # -- MCP --

    @app.post("/mcp", tags=["MCP"])
    async def mcp_http(request: Request) -> JSONResponse:
        """JSON-RPC 2.0: tools/list, tools/call, openenv/session/create|close. Always HTTP 200."""
        gateway = gateway_of(request)
        try:
            caller = gateway.http_caller(request)
        except AuthError as exc:
            return _auth_response(exc)
        try:
            raw = json.loads(await request.body())
        except ValueError:
            return JSONResponse(mcp.error(None, mcp.PARSE_ERROR, "Parse error"))
        return JSONResponse(await mcp.handle(raw, gateway.mcp_scope(caller), server_version=gateway.version))

    @app.websocket("/mcp")
    async def mcp_ws(websocket: WebSocket) -> None:
        """JSON-RPC 2.0 frames both ways; the connection is one session with its own episode."""
        await _serve_socket(websocket, _mcp_frame)

    @app.websocket("/ws")
    async def openenv_ws(websocket: WebSocket) -> None:
        """The OpenEnv WebSocket protocol: reset/step/state/close (and mcp) frames, answered in order."""
        await _serve_socket(websocket, _openenv_frame)

    async def _serve_socket(websocket: WebSocket, on_frame: Callable[..., Any]) -> None:
        gateway = gateway_of(websocket)
        try:
            caller = ws_caller(websocket.headers, websocket.scope.get("subprotocols") or (), gateway.config.api_keys)
        except AuthError as exc:
            await _refuse_handshake(websocket, exc)
            return
        await websocket.accept(subprotocol=caller.subprotocol)
        if not gateway.try_acquire_ws():
            limit = gateway.config.max_ws_sessions
            with contextlib.suppress(Exception):
                await websocket.send_json(
                    _error_frame(
                        "CAPACITY_REACHED",
                        f"Server at capacity: {limit}/{limit} sessions active. Cannot accept new connections.",
                        active_sessions=limit,
                        max_sessions=limit,
                    )
                )
                await websocket.close(CLOSE_NORMAL)
            return
        session = gateway.stream_session(caller)
        idle = _IdleTimer(gateway.config.session_idle_timeout_s or None)
        try:
            while True:
                idle.waiting()
                try:
                    message = await websocket.receive()
                except asyncio.CancelledError:
                    if not idle.expired_here():
                        raise
                    await websocket.close(CLOSE_NORMAL, reason="idle timeout")
                    return
                idle.busy()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    raw = (message.get("bytes") or b"").decode("utf-8", errors="replace")
                reply, keep_open = await on_frame(raw, session, gateway)
                if reply is not None:
                    await websocket.send_text(reply if isinstance(reply, str) else encode_text(reply))
                if not keep_open:
                    await websocket.close(CLOSE_NORMAL)
                    return
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the client went away mid-exchange (a send on a closed socket raises one of these)
        finally:
            idle.stop()
            gateway.release_ws()
            with contextlib.suppress(Exception):
                await session.aclose()
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(CLOSE_NORMAL)

    return app


class _IdleTimer:
    """Ends a connection's wait for its next frame once the client has been silent for `idle_s`.

    One timer per connection, re-armed only when it fires early, instead of a new `asyncio.timeout`
    (a context object and a timer handle) around every receive. Expiring cancels the connection's task
    inside its receive, as `asyncio.timeout` does; `expired_here` then takes that cancellation back."""

    def __init__(self, idle_s: float | None) -> None:
        self._idle_s = idle_s
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._waiting_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False

    def waiting(self) -> None:
        """The connection now waits for the client's next frame."""
        if self._idle_s is None:
            return
        self._waiting_since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._waiting_since + self._idle_s, self._check)

    def busy(self) -> None:
        """A frame arrived: the silence is over (the timer stays armed and re-arms itself if need be)."""
        self._waiting_since = None

    def _check(self) -> None:
        self._timer = None
        since = self._waiting_since
        if since is None or self._idle_s is None or self._task is None:
            return  # busy with a frame: the next wait arms a new timer
        if self._loop.time() - since < self._idle_s:
            self._timer = self._loop.call_at(since + self._idle_s, self._check)
            return
        self._expired = True
        self._task.cancel()

    def expired_here(self) -> bool:
        """Whether a cancellation is this timer's (and no one else's): then it is taken back."""
        if not self._expired or self._task is None:
            return False
        self._expired = False
        return self._task.uncancel() == 0

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


async def _refuse_handshake(websocket: WebSocket, exc: AuthError) -> None:
    """Answers the upgrade request with HTTP 401 (or 403 where the server cannot send a denial body)."""
    try:
        await websocket.send_denial_response(_auth_response(exc))
    except RuntimeError:
        await websocket.close(code=1008, reason=exc.reason)


async def _mcp_frame(raw: str, session: EpisodeSession, gateway: Gateway) -> tuple[dict[str, Any] | None, bool]:
    try:
        decoded = json.loads(raw)
    except ValueError as exc:
        return mcp.error(None, mcp.PARSE_ERROR, f"Parse error: {exc}"), True
    reply = await mcp.handle(decoded, mcp.ConnectionScope(session), server_version=gateway.version)
    is_notification = (
        isinstance(decoded, dict) and "id" not in decoded and str(decoded.get("method", "")).startswith("notifications/")
    )
    return (None if is_notification else reply), True


async def _openenv_frame(raw: str, session: EpisodeSession, gateway: Gateway) -> tuple[dict[str, Any] | str | None, bool]:
    """Answers one OpenEnv frame: (reply, or its JSON text; keep the connection open)."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _error_frame("INVALID_JSON", f"Invalid JSON: {exc}"), True
    if not isinstance(message, dict):
        return _error_frame("VALIDATION_ERROR", "Invalid message", errors=[
            {"type": "dict_type", "loc": [], "msg": "Input should be a valid dictionary", "input": None}
        ]), True
    kind = message.get("type", "")
    try:
        if kind == "reset":
            return {"type": "observation", "data": await session.reset(WSReset.model_validate(message).data)}, True
        if kind == "step":
            data = message.get("data")
            if len(message) != 2 or type(data) is not dict:  # not a plain {"type", "data": {...}}: pydantic's errors
                data = WSStep.model_validate(message).data
            if mcp.is_mcp_step(data):
                return {"type": "observation", "data": await mcp.step_action(data, mcp.ConnectionScope(session))}, True
            return await session.step_frame(data), True
        if kind == "state":
            WSState.model_validate(message)
            return {"type": "state", "data": await session.state()}, True
        if kind == "close":
            WSClose.model_validate(message)
            return None, False
        if kind == "mcp":
            data = WSMcp.model_validate(message).data
            reply = await mcp.handle(data, mcp.ConnectionScope(session), server_version=gateway.version)
            return {"type": "mcp", "data": reply}, True
    except ValidationError as exc:
        return _error_frame("VALIDATION_ERROR", "Invalid message", errors=validation_errors(exc)), True
    except NoEpisodeError as exc:
        return _error_frame("EXECUTION_ERROR", str(exc)), True
    except UpstreamError as exc:
        code = ws_code(exc, stepping=kind == "step")
        frame = _error_frame(code, exc.message)
        if code == "VALIDATION_ERROR":
            frame["data"]["errors"] = exc.validation_detail()
        return frame, code != "CAPACITY_REACHED"
    except Exception:
        log.exception("unexpected error handling a %s frame", str(kind)[:32])
        return _error_frame("EXECUTION_ERROR", "internal gateway error"), True
    return _error_frame("UNKNOWN_TYPE", f"Unknown message type: {str(kind)[:64]}"), True


def app_from_env() -> FastAPI:
    """The app configured from MLOPSDEBUG_* variables (for `uvicorn --factory mlopsdebug_gateway.app:app_from_env`)."""
    from mlopsdebug_gateway.config import from_env  # noqa: PLC0415

    return create_app(from_env())


_lazy_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """`mlopsdebug_gateway.app:app` (openenv.yaml's `app`) is built on first access, not at import time."""
    global _lazy_app  # noqa: PLW0603
    if name == "app":
        if _lazy_app is None:
            _lazy_app = app_from_env()
        return _lazy_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
