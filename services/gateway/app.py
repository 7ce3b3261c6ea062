"""The OpenEnv-compatible HTTP and WebSocket surface, forwarding every call to the episode service.

Routes: GET /health, /metadata, /schema, /state; POST /reset, /step, /close, /mcp; WebSocket /ws and /mcp.
HTTP episodes are addressed by the episode id that POST /reset returns, so any number of HTTP clients
play at once. Each WebSocket connection is one OpenEnv session backed by one episode-service Session
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
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from mlopsdebug_gateway import mcp
from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.errors import UpstreamError, ws_code
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
    validation_errors,
)
from mlopsdebug_gateway.session import EpisodeSession, NoEpisodeError
from mlopsdebug_gateway.upstream import EpisodeClient, StreamTransport, UnaryTransport

log = logging.getLogger("mlopsdebug.gateway")

OPENAPI_VERSION = "1.0.0"  # openenv validate maps 1.x to the openenv-http/1.x profile
CLOSE_NORMAL = 1000


# -- WebSocket envelopes, as strict as OpenEnv's (extra keys are a VALIDATION_ERROR) --


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
            self.unary_session,
            max_sessions=config.max_mcp_sessions,
            idle_timeout_s=config.session_idle_timeout_s,
        )
        self.mcp_scope = mcp.HttpScope(self.mcp_sessions, self.unary_session)
        self.version = package_version()

    def unary_session(self, episode_id: str | None = None) -> EpisodeSession:
        return EpisodeSession(
            UnaryTransport(self.client), default_task_id=self.config.default_task_id, episode_id=episode_id
        )

    def stream_session(self) -> EpisodeSession:
        return EpisodeSession(StreamTransport(self.client), default_task_id=self.config.default_task_id)

    def try_acquire_ws(self) -> bool:
        if self.active_ws >= self.config.max_ws_sessions:
            return False
        self.active_ws += 1
        return True

    def release_ws(self) -> None:
        self.active_ws -= 1


def _upstream_response(exc: UpstreamError) -> JSONResponse:
    return JSONResponse(exc.http_body(), status_code=exc.http_status)


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
        session = gateway_of(request).unary_session()
        data = body.model_dump(exclude_none=True) if body is not None else {}
        try:
            payload = await session.reset(data)
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
        session = gateway.unary_session(body.episode_id)
        timeout = min(body.timeout_s, gateway.config.rpc_timeout_s) if body.timeout_s else None
        try:
            payload = await session.step(body.action, timeout_s=timeout)
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
        session = gateway_of(request).unary_session(episode_id)
        try:
            return await session.state()
        except UpstreamError as exc:
            return _upstream_response(exc)

    @app.post("/close", response_model=MLOpsState, response_model_exclude_unset=True, tags=["Environment Control"])
    async def close(request: Request, body: CloseRequest) -> Any:
        """Ends the episode and frees its slot; returns its final state."""
        session = gateway_of(request).unary_session(body.episode_id)
        try:
            return await session.close_episode()
        except UpstreamError as exc:
            return _upstream_response(exc)

    # -- MCP --

    @app.post("/mcp", tags=["MCP"])
    async def mcp_http(request: Request) -> JSONResponse:
        """JSON-RPC 2.0: tools/list, tools/call, openenv/session/create|close. Always HTTP 200."""
        gateway = gateway_of(request)
        try:
            raw = json.loads(await request.body())
        except ValueError:
            return JSONResponse(mcp.error(None, mcp.PARSE_ERROR, "Parse error"))
        return JSONResponse(await mcp.handle(raw, gateway.mcp_scope, server_version=gateway.version))

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
        await websocket.accept()
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
        session = gateway.stream_session()
        idle = gateway.config.session_idle_timeout_s or None
        try:
            while True:
                try:
                    # A deadline on this task: asyncio.wait_for would wrap every receive in a new task.
                    async with asyncio.timeout(idle):
                        message = await websocket.receive()
                except TimeoutError:
                    await websocket.close(CLOSE_NORMAL, reason="idle timeout")
                    return
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    raw = (message.get("bytes") or b"").decode("utf-8", errors="replace")
                reply, keep_open = await on_frame(raw, session, gateway)
                if reply is not None:
                    # orjson: several times faster than json.dumps on observations, the bulk of a reply.
                    await websocket.send_text(orjson.dumps(reply).decode())
                if not keep_open:
                    await websocket.close(CLOSE_NORMAL)
                    return
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the client went away mid-exchange (a send on a closed socket raises one of these)
        finally:
            gateway.release_ws()
            with contextlib.suppress(Exception):
                await session.aclose()
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(CLOSE_NORMAL)

    return app


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


async def _openenv_frame(raw: str, session: EpisodeSession, gateway: Gateway) -> tuple[dict[str, Any] | None, bool]:
    """Answers one OpenEnv frame: (reply, keep the connection open)."""
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
            data = WSStep.model_validate(message).data
            if mcp.is_mcp_step(data):
                return {"type": "observation", "data": await mcp.step_action(data, mcp.ConnectionScope(session))}, True
            return {"type": "observation", "data": await session.step(data)}, True
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
    except Exception:  # noqa: BLE001 - a gateway bug must not take the connection down
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
