"""API keys and callers: who a call comes from, and so which episodes it may reach.

Keys are optional. An operator lists them in a file (`MLOPSDEBUG_API_KEYS_FILE`), one per line:

    # key (or sha256:<hex of its SHA-256>)   principal
    sha256:3b1f...e9   alice
    k-8Jd0...          bob

Only SHA-256 digests are kept in memory; a presented key is hashed and its digest compared in
constant time. With keys configured, every call must carry one (`authorization: Bearer <key>`);
without keys, a caller is anonymous and identified by the client token it sends
(`x-mlopsdebug-client-token`, a random secret its client library draws) or, lacking one, by its
connection. `python -m mlopsdebug_common.principals new NAME` prints a fresh key and its file line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from typing import Final

from mlopsdebug_common.errors import InvalidArgument, Unauthenticated

AUTHORIZATION: Final = "authorization"
CLIENT_TOKEN: Final = "x-mlopsdebug-client-token"  # noqa: S105 - a metadata key's name, not a secret
# The downstream client's address (ip:port), set by Envoy in front of episode replicas; trusted only when
# the replica is told so (MLOPSDEBUG_TRUST_PROXY_PEER), since any direct caller could send it.
PROXY_PEER: Final = "x-mlopsdebug-peer"
KEYS_FILE_ENV: Final = "MLOPSDEBUG_API_KEYS_FILE"
PRINCIPAL_PATTERN: Final = r"^[A-Za-z0-9._@-]{1,64}$"
CLIENT_TOKEN_MAX_CHARS: Final = 256
_PRINCIPAL = re.compile(PRINCIPAL_PATTERN)
_DIGEST = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeys:
    """Key digests -> principal names. A lookup hashes the presented key and compares it with every digest."""

    by_digest: Mapping[bytes, str]

    @classmethod
    def parse(cls, text: str, *, source: str = "API keys") -> ApiKeys:
        """Parses the keys file format; raises ValueError naming the line of any malformed entry."""
        entries: dict[bytes, str] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{source} line {number}: expected '<key or sha256:hex> <principal>'")
            key, principal = parts
            if not _PRINCIPAL.match(principal):
                raise ValueError(f"{source} line {number}: principal must match {PRINCIPAL_PATTERN}")
            match = _DIGEST.match(key)
            key_digest = bytes.fromhex(match.group(1)) if match else digest(key)
            if not match and len(key) < 16:
                raise ValueError(f"{source} line {number}: a key needs at least 16 characters")
            if key_digest in entries:
                raise ValueError(f"{source} line {number}: the same key is listed twice")
            entries[key_digest] = principal
        if not entries:
            raise ValueError(f"{source} lists no keys")
        return cls(entries)

    @classmethod
    def from_file(cls, path: str) -> ApiKeys:
        with open(path, encoding="utf-8") as handle:
            return cls.parse(handle.read(), source=path)

    def principal(self, key: str) -> str | None:
        """The principal a key belongs to, or None."""
        presented = digest(key)
        found = None
        # Every digest is compared, without an early exit, so timing does not tell which one matched.
        for known, principal in self.by_digest.items():
            if hmac.compare_digest(presented, known):
                found = principal
        return found

    @property
    def principals(self) -> frozenset[str]:
        return frozenset(self.by_digest.values())


def keys_from_env(environ: Mapping[str, str] | None = None) -> ApiKeys | None:
    """The keys named by MLOPSDEBUG_API_KEYS_FILE, or None when it is unset (keys off)."""
    env = os.environ if environ is None else environ
    path = env.get(KEYS_FILE_ENV, "").strip()
    if not path:
        return None
    try:
        return ApiKeys.from_file(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{KEYS_FILE_ENV}={path!r}: {exc}") from exc


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None when it has another shape."""
    match = _BEARER.match(header)
    return match.group(1) if match else None


def validate_client_token(token: str) -> str:
    if not 1 <= len(token) <= CLIENT_TOKEN_MAX_CHARS or not token.isprintable():
        raise InvalidArgument.for_field(
            CLIENT_TOKEN, f"1 to {CLIENT_TOKEN_MAX_CHARS} printable characters", reason="INVALID_CLIENT_TOKEN"
        )
    return token


def owner_of_call(
    metadata: Iterable[tuple[str, str | bytes]], peer: str, keys: ApiKeys | None, *, trust_proxy_peer: bool = False
) -> str:
    """The owner scope of a call: `key:<principal>`, `token:<digest>` or `peer:<address>`.

    With keys configured, a valid key is required (else Unauthenticated) and names the owner; a client
    token is then irrelevant. Without keys, the client token (hashed, so that scopes never show the
    secret) names the owner, else the connection's peer address. An authorization header sent to a
    service without keys is ignored. `trust_proxy_peer`: the peer is the proxy's (Envoy's), shared by
    every client it multiplexes onto one connection, so the client's address comes from the proxy's
    PROXY_PEER header instead (the proxy overwrites it, so a client cannot choose it; a call without it
    did not come through the proxy and keeps its connection's peer).
    """
    authorization = token = forwarded = None
    for name, value in metadata:
        if name == AUTHORIZATION and authorization is None:
            authorization = value if isinstance(value, str) else value.decode("latin-1")
        elif name == CLIENT_TOKEN and token is None:
            token = value if isinstance(value, str) else value.decode("latin-1")
        elif name == PROXY_PEER and forwarded is None and trust_proxy_peer:
            forwarded = value if isinstance(value, str) else value.decode("latin-1")
    if keys is not None:
        key = bearer_token(authorization) if authorization else None
        principal = keys.principal(key) if key else None
        if principal is None:
            problem = "an invalid API key" if authorization else "no API key"
            raise Unauthenticated(
                f"this service requires an API key ('authorization: Bearer <key>'); the call carried {problem}",
                reason="API_KEY_INVALID" if authorization else "API_KEY_MISSING",
            )
        return "key:" + principal
    if token is not None:
        return token_owner(token)
    return "peer:" + (forwarded or peer)


def token_owner(token: str) -> str:
    """The owner scope of a client token (hashed, so that scopes never show the secret)."""
    return "token:" + digest(validate_client_token(token)).hex()[:32]


def new_key() -> str:
    """A fresh API key: 32 random bytes, URL-safe (valid in headers and WebSocket subprotocols)."""
    return "mdk_" + secrets.token_urlsafe(32)


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "new" and _PRINCIPAL.match(argv[1]):
        key = new_key()
        print(f"key (give to {argv[1]}):  {key}")
        print(f"keys-file line:          sha256:{digest(key).hex()} {argv[1]}")
        return 0
    print("usage: python -m mlopsdebug_common.principals new PRINCIPAL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
