"""Unary call plumbing shared by the clients: deadlines, retries of safe calls, and error conversion."""

from __future__ import annotations

import asyncio
import re
import time
from types import TracebackType
from typing import Any, ClassVar, Final, Self, TypeVar

import grpc

from .config import ClientConfig, resolve_config
from .errors import MLOpsDebugError, StatusCode, error_from_rpc_error

R = TypeVar("R")


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _retry_wait(
    config: ClientConfig, error: MLOpsDebugError, attempt: int, deadline: float | None
) -> float | None:
    """How long to wait before retrying, or None when the error must be raised now."""
    if error.code != StatusCode.UNAVAILABLE or attempt >= config.max_retries:
        return None
    wait = error.retry_delay_s if error.retry_delay_s is not None else config.backoff_s(attempt)
    if deadline is not None and time.monotonic() + wait >= deadline:
        return None
    return wait


def _deadline(config: ClientConfig, timeout_s: float | None) -> float | None:
    budget = timeout_s if timeout_s is not None else config.timeout_s
    return None if budget is None else time.monotonic() + budget


# The request header by which a proxy in front of several episode servers (Envoy, ring hash) sends
# every call naming one episode to the same server: the episode id. Routing only, never trusted.
EPISODE_HEADER: Final[str] = "x-episode-id"
# Ids the service accepts; any other cannot be routed (nor is it a legal header value, e.g. a control
# character), goes without the header, and the service answers INVALID_ARGUMENT.
_ROUTABLE_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def call_metadata(config: ClientConfig, episode_id: str = "") -> tuple[tuple[str, str], ...]:
    """The config's metadata, plus the routing header when the call names a (well-formed) episode id."""
    if not _ROUTABLE_ID.fullmatch(episode_id):
        return tuple(config.call_metadata)
    return (*config.call_metadata, (EPISODE_HEADER, episode_id))


def call_unary(
    config: ClientConfig,
    method: Any,
    request: Any,
    *,
    idempotent: bool,
    timeout_s: float | None = None,
    episode_id: str = "",
) -> Any:
    """Calls a sync unary method; converts failures to MLOpsDebugError and retries safe calls on UNAVAILABLE.

    `timeout_s` overrides the config's deadline for this call; the deadline covers all attempts.
    `episode_id` (the episode the call names) goes out as the `x-episode-id` routing header.
    """
    metadata = call_metadata(config, episode_id)
    deadline = _deadline(config, timeout_s)
    attempt = 0
    while True:
        try:
            return method(
                request,
                timeout=_remaining(deadline),
                wait_for_ready=config.wait_for_ready,
                metadata=metadata,
            )
        except grpc.RpcError as err:
            error = error_from_rpc_error(err)
            wait = _retry_wait(config, error, attempt, deadline) if idempotent else None
            if wait is None:
                raise error from err
        time.sleep(wait)
        attempt += 1


async def acall_unary(
    config: ClientConfig,
    method: Any,
    request: Any,
    *,
    idempotent: bool,
    timeout_s: float | None = None,
    episode_id: str = "",
) -> Any:
    """The grpc.aio counterpart of `call_unary`."""
    metadata = call_metadata(config, episode_id)
    deadline = _deadline(config, timeout_s)
    attempt = 0
    while True:
        try:
            return await method(
                request,
                timeout=_remaining(deadline),
                wait_for_ready=config.wait_for_ready,
                metadata=metadata,
            )
        except grpc.RpcError as err:
            error = error_from_rpc_error(err)
            wait = _retry_wait(config, error, attempt, deadline) if idempotent else None
            if wait is None:
                raise error from err
        await asyncio.sleep(wait)
        attempt += 1


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"{what} {path!r} cannot be read: {exc}") from exc


def channel_credentials(config: ClientConfig) -> grpc.ChannelCredentials | None:
    """TLS credentials from the config's files, or None for plaintext."""
    if not config.uses_tls:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(config.tls_ca_file, "tls_ca_file") if config.tls_ca_file else None,
        private_key=_read(config.tls_key_file, "tls_key_file") if config.tls_key_file else None,
        certificate_chain=_read(config.tls_cert_file, "tls_cert_file") if config.tls_cert_file else None,
    )


# Session call metadata: the service then leaves the stream's episodes open when the stream ends
# (the session closes them itself), so that a session can resume them on a new stream after a break.
RESUMABLE_SESSION: Final[tuple[str, str]] = ("mlopsdebug-session-resumable", "1")


def session_call_options(config: ClientConfig, episode_id: str = "") -> dict[str, Any]:
    """Keyword arguments of every Session call a session opens (the one place for per-call options).

    A stream is routed once, when it opens: a session reopening after a break names its latest episode
    (`episode_id`), so a proxy hashing on it sends the new stream where that episode's unary calls go.
    A fresh stream names none and may land on any server."""
    return {"wait_for_ready": config.wait_for_ready, "metadata": (*call_metadata(config, episode_id), RESUMABLE_SESSION)}


# gRPC's own reconnect backoff grows to 120 s by default: after a long outage a channel could sit out
# most of a session's `reconnect_s` after the service came back. Unless the config sets it.
_MAX_RECONNECT_BACKOFF: Final[tuple[str, int]] = ("grpc.max_reconnect_backoff_ms", 5000)


def channel_options(config: ClientConfig) -> list[tuple[str, Any]]:
    """The config's channel options, with the client's default reconnect backoff cap unless they set one,
    and the server name to expect in a TLS certificate when the config names one."""
    options = list(config.options)
    if all(name != _MAX_RECONNECT_BACKOFF[0] for name, _ in options):
        options.append(_MAX_RECONNECT_BACKOFF)
    if config.uses_tls and config.tls_server_name:
        options.append(("grpc.ssl_target_name_override", config.tls_server_name))
    return options


def open_channel(config: ClientConfig) -> grpc.Channel:
    """A sync channel to `config.target` with the config's options: TLS when the config asks for it."""
    assert config.target is not None  # resolved by the client
    credentials = channel_credentials(config)
    if credentials is None:
        return grpc.insecure_channel(config.target, options=channel_options(config))
    return grpc.secure_channel(config.target, credentials, options=channel_options(config))


def open_aio_channel(config: ClientConfig) -> grpc.aio.Channel:
    """A grpc.aio channel to `config.target` with the config's options: TLS when the config asks for it."""
    assert config.target is not None  # resolved by the client
    credentials = channel_credentials(config)
    if credentials is None:
        return grpc.aio.insecure_channel(config.target, options=channel_options(config))
    return grpc.aio.secure_channel(config.target, credentials, options=channel_options(config))


class ChannelClient:
    """What every sync client shares: its resolved config, a channel it opens or is given, the stub,
    and closing. Pass `channel` to share one you manage (the client then never closes it)."""

    _default_target: ClassVar[str]
    _stub_type: ClassVar[Any]

    def __init__(
        self, target: str | None = None, *, config: ClientConfig | None = None, channel: grpc.Channel | None = None
    ) -> None:
        self.config = resolve_config(target, config, self._default_target)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_channel(self.config)
        self._stub = self._stub_type(self._channel)

    def close(self) -> None:
        """Closes the channel if the client opened it (sessions opened on it end with it)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncChannelClient:
    """`ChannelClient` for grpc.aio; create it inside the event loop that uses it."""

    _default_target: ClassVar[str]
    _stub_type: ClassVar[Any]

    def __init__(
        self, target: str | None = None, *, config: ClientConfig | None = None, channel: grpc.aio.Channel | None = None
    ) -> None:
        self.config = resolve_config(target, config, self._default_target)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_aio_channel(self.config)
        self._stub = self._stub_type(self._channel)

    async def close(self) -> None:
        """Closes the channel if the client opened it (sessions opened on it end with it)."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
