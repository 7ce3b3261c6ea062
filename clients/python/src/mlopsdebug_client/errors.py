"""The client's own error types: every failed call raises an `MLOpsDebugError` carrying the canonical
status code and the parsed `google.rpc.Status` details, so callers never handle `grpc.RpcError`.

Errors reach the client two ways: as a failed RPC (the status and its details travel in the
`grpc-status-details-bin` trailer) and in-band on the episode `Session` stream (a
`SessionResponse.error` holding a `google.rpc.Status`). Both become the same exception.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "AlreadyExistsError",
    "EpisodeLostError",
    "FailedPreconditionError",
    "FieldViolation",
    "InvalidArgumentError",
    "MLOpsDebugError",
    "NotFoundError",
    "PreconditionViolation",
    "ResourceExhaustedError",
    "ResponseLostError",
    "StatusCode",
    "UnauthenticatedError",
    "UnavailableError",
    "error_from_call_status",
    "error_from_rpc_error",
    "error_from_status",
    "make_error",
]

_DETAILS_TRAILER = "grpc-status-details-bin"


class StatusCode(enum.IntEnum):
    """The canonical gRPC status codes (google.rpc.Code), with their wire values."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def of(cls, value: int | grpc.StatusCode | None) -> StatusCode:
        """The code for a wire value or a `grpc.StatusCode`; unknown values become UNKNOWN."""
        if isinstance(value, grpc.StatusCode):
            value = value.value[0]
        try:
            return cls(int(value)) if value is not None else cls.UNKNOWN
        except ValueError:
            return cls.UNKNOWN


@dataclasses.dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad request field (google.rpc.BadRequest.FieldViolation), e.g. `action.run_sanity_check.check`."""

    field: str
    description: str


@dataclasses.dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One failed precondition (google.rpc.PreconditionFailure.Violation)."""

    type: str
    subject: str
    description: str


class MLOpsDebugError(Exception):
    """A failed call: the canonical code, the server's message, and the parsed rich details.

    `reason`, `domain` and `metadata` come from the status's `google.rpc.ErrorInfo` (empty when the
    server sent none); `field_violations` from `google.rpc.BadRequest`; `precondition_violations`
    from `google.rpc.PreconditionFailure`; `retry_delay_s` from `google.rpc.RetryInfo`.
    """

    code: StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    field_violations: list[FieldViolation]
    precondition_violations: list[PreconditionViolation]
    retry_delay_s: float | None

    def __init__(
        self,
        code: StatusCode | int,
        message: str,
        *,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
        precondition_violations: Iterable[PreconditionViolation] = (),
        retry_delay_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = StatusCode.of(code)
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations)
        self.precondition_violations = list(precondition_violations)
        self.retry_delay_s = retry_delay_s

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}" if self.message else self.code.name
        if self.reason:
            text += f" [{self.reason}]"
        if self.field_violations:
            text += " (" + "; ".join(f"{v.field}: {v.description}" for v in self.field_violations) + ")"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, message={self.message!r}, reason={self.reason!r}, "
            f"domain={self.domain!r}, metadata={self.metadata!r}, field_violations={self.field_violations!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with keyword-only arguments do not pickle by default; errors cross process pools.
        return (_rebuild_error, (type(self), self.code, self.message, self._keywords()))

    def _keywords(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "domain": self.domain,
            "metadata": self.metadata,
            "field_violations": self.field_violations,
            "precondition_violations": self.precondition_violations,
            "retry_delay_s": self.retry_delay_s,
        }


def _rebuild_error(
    cls: type[MLOpsDebugError], code: StatusCode, message: str, keywords: dict[str, Any]
) -> MLOpsDebugError:
    return cls(code, message, **keywords)


class InvalidArgumentError(MLOpsDebugError):
    """The request was malformed (INVALID_ARGUMENT); `field_violations` name the bad fields."""


class NotFoundError(MLOpsDebugError):
    """The episode is unknown, closed or expired (NOT_FOUND)."""


class AlreadyExistsError(MLOpsDebugError):
    """The caller-chosen episode id is in use (ALREADY_EXISTS)."""


class FailedPreconditionError(MLOpsDebugError):
    """The call is not allowed in the current state, e.g. an action after the episode ended."""


class ResourceExhaustedError(MLOpsDebugError):
    """The service is at capacity (RESOURCE_EXHAUSTED); close episodes or retry later."""


class UnauthenticatedError(MLOpsDebugError):
    """The service requires an API key and the call carried none, or an invalid one (UNAUTHENTICATED)."""


class UnavailableError(MLOpsDebugError):
    """The service or one of its peers cannot be reached (UNAVAILABLE); the call changed nothing."""


class EpisodeLostError(NotFoundError):
    """NOT_FOUND for an episode a session knew alive before its stream broke and was reopened: the
    episode went with the service process that held it (a restart without a shared store).
    Play it again from a new reset; `metadata["episode_id"]` names it."""


class ResponseLostError(MLOpsDebugError):
    """A request reached a Session stream that then broke before its answer, and sending it again
    could apply it twice (code ABORTED: retry at a higher level, e.g. replay the episode).

    The session asked the episode's state after reopening the stream: `applied` is True when the
    step was applied (its observation is lost; the step count moved on, and a submission's grade is
    in the episode's state), None when nothing can tell (the session did not know the episode's
    step count before the request). Steps known not to have been applied are re-sent instead.
    """

    @property
    def applied(self) -> bool | None:
        """True when the request was applied; None when unknown."""
        return True if self.metadata.get("applied") == "true" else None


_ERROR_CLASSES: dict[StatusCode, type[MLOpsDebugError]] = {
    StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    StatusCode.NOT_FOUND: NotFoundError,
    StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    StatusCode.UNAVAILABLE: UnavailableError,
    StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


def make_error(code: StatusCode | int, message: str, **keywords: Any) -> MLOpsDebugError:
    """An error of the subclass that matches `code` (the base class for codes without one)."""
    status_code = StatusCode.of(code)
    return _ERROR_CLASSES.get(status_code, MLOpsDebugError)(status_code, message, **keywords)


def _details_keywords(details: Iterable[any_pb2.Any]) -> dict[str, Any]:
    """Unpacks the standard detail messages we understand; others are ignored."""
    reason, domain = "", ""
    metadata: dict[str, str] = {}
    field_violations: list[FieldViolation] = []
    precondition_violations: list[PreconditionViolation] = []
    retry_delay_s: float | None = None
    for detail in details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - types-protobuf: DESCRIPTOR's union is not the Descriptor Is() takes
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if not reason:  # the first ErrorInfo is the primary one
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - as above
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field_violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - as above
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            precondition_violations.extend(
                PreconditionViolation(v.type, v.subject, v.description) for v in failure.violations
            )
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):  # pyright: ignore[reportArgumentType] - as above
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_delay_s = retry.retry_delay.ToTimedelta().total_seconds()
    return {
        "reason": reason,
        "domain": domain,
        "metadata": metadata,
        "field_violations": field_violations,
        "precondition_violations": precondition_violations,
        "retry_delay_s": retry_delay_s,
    }


def error_from_status(status: status_pb2.Status) -> MLOpsDebugError:
    """The error a `google.rpc.Status` describes (e.g. an in-band `SessionResponse.error`)."""
    return make_error(status.code, status.message, **_details_keywords(status.details))


def _trailer_status(trailing_metadata: Any) -> status_pb2.Status | None:
    """The Status packed in the `grpc-status-details-bin` trailer, if any (sync tuples or aio Metadata)."""
    if not trailing_metadata:
        return None
    for key, value in trailing_metadata:
        if key == _DETAILS_TRAILER:
            try:
                return status_pb2.Status.FromString(value)
            except Exception:  # noqa: BLE001 - a corrupt trailer must not hide the real error
                return None
    return None


def _call_attr(error: Any, name: str) -> Any:
    method = getattr(error, name, None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:  # noqa: BLE001 - a half-built call object must not hide the real error
        return None


def error_from_rpc_error(error: grpc.RpcError) -> MLOpsDebugError:
    """The error a failed call raised, with rich details from its trailing metadata.

    Works for sync `grpc.RpcError` calls and `grpc.aio.AioRpcError` alike: both expose `code()`,
    `details()` and `trailing_metadata()`. The call's own code and message are authoritative; the
    details come from `grpc_status.rpc_status.from_call` or, when the trailer disagrees with the
    call (a proxy rewrote the status), straight from the trailer.
    """
    code = _call_attr(error, "code")
    message = _call_attr(error, "details")
    status: status_pb2.Status | None
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - mismatch or an object that is not a full grpc.Call
        status = _trailer_status(_call_attr(error, "trailing_metadata"))
    return _error_from_call_parts(code, message, status)


def error_from_call_status(
    code: grpc.StatusCode | int | None, details: str | None, trailing_metadata: Any
) -> MLOpsDebugError:
    """The error for a finished call's status parts (e.g. the awaited `code()`, `details()` and
    `trailing_metadata()` of a grpc.aio streaming call)."""
    return _error_from_call_parts(code, details, _trailer_status(trailing_metadata))


def _error_from_call_parts(
    code: grpc.StatusCode | int | None, message: str | None, status: status_pb2.Status | None
) -> MLOpsDebugError:
    keywords = _details_keywords(status.details) if status is not None else {}
    text = message or (status.message if status is not None else "")
    return make_error(StatusCode.of(code), text, **keywords)
