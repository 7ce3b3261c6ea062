"""Connection settings shared by every client."""

from __future__ import annotations

import dataclasses
import os
import random
import secrets
from typing import Any, Final

__all__ = ["EPISODE_TARGET", "GENERATOR_TARGET", "GRADER_TARGET", "TLS_CA_ENV", "ClientConfig"]

GENERATOR_TARGET: Final[str] = "localhost:50051"
EPISODE_TARGET: Final[str] = "localhost:50052"
GRADER_TARGET: Final[str] = "localhost:50053"
# A CA file (PEM) that, when set and the config names none, makes every client connect with TLS.
TLS_CA_ENV: Final[str] = "MLOPSDEBUG_TLS_CA"


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """How a client connects and how patient it is.

    Attributes:
        target: gRPC target, "host:port" (or any gRPC name such as "dns:///episode:50052"). None
            means the client's own default: EPISODE_TARGET (localhost:50052) for the episode
            clients, GENERATOR_TARGET (:50051) and GRADER_TARGET (:50053) for the others, so one
            config can serve every client.
        timeout_s: Deadline of each unary call in seconds, retries included; per request on a
            Session stream. None waits forever.
        max_retries: Extra attempts after UNAVAILABLE, only for calls that are safe to repeat
            (ListTasks, GetState, GenerateScenario, Grade). Reset, Step and CloseEpisode are never
            retried: a lost response may have changed the episode.
        retry_initial_backoff_s: Wait before the first retry; doubles on each further retry.
        retry_max_backoff_s: Upper bound of a single wait between retries.
        reconnect_s: How long a Session request keeps reopening its broken stream (the service
            restarted, a connection dropped) before it raises, within its own `timeout_s`: waits
            grow from `retry_initial_backoff_s` to `retry_max_backoff_s`, with jitter. 0 turns
            reconnecting off (the request then raises at once; the next one still reopens).
        wait_for_ready: Queue calls until the channel connects instead of failing fast with
            UNAVAILABLE (useful while a cluster starts).
        options: Extra gRPC channel options, e.g. (("grpc.max_receive_message_length", 8 << 20),).
        tls_ca_file: A PEM file of the CA that signed the server's certificate: connect with TLS and
            trust only that CA. None: $MLOPSDEBUG_TLS_CA if set, else plaintext (unless a client
            certificate is given, which means TLS with the system's CAs).
        tls_cert_file, tls_key_file: This client's certificate and key (PEM files), for servers that
            require one (mutual TLS: generator and grader serve only the episode identity's).
        tls_server_name: The name to expect in the server's certificate when it differs from the
            target's host (e.g. "generator" when dialling an IP address).
        api_key: The key a service with API keys requires (sent as `authorization: Bearer <key>`);
            None sends none. Episodes then belong to the key's principal.
        client_token: Sent as `x-mlopsdebug-client-token`. Without API keys, episodes belong to the
            client token that created them, so a client keeps reaching its episodes when its
            connection is replaced. None (the default) draws a random one per config; clients
            built from one config share it. Keep it secret: it is what owns the episodes.
    """

    target: str | None = None
    timeout_s: float | None = 30.0
    max_retries: int = 3
    retry_initial_backoff_s: float = 0.1
    retry_max_backoff_s: float = 2.0
    reconnect_s: float = 30.0
    wait_for_ready: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_server_name: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)
    client_token: str | None = dataclasses.field(default=None, repr=False)
    # The two values above as gRPC metadata, built once: every call and stream sends it.
    call_metadata: tuple[tuple[str, str], ...] = dataclasses.field(init=False, repr=False, compare=False)

    @property
    def uses_tls(self) -> bool:
        """Whether the channel is TLS (a CA file or a client certificate is set)."""
        return bool(self.tls_ca_file or self.tls_cert_file)

    def __post_init__(self) -> None:
        if self.target is not None and not self.target:
            raise ValueError("target must not be empty (use None for the client's default)")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive or None, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.retry_initial_backoff_s < 0 or self.retry_max_backoff_s < 0:
            raise ValueError("retry backoffs must be >= 0")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together (a client certificate and its key)")
        if self.reconnect_s < 0:
            raise ValueError(f"reconnect_s must be >= 0, got {self.reconnect_s}")
        # Accept any iterable of pairs (a list from a settings file) but store a hashable tuple.
        object.__setattr__(self, "options", tuple((str(k), v) for k, v in self.options))
        if self.api_key is not None and (not self.api_key or any(c.isspace() for c in self.api_key)):
            raise ValueError("api_key must be non-empty and contain no whitespace")
        if self.client_token is None:
            object.__setattr__(self, "client_token", secrets.token_urlsafe(24))
        elif not 1 <= len(self.client_token) <= 256 or not self.client_token.isprintable():
            raise ValueError("client_token must be 1 to 256 printable characters")
        metadata = [("x-mlopsdebug-client-token", self.client_token)]
        if self.api_key is not None:
            metadata.insert(0, ("authorization", f"Bearer {self.api_key}"))
        object.__setattr__(self, "call_metadata", tuple(metadata))

    def backoff_s(self, retry: int) -> float:
        """Wait before retry number `retry` (0-based): exponential, capped, without jitter."""
        return min(self.retry_max_backoff_s, self.retry_initial_backoff_s * 2.0**retry)

    def reconnect_backoff_s(self, attempt: int) -> float:
        """Wait before reopening a stream for the `attempt`-th time (0-based): half of `backoff_s`
        fixed, half drawn at random, so that many sessions broken at once do not return in step."""
        cap = self.backoff_s(attempt)
        return cap / 2 + random.uniform(0.0, cap / 2)  # noqa: S311 - jitter, not a secret


def resolve_config(target: str | None, config: ClientConfig | None, default_target: str) -> ClientConfig:
    """The config a client runs with, target always set: `target`, else `config.target`, else the default;
    the CA file from $MLOPSDEBUG_TLS_CA when the config names none."""
    base = config if config is not None else ClientConfig()
    ca_file = base.tls_ca_file or os.environ.get(TLS_CA_ENV) or None
    return dataclasses.replace(base, target=target or base.target or default_target, tls_ca_file=ca_file)
