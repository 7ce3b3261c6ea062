"""gRPC plumbing shared by the servers: domain errors to statuses (the one place: ServerGuard, the
interceptor every server runs, maps whatever a servicer raises), health, reflection,
graceful shutdown, TLS and peer identities, undecodable requests, and configuration from the environment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import pathlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from mlopsdebug_common.errors import DomainError, InvalidArgument, PermissionDenied

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
    ("grpc.max_reconnect_backoff_ms", 1_000),
)
# Channels to a stateless service (generator, grader): any replica can answer any call, so calls go
# round-robin over every address the target resolves to, the DNS name of a scaled compose service
# (`dns:///generator:50051`) or a list (`ipv4:127.0.0.1:50051,127.0.0.1:50061`); a replica that
# goes down is skipped while others are up. Never for the episode service, which holds episodes.
STATELESS_PEER_OPTIONS: tuple[tuple[str, Any], ...] = (*CHANNEL_OPTIONS, ("grpc.lb_policy_name", "round_robin"))


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
    """A domain error's own status; anything else is a bug: traceback logged, INTERNAL on the wire."""
    if isinstance(exc, DomainError):
        return status_from_error(exc, domain)
    log.error("unexpected error", exc_info=exc)
    return internal_status(domain)


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


# -- TLS: mutual TLS between the services, and TLS on the public edge ----------------------------------

MTLS_DIR_ENV = "MLOPSDEBUG_MTLS_DIR"
# The one identity that generator and grader serve (the common name of its certificate).
EPISODE_IDENTITY = "episode"
# Methods every holder of a certificate from the cluster's CA may call, whatever its identity: health
# checks (launchers, container probes) and reflection (the schema is public anyway).
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _read_file(path: pathlib.Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SystemExit(f"{what} {str(path)!r} cannot be read: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class MutualTls:
    """One identity's certificate and key plus the cluster's CA, read from MLOPSDEBUG_MTLS_DIR's layout
    (ca.crt, <identity>.crt, <identity>.key; see mlopsdebug_common.certs)."""

    identity: str
    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def from_dir(cls, directory: str | os.PathLike[str], identity: str) -> MutualTls:
        root = pathlib.Path(directory)
        return cls(
            identity=identity,
            ca=_read_file(root / "ca.crt", f"{MTLS_DIR_ENV}'s CA certificate"),
            cert=_read_file(root / f"{identity}.crt", f"{MTLS_DIR_ENV}'s {identity} certificate"),
            key=_read_file(root / f"{identity}.key", f"{MTLS_DIR_ENV}'s {identity} key"),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        """Serves with this identity's certificate and accepts only clients with one from the same CA."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Presents this identity's certificate and trusts only servers with one from the same CA."""
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key,
                                            certificate_chain=self.cert)


def mtls_from_env(identity: str) -> MutualTls | None:
    """The identity's credentials when MLOPSDEBUG_MTLS_DIR is set, else None (plaintext)."""
    directory = os.environ.get(MTLS_DIR_ENV, "")
    return MutualTls.from_dir(directory, identity) if directory else None


def edge_tls_from_env(prefix: str) -> grpc.ServerCredentials | None:
    """TLS for a public edge from PREFIX_TLS_CERT and PREFIX_TLS_KEY (PEM files; both or neither)."""
    cert_file = os.environ.get(f"{prefix}_TLS_CERT", "")
    key_file = os.environ.get(f"{prefix}_TLS_KEY", "")
    if not cert_file and not key_file:
        return None
    if not (cert_file and key_file):
        raise SystemExit(f"{prefix}_TLS_CERT and {prefix}_TLS_KEY must be set together")
    cert = _read_file(pathlib.Path(cert_file), f"{prefix}_TLS_CERT")
    key = _read_file(pathlib.Path(key_file), f"{prefix}_TLS_KEY")
    return grpc.ssl_server_credentials([(key, cert)])


def internal_channel(target: str, tls: MutualTls | None, peer_identity: str,
                     options: Iterable[tuple[str, Any]] = STATELESS_PEER_OPTIONS) -> grpc.aio.Channel:
    """A channel to another service: mutual TLS when configured, verifying that the server's
    certificate names `peer_identity` whatever address the target resolves to; else plaintext."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=list(options))
    return grpc.aio.secure_channel(
        target, tls.channel_credentials(), options=[*options, ("grpc.ssl_target_name_override", peer_identity)]
    )


def warn_plaintext(service: str, port: int) -> None:
    log.warning(
        "%s is not set: the %s serves plaintext on port %d and ANY local process (or host that reaches the "
        "port) can call it. Set %s to a directory of cluster certificates (python -m mlopsdebug_common.certs DIR) "
        "so that only the episode service can.",
        MTLS_DIR_ENV, service, port, MTLS_DIR_ENV,
    )


# -- the guard every server runs each call through ----------------------------------------------------


class _Undecodable:
    """Stands for a request whose bytes did not parse as the method's message."""

    __slots__ = ()


UNDECODABLE = _Undecodable()


class RateLimitedLog:
    """At most one log line per `interval_s`, counting the occurrences it did not log."""

    def __init__(
        self, logger: logging.Logger, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log = logger
        self._interval_s = interval_s
        self._clock = clock
        self._next_at = 0.0
        self.suppressed = 0

    def warning(self, message: str, *args: object) -> bool:
        now = self._clock()
        if now < self._next_at:
            self.suppressed += 1
            return False
        if self.suppressed:
            message += f" ({self.suppressed} more since the last report)"
        self._log.warning(message, *args)
        self.suppressed = 0
        self._next_at = now + self._interval_s
        return True


class ServerGuard(grpc.aio.ServerInterceptor):
    """Wraps every method of a server (health and reflection too):

    - whatever the method raises becomes its status: a DomainError its canonical code with ErrorInfo
      (and BadRequest violations), anything else INTERNAL with a generic message, the traceback logged
      (servicers raise domain errors and never translate them themselves);
    - a request whose bytes do not parse as the method's message gets INVALID_ARGUMENT (gRPC itself
      answers UNKNOWN and logs a traceback per request), and at most one log line a minute;
    - when `allowed_peers` is set (mutual TLS), a caller whose certificate names another identity gets
      PERMISSION_DENIED, except on health and reflection (OPEN_METHOD_PREFIXES), which any holder of a
      certificate from the cluster's CA may call. Callers without such a certificate never get past TLS.
    """

    def __init__(self, domain: str, *, allowed_peers: frozenset[str] | None = None) -> None:
        self._domain = domain
        self._allowed = allowed_peers
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        self._undecodable_log = RateLimitedLog(log)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _refusal(self, context: grpc.aio.ServicerContext) -> grpc.Status | None:
        """PERMISSION_DENIED unless the caller's certificate names an allowed identity."""
        assert self._allowed is not None
        names = list(context.auth_context().get("x509_common_name") or [])
        identity = names[0].decode(errors="replace") if len(names) == 1 else ""
        if identity in self._allowed:
            return None
        refused = PermissionDenied(
            f"this service serves only {', '.join(sorted(self._allowed))}, not {identity or 'an unnamed peer'!r}",
            reason="PEER_NOT_ALLOWED",
        )
        return rpc_status.to_status(status_from_error(refused, self._domain))

    async def _refuse_undecodable(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self._undecodable_log.warning("undecodable request to %s from %s refused", method, context.peer())
        undecodable = InvalidArgument("the request is not a valid message of this method", reason="UNDECODABLE_REQUEST")
        await context.abort_with_status(rpc_status.to_status(status_from_error(undecodable, self._domain)))  # pyright: ignore[reportAttributeAccessIssue] - as above

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """The handler with a deserializer that cannot raise, and a behavior that refuses first what it
        must (a peer not allowed; an undecodable request, or stream message) and otherwise runs the
        original. Our servicers' behaviors are all async (coroutines or async generators)."""
        decode = handler.request_deserializer
        guard = self
        check_peer = self._allowed is not None and not method.startswith(OPEN_METHOD_PREFIXES)
        streaming_in = handler.stream_unary is not None or handler.stream_stream is not None
        kind = next(name for name in ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
                    if getattr(handler, name) is not None)
        behavior = getattr(handler, kind)
        must_admit = check_peer or streaming_in

        def tolerant_decode(data: bytes) -> Any:
            try:
                return decode(data) if decode is not None else data
            except Exception:  # noqa: BLE001 - any parse failure is the caller's bad bytes
                return UNDECODABLE

        async def admit(request: Any, context: grpc.aio.ServicerContext) -> Any:
            """The request (or request stream) to hand to the original behavior, or an abort."""
            if check_peer:
                refusal = guard._refusal(context)
                if refusal is not None:
                    await context.abort_with_status(refusal)  # pyright: ignore[reportAttributeAccessIssue] - as above
            if streaming_in:
                return _CheckedRequests(guard, method, context)
            if request is UNDECODABLE:
                await guard._refuse_undecodable(method, context)
            return request

        async def fail(exc: Exception, context: grpc.aio.ServicerContext) -> NoReturn:
            await context.abort_with_status(rpc_status.to_status(status_from_exception(exc, guard._domain)))  # pyright: ignore[reportAttributeAccessIssue] - missing from typeshed's grpc.aio stubs
            raise AssertionError("unreachable") from exc  # abort_with_status raises AbortError

        new_behavior: Callable[..., Any]
        if inspect.isasyncgenfunction(behavior):
            async def streamed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                admitted = await admit(request, context)
                try:
                    async for response in behavior(admitted, context):
                        yield response
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
                    await fail(exc, context)

            new_behavior = streamed
        else:
            async def called(request: Any, context: grpc.aio.ServicerContext) -> Any:
                # A unary request that decoded needs no admission step (one coroutine less per call).
                admitted = await admit(request, context) if must_admit or request is UNDECODABLE else request
                try:
                    return await behavior(admitted, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
                    await fail(exc, context)

            new_behavior = called
        return handler._replace(request_deserializer=tolerant_decode, **{kind: new_behavior})  # pyright: ignore[reportAttributeAccessIssue] - a namedtuple at run time; typeshed's RpcMethodHandler is a plain class


class _CheckedRequests:
    """A stream method's requests, read straight from the call with `context.read()`: an async iterator
    class rather than an async generator around grpc's own request generator (two generator layers, about
    8% of the episode service's time per Session message). An undecodable request aborts the call with
    INVALID_ARGUMENT, as a unary one does."""

    __slots__ = ("_context", "_guard", "_method")

    def __init__(self, guard: ServerGuard, method: str, context: grpc.aio.ServicerContext) -> None:
        self._guard = guard
        self._method = method
        self._context = context

    def __aiter__(self) -> _CheckedRequests:
        return self

    async def __anext__(self) -> Any:
        request = await self._context.read()
        if request is grpc.aio.EOF:  # pyright: ignore[reportAttributeAccessIssue] - missing from typeshed's grpc.aio stubs
            raise StopAsyncIteration
        if request is UNDECODABLE:
            await self._guard._refuse_undecodable(self._method, self._context)  # noqa: SLF001 - the guard's own helper
        return request


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    host: str,
    port: int,
    domain: str,
    credentials: grpc.ServerCredentials | None = None,
    allowed_peers: frozenset[str] | None = None,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Builds and starts a server with health, reflection and the ServerGuard; returns it with its
    bound port. `credentials` serves TLS (else plaintext); `allowed_peers` restricts callers by the
    identity in their client certificate (with mutual TLS credentials)."""
    server = grpc.aio.server(
        options=SERVER_OPTIONS, interceptors=[ServerGuard(domain, allowed_peers=allowed_peers)]
    )
    register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = list(service_names)
    reflection.enable_server_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                         reflection.SERVICE_NAME], server)
    address = f"{host}:{port}"
    bound = server.add_insecure_port(address) if credentials is None else server.add_secure_port(address, credentials)
    if bound == 0:
        raise OSError(f"could not bind {host}:{port}")
    await server.start()
    for name in ["", *names]:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health


async def serve_until_signal(
    server: grpc.aio.Server, health: HealthServicer, *, grace_s: float, on_stop: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Serves until SIGTERM or SIGINT, then drains: reports NOT_SERVING, stops accepting calls, lets the
    in-flight ones finish (for up to grace_s), and only then runs `on_stop` (which closes the channels
    to peers: closed any earlier, it would fail the very calls being drained with UNAVAILABLE)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(server.wait_for_termination())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    await health.enter_graceful_shutdown()
    await server.stop(grace_s)
    if on_stop is not None:
        await on_stop()
    stopper.cancel()
    waiter.cancel()


def configure_logging(service: str) -> None:
    level = os.environ.get("MLOPSDEBUG_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
