"""Errors of the episode service as the gateway reports them: one mapping, used by HTTP, WebSocket and MCP.

gRPC status -> HTTP: INVALID_ARGUMENT 422, UNAUTHENTICATED 401, NOT_FOUND 404, FAILED_PRECONDITION 409, ALREADY_EXISTS 409,
RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, anything else 502 (the gateway itself
did not fail, its upstream did). On a WebSocket, RESOURCE_EXHAUSTED is CAPACITY_REACHED, an invalid
action is VALIDATION_ERROR, and everything else is EXECUTION_ERROR with the connection left open.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2

_STATUS_DETAILS_KEY = "grpc-status-details-bin"

HTTP_STATUS: Final[dict[str, int]] = {
    "INVALID_ARGUMENT": 422,
    "OUT_OF_RANGE": 422,
    "NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "FAILED_PRECONDITION": 409,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "CANCELLED": 503,
}

# Proto field names of an action that the seed's JSON spells differently.
_SEED_FIELD_NAMES: Final[dict[str, str]] = {"artifact": "artifact_name", "check": "sanity_check_type"}


@dataclasses.dataclass(eq=False)
class UpstreamError(Exception):
    """A failed call to the episode service: canonical code name, message, and any field violations."""

    code: str
    message: str
    reason: str = ""
    violations: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 502)

    def validation_detail(self) -> list[dict[str, Any]]:
        """Field violations as pydantic-style errors whose loc names the seed's field."""
        if not self.violations:
            return [{"type": "value_error", "loc": [], "msg": self.message, "input": None}]
        return [
            {"type": "value_error", "loc": [seed_field_name(field)], "msg": description, "input": None}
            for field, description in self.violations
        ]

    def http_body(self) -> dict[str, Any]:
        if self.code in ("INVALID_ARGUMENT", "OUT_OF_RANGE"):
            return {"detail": self.validation_detail()}
        body: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.reason:
            body["reason"] = self.reason
        return body


def seed_field_name(proto_field: str) -> str:
    """'action.query_artifact.artifact' -> 'artifact_name': the name an OpenEnv caller sent."""
    last = proto_field.rsplit(".", 1)[-1]
    return _SEED_FIELD_NAMES.get(last, last)


def from_status(status: status_pb2.Status) -> UpstreamError:
    """An in-band error of the Session stream (a google.rpc.Status)."""
    reason = ""
    violations: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - types-protobuf: DESCRIPTOR's union is not the Descriptor Is() takes
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - as above
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend((v.field, v.description) for v in bad.field_violations)
    code = code_pb2.Code.Name(status.code) if status.code in code_pb2.Code.values() else "UNKNOWN"
    return UpstreamError(code, status.message or code.lower(), reason, tuple(violations))


def from_rpc_error(error: grpc.RpcError) -> UpstreamError:
    """A failed unary call or a broken stream, with rich details when the server sent them."""
    code_obj = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    code = code_obj.name if isinstance(code_obj, grpc.StatusCode) else "UNKNOWN"
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():  # pyright: ignore[reportGeneralTypeIssues] - typeshed's _Metadatum is a tuple at run time
        if key == _STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            parsed = from_status(status)
            return UpstreamError(code, parsed.message, parsed.reason, parsed.violations)
    details = error.details() if hasattr(error, "details") else None
    if code == "UNAVAILABLE":
        return UpstreamError(code, "the episode service is unavailable; retry shortly")
    if code == "DEADLINE_EXCEEDED":
        return UpstreamError(code, "the episode service did not answer in time")
    return UpstreamError(code, details or code.lower())


def ws_code(error: UpstreamError, *, stepping: bool) -> str:
    """The OpenEnv WebSocket error code for an upstream failure."""
    if error.code == "RESOURCE_EXHAUSTED":
        return "CAPACITY_REACHED"
    if error.code == "UNAUTHENTICATED":
        return "UNAUTHENTICATED"
    if stepping and error.code == "INVALID_ARGUMENT":
        return "VALIDATION_ERROR"
    return "EXECUTION_ERROR"
