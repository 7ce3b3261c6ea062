"""The gateway's configuration: one frozen dataclass, read from environment variables by `from_env()`.

Nothing is read at import time, so tests build a `GatewayConfig` directly and never touch the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

DEFAULT_PORT = 7860
DEFAULT_EPISODE_ADDR = "localhost:50052"


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Where the gateway listens, where the episode service is, and the limits it enforces."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    episode_addr: str = DEFAULT_EPISODE_ADDR
    # Concurrent WebSocket sessions (/ws and /mcp together); the next one gets CAPACITY_REACHED.
    max_ws_sessions: int = 1024
    # Concurrent HTTP MCP sessions (openenv/session/create); idle ones are dropped after the idle timeout.
    max_mcp_sessions: int = 1024
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
        for name in ("max_ws_sessions", "max_mcp_sessions", "max_message_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("rpc_timeout_s", "health_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.session_idle_timeout_s < 0 or self.grace_s < 0:
            raise ValueError("timeouts must not be negative")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("MLOPSDEBUG_GATEWAY_TLS_CERT and MLOPSDEBUG_GATEWAY_TLS_KEY go together")


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "MLOPSDEBUG_GATEWAY_HOST": ("host", str),
    "MLOPSDEBUG_GATEWAY_PORT": ("port", int),
    "MLOPSDEBUG_EPISODE_ADDR": ("episode_addr", str),
    "MLOPSDEBUG_GATEWAY_MAX_SESSIONS": ("max_ws_sessions", int),
    "MLOPSDEBUG_GATEWAY_MAX_MCP_SESSIONS": ("max_mcp_sessions", int),
    "MLOPSDEBUG_GATEWAY_IDLE_TIMEOUT_S": ("session_idle_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_RPC_TIMEOUT_S": ("rpc_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_HEALTH_TIMEOUT_S": ("health_timeout_s", float),
    "MLOPSDEBUG_GATEWAY_DEFAULT_TASK": ("default_task_id", str),
    "MLOPSDEBUG_GATEWAY_MAX_MESSAGE_BYTES": ("max_message_bytes", int),
    "MLOPSDEBUG_GATEWAY_GRACE_S": ("grace_s", float),
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
    try:
        return GatewayConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SystemExit(f"invalid gateway configuration: {exc}") from exc
