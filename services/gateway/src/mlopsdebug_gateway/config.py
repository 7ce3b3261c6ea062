"""The gateway's configuration: one frozen dataclass, read from environment variables by `from_env()`.

Nothing is read at import time, so tests build a `GatewayConfig` directly and never touch the environment.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping

from mlopsdebug_common.principals import ApiKeys, keys_from_env

DEFAULT_PORT = 7860
DEFAULT_EPISODE_ADDR = "localhost:50052"


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Where the gateway listens, where the episode service is, and the limits it enforces."""

    host: str = "0.0.0.0"  # noqa: S104 - the gateway is the public edge (a container's port 7860)
    port: int = DEFAULT_PORT
    episode_addr: str = DEFAULT_EPISODE_ADDR
    # Concurrent WebSocket sessions (/ws and /mcp together); the next one gets CAPACITY_REACHED.
    max_ws_sessions: int = 1024
    # Concurrent HTTP MCP sessions (openenv/session/create); idle ones are dropped after the idle timeout.
    max_mcp_sessions: int = 1024
    # ... of which one principal (or anonymous client token, or IP address) may hold this many.
    max_mcp_sessions_per_principal: int = 32
    # API keys (MLOPSDEBUG_API_KEYS_FILE): None lets the episode service alone decide (see auth.py).
    api_keys: ApiKeys | None = dataclasses.field(default=None, repr=False)
    # Keys the scope of anonymous HTTP callers per IP address; set the same one on every gateway replica
    # (MLOPSDEBUG_GATEWAY_SCOPE_SECRET) so that their episodes are reachable through any of them.
    scope_secret: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # A WebSocket or MCP session silent this long is closed; 0 disables the limit.
    session_idle_timeout_s: float = 1800.0
    # Deadline of one call to the episode service (a submission includes grading).
    rpc_timeout_s: float = 30.0
    # Deadline of the health probe behind GET /health.
    health_timeout_s: float = 1.0
    # Task used when a reset names none (OpenEnv clients often call reset() without arguments).
    default_task_id: str = "easy"
    # Largest accepted WebSocket frame, bytes; observations are tens of KiB.
    max_message_bytes: int = 1 << 20
    # Largest accepted HTTP request body, bytes; a larger one is refused (413) before it is read.
    max_body_bytes: int = 1 << 20
    # Most bytes of a still-incomplete request line plus headers that h11 buffers; past it, 400.
    max_header_bytes: int = 16 << 10
    # A request's line and headers must arrive within this many seconds of the connection opening or of
    # the previous response (slow-header clients are cut off); 0 disables the limit.
    header_timeout_s: float = 10.0
    # A request body must arrive within this many seconds of its headers (408 otherwise); 0 disables it.
    body_timeout_s: float = 30.0
    # An idle kept-alive HTTP connection is closed after this many seconds (uvicorn's timeout_keep_alive).
    keep_alive_timeout_s: float = 5.0
    # Open HTTP connections plus requests in progress beyond which requests get 503; 0 means no limit.
    max_connections: int = 4096
    # Seconds uvicorn waits for open connections when asked to stop.
    grace_s: float = 5.0
    log_level: str = "info"
    # TLS on the gateway's own port (PEM files; both or neither): uvicorn then serves https and wss.
    tls_cert: str = ""
    tls_key: str = ""
    # The CA that signed the episode service's certificate when it serves TLS (empty: plaintext to it).
    episode_tls_ca: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} outside [0, 65535]")
        for name in (
            "max_ws_sessions", "max_mcp_sessions", "max_mcp_sessions_per_principal", "max_message_bytes",
            "max_body_bytes", "max_header_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("rpc_timeout_s", "health_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("session_idle_timeout_s", "grace_s", "header_timeout_s", "body_timeout_s", "max_connections"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.keep_alive_timeout_s <= 0:
            raise ValueError("keep_alive_timeout_s must be positive")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("MLOPSDEBUG_GATEWAY_TLS_CERT and MLOPSDEBUG_GATEWAY_TLS_KEY go together")


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "MLOPSDEBUG_GATEWAY_HOST": ("host", str),
    "MLOPSDEBUG_GATEWAY_PORT": ("port", int),
    "MLOPSDEBUG_EPISODE_ADDR": ("episode_addr", str),
    "MLOPSDEBUG_GATEWAY_MAX_SESSIONS": ("max_ws_sessions", int),
    "MLOPSDEBUG_GATEWAY_MAX_MCP_SESSIONS": ("max_mcp_sessions", int),
    "MLOPSDEBUG_GATEWAY_MAX_MCP_SESSIONS_PER_PRINCIPAL": ("max_mcp_sessions_per_principal", int),
    "MLOPSDEBUG_GATEWAY_IDLE_TIMEOUT_S": ("session_idle_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_RPC_TIMEOUT_S": ("rpc_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_HEALTH_TIMEOUT_S": ("health_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_DEFAULT_TASK": ("default_task_id", str),
    "MLOPSDEBUG_GATEWAY_MAX_MESSAGE_BYTES": ("max_message_bytes", int),
    "MLOPSDEBUG_GATEWAY_GRACE_S": ("grace_s", float),
    "MLOPSDEBUG_GATEWAY_MAX_BODY_BYTES": ("max_body_bytes", int),
    "MLOPSDEBUG_GATEWAY_MAX_HEADER_BYTES": ("max_header_bytes", int),
    "MLOPSDEBUG_GATEWAY_HEADER_TIMEOUT_S": ("header_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_BODY_TIMEOUT_S": ("body_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_KEEP_ALIVE_S": ("keep_alive_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_MAX_CONNECTIONS": ("max_connections", int),
    "MLOPSDEBUG_LOG_LEVEL": ("log_level", str),
    "MLOPSDEBUG_GATEWAY_TLS_CERT": ("tls_cert", str),
    "MLOPSDEBUG_GATEWAY_TLS_KEY": ("tls_key", str),
    "MLOPSDEBUG_TLS_CA": ("episode_tls_ca", str),
}


def from_env(environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Builds the configuration from MLOPSDEBUG_* variables; unset or empty ones keep their defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for variable, (field, kind) in _ENV_FIELDS.items():
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            values[field] = kind(raw)
        except ValueError as exc:
            raise SystemExit(f"{variable} must be {kind.__name__}, got {raw!r}") from exc
    if "log_level" in values:
        values["log_level"] = str(values["log_level"]).lower()
    values["api_keys"] = keys_from_env(env)
    scope_secret = env.get("MLOPSDEBUG_GATEWAY_SCOPE_SECRET", "").strip()
    if scope_secret:
        values["scope_secret"] = scope_secret.encode()
    try:
        return GatewayConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SystemExit(f"invalid gateway configuration: {exc}") from exc
