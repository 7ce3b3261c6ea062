"""gRPC plumbing shared by the servers: domain errors to statuses (the one place), health, reflection,
graceful shutdown, and configuration from environment variables.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from mlopsdebug_common.errors import DomainError

log = logging.getLogger("mlopsdebug.rpc")

# Message size caps: scenarios are a few tens of KiB; anything near these limits is abuse.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVER_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    # Peers ping idle connections every 30 s (CHANNEL_OPTIONS). A server by default counts pings less
    # than 5 min apart as abuse and, after two, closes the connection with GOAWAY "too_many_pings":
    # every idle internal channel would drop once a minute. Accept one every 10 s instead.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.so_reuseport", 0),
)
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Fail fast on a dead peer so callers see UNAVAILABLE promptly and can retry.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)
# Channels to a stateless service (generator, grader): any replica can answer any call, so calls go
# round-robin over every address the target resolves to, the DNS name of a scaled compose service
# (`dns:///generator:50051`) or a list (`ipv4:127.0.0.1:50051,127.0.0.1:50061`); a replica that
# goes down is skipped while others are up. Never for the episode service, which holds episodes.
STATELESS_PEER_OPTIONS: tuple[tuple[str, Any], ...] = (*CHANNEL_OPTIONS, ("grpc.lb_policy_name", "round_robin"))

T = TypeVar("T")


def status_from_error(err: DomainError, domain: str) -> status_pb2.Status:
    """The google.rpc.Status for a domain error: canonical code, ErrorInfo, and BadRequest violations."""
    details = []
    info = error_details_pb2.ErrorInfo(reason=err.reason, domain=domain, metadata=err.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    if err.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in err.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    return status_pb2.Status(code=code_pb2.Code.Value(err.code), message=err.message, details=details)


def internal_status(domain: str) -> status_pb2.Status:
    """A generic INTERNAL status: the traceback stays in the server log, never on the wire."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=domain))
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error", details=[info])


def status_from_exception(exc: BaseException, domain: str) -> status_pb2.Status:
    if isinstance(exc, DomainError):
        return status_from_error(exc, domain)
    log.exception("unexpected error", exc_info=exc)
    return internal_status(domain)


async def abort(context: grpc.aio.ServicerContext, exc: BaseException, domain: str) -> None:
    """Ends the call with the status of `exc` (for stream handlers, which `guard` does not wrap)."""
    await context.abort_with_status(rpc_status.to_status(status_from_exception(exc, domain)))


def guard(domain: str) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Wraps an async unary servicer method: domain errors become statuses, anything else INTERNAL."""

    def decorate(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(method)
        async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
            try:
                return await method(self, request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
                await abort(context, exc, domain)
                raise AssertionError("unreachable") from exc

        return wrapper

    return decorate


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SystemExit(f"{name} must be a boolean (true/false), got {raw!r}")


def secret_from_env(name: str = "MLOPSDEBUG_ANSWER_KEY_SECRET") -> bytes:
    """The answer-key secret (hex or text), from NAME or from the file named by NAME_FILE (compose secrets).

    Required: a service that seals or opens keys cannot guess it.
    """
    raw = os.environ.get(name, "")
    path = os.environ.get(f"{name}_FILE", "")
    if not raw and path:
        try:
            with open(path, encoding="utf-8") as handle:
                raw = handle.read().strip()
        except OSError as exc:
            raise SystemExit(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    if not raw:
        raise SystemExit(f"{name} (or {name}_FILE) is not set; generator and grader need the same answer-key secret")
    try:
        return bytes.fromhex(raw)
    except ValueError:
        return raw.encode()


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    host: str,
    port: int,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Builds and starts a server with health and reflection; returns it with its bound port."""
    server = grpc.aio.server(options=SERVER_OPTIONS)
    register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = list(service_names)
    reflection.enable_server_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                         reflection.SERVICE_NAME], server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {host}:{port}")
    await server.start()
    for name in ["", *names]:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health


async def serve_until_signal(
    server: grpc.aio.Server, health: HealthServicer, *, grace_s: float, on_stop: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Serves until SIGTERM or SIGINT, then reports NOT_SERVING and drains in-flight calls for grace_s."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(server.wait_for_termination())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    await health.enter_graceful_shutdown()
    if on_stop is not None:
        await on_stop()
    await server.stop(grace_s)
    stopper.cancel()
    waiter.cancel()


def configure_logging(service: str) -> None:
    level = os.environ.get("MLOPSDEBUG_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
