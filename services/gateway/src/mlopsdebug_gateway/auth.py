"""Who a gateway request comes from, and what the gateway forwards for it to the episode service.

The gateway forwards credentials rather than vouching for anyone: the episode service decides every
owner itself, so nothing the gateway sends can name a principal its caller does not hold a key for.
For each request or WebSocket connection the gateway sends upstream:
- the caller's API key, as `authorization: Bearer <key>`, when the caller presented one (HTTP
  `Authorization` header, or for browsers, which cannot set WebSocket headers, the subprotocol
  `mlopsdebug.bearer.<key>`). With keys on upstream, the key's principal owns the episodes;
- a client token (`x-mlopsdebug-client-token`), which owns the episodes when keys are off:
  a WebSocket connection gets a fresh random one, so its episodes are its own; an HTTP caller's
  own `X-MLOpsDebug-Client-Token` header is forwarded as is; an HTTP caller with neither key nor
  token gets one derived from its IP address with a gateway secret (all anonymous HTTP callers at
  one address share a scope, and a direct caller of the episode service cannot compute it).
With `MLOPSDEBUG_API_KEYS_FILE` set on the gateway too, it refuses missing or invalid keys itself
(HTTP 401, and a WebSocket handshake answered 401) and knows principals by name for its limits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.principals import (
    AUTHORIZATION,
    CLIENT_TOKEN,
    ApiKeys,
    bearer_token,
    digest,
    validate_client_token,
)

WS_BEARER_PREFIX: Final = "mlopsdebug.bearer."


class AuthError(Exception):
    """A request the gateway refuses before calling upstream: HTTP 401 (or 422 for a malformed token)."""

    def __init__(self, message: str, *, status: int = 401, reason: str = "UNAUTHENTICATED") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason

    def http_body(self) -> dict[str, str]:
        code = "UNAUTHENTICATED" if self.status == 401 else "INVALID_ARGUMENT"
        return {"detail": self.message, "code": code, "reason": self.reason}


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    """The credentials forwarded upstream for one HTTP request or WebSocket connection.

    `limit_key` names the caller for the gateway's own per-principal limits (MCP sessions) and owns
    the HTTP MCP sessions it opens: the principal when known, else a digest of its key or token,
    else its IP address.
    """

    metadata: tuple[tuple[str, str], ...]
    limit_key: str
    subprotocol: str | None = None  # the WebSocket subprotocol to accept, when the key came in one


def _short(secret: str) -> str:
    return digest(secret).hex()[:32]


def _authenticate(key: str | None, keys: ApiKeys | None) -> str | None:
    """The key's principal; raises AuthError when the gateway has keys and the key is missing or wrong."""
    if keys is None:
        return None
    principal = keys.principal(key) if key else None
    if principal is None:
        problem = "an invalid API key" if key else "no API key"
        raise AuthError(
            f"this gateway requires an API key (Authorization: Bearer <key>); the request carried {problem}",
            reason="API_KEY_INVALID" if key else "API_KEY_MISSING",
        )
    return principal


def _keyed(key: str, principal: str | None, subprotocol: str | None = None) -> Caller:
    # The token that goes with a key is derived from it, so a service without keys still scopes
    # the key holder's episodes to the key, the same on every connection.
    metadata = ((AUTHORIZATION, f"Bearer {key}"), (CLIENT_TOKEN, "key-" + _short(key)))
    limit_key = f"key:{principal}" if principal else "bearer:" + _short(key)
    return Caller(metadata, limit_key, subprotocol)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value else None


def _bearer_key(headers: Mapping[str, str], keys: ApiKeys | None) -> str | None:
    """The key of an `Authorization: Bearer` header. Another scheme (a proxy's Basic credentials) is
    not ours: ignored when the gateway has no keys, refused when it requires them."""
    authorization = _header(headers, "authorization")
    key = bearer_token(authorization) if authorization else None
    if authorization and key is None and keys is not None:
        raise AuthError("Authorization must be 'Bearer <key>'", reason="API_KEY_INVALID")
    return key


def http_caller(headers: Mapping[str, str], client_host: str, keys: ApiKeys | None, scope_secret: bytes) -> Caller:
    """The caller of one HTTP request (headers: a case-insensitive mapping, as Starlette's)."""
    key = _bearer_key(headers, keys)
    principal = _authenticate(key, keys)
    if key is not None:
        return _keyed(key, principal)
    token = _header(headers, CLIENT_TOKEN)
    if token is not None:
        try:
            validate_client_token(token)
        except InvalidArgument as exc:
            raise AuthError(exc.message, status=422, reason="INVALID_CLIENT_TOKEN") from None
        return Caller(((CLIENT_TOKEN, token),), "token:" + _short(token))
    derived = hmac.new(scope_secret, f"http-ip:{client_host}".encode(), hashlib.sha256).hexdigest()[:32]
    return Caller(((CLIENT_TOKEN, "http-" + derived),), f"ip:{client_host}")


def ws_caller(headers: Mapping[str, str], subprotocols: Iterable[str], keys: ApiKeys | None) -> Caller:
    """The caller of one WebSocket connection: its key (header or subprotocol), else a fresh token."""
    key = _bearer_key(headers, keys)
    subprotocol = None
    if key is None:
        for offered in subprotocols:
            if offered.startswith(WS_BEARER_PREFIX) and len(offered) > len(WS_BEARER_PREFIX):
                key, subprotocol = offered[len(WS_BEARER_PREFIX):], offered
                break
    principal = _authenticate(key, keys)
    if key is not None:
        return _keyed(key, principal, subprotocol)
    token = secrets.token_urlsafe(24)
    return Caller(((CLIENT_TOKEN, token),), "ws:" + _short(token))
