"""The generator's configuration: one frozen dataclass, read from environment variables by `from_env()`."""

from __future__ import annotations

import dataclasses

from mlopsdebug_common import rpc

NO_SALT = (
    "MLOPSDEBUG_SALT is not set: without a secret salt anyone with the public code computes every"
    " (task, seed)'s answer offline. Set MLOPSDEBUG_SALT=$(openssl rand -hex 16) (the same for every"
    " generator replica), or MLOPSDEBUG_SALT_PUBLIC=true for a public, reproducible deployment."
)
PUBLIC_WARNING = (
    "PUBLIC DEPLOYMENT: no salt, so every answer is computable offline from the public code; fine for"
    " reproducible training and demos, never for an evaluation that must not be gamed"
)


def salt_from_env() -> bytes:
    """The deployment salt: MLOPSDEBUG_SALT, or empty only when MLOPSDEBUG_SALT_PUBLIC=true says so.

    A generator never runs unsalted by accident: with neither set it refuses to start.
    """
    salt = rpc.env_str("MLOPSDEBUG_SALT", "")
    public = rpc.env_bool("MLOPSDEBUG_SALT_PUBLIC", False)
    if salt and public:
        raise SystemExit("MLOPSDEBUG_SALT and MLOPSDEBUG_SALT_PUBLIC=true contradict each other: choose one")
    if not salt and not public:
        raise SystemExit(NO_SALT)
    return salt.encode()


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorConfig:
    secret: bytes
    salt: bytes = b""  # empty: a public deployment (logged as a WARNING); from_env never defaults to it
    host: str = "[::]"
    port: int = 50051
    grace_s: float = 5.0
    # Mutual TLS (MLOPSDEBUG_MTLS_DIR): then only the episode service's identity may call; None: plaintext.
    mtls: rpc.MutualTls | None = None

    @classmethod
    def from_env(cls) -> GeneratorConfig:
        return cls(
            secret=rpc.secret_from_env(),
            salt=salt_from_env(),
            host=rpc.env_str("MLOPSDEBUG_GENERATOR_HOST", "[::]"),
            port=rpc.env_int("MLOPSDEBUG_GENERATOR_PORT", 50051),
            grace_s=rpc.env_float("MLOPSDEBUG_GRACE_S", 5.0),
            mtls=rpc.mtls_from_env("generator"),
        )
