"""Domain errors shared by every service core. Each maps to exactly one canonical status code.

Every core raises these and only these for bad input or state (no ValueError subclasses of its own);
the one server interceptor in `mlopsdebug_common.rpc` (ServerGuard) turns them into gRPC statuses with
rich details for every service, and the gateway into HTTP statuses. Anything else is a bug: INTERNAL.
Messages are written for the caller and never name the fault.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str  # dotted path of the offending request field, e.g. "action.query_artifact.field_path"
    description: str


class DomainError(Exception):
    """Base of all expected errors. `code` is the canonical gRPC status code name."""

    code: ClassVar[str] = "UNKNOWN"
    default_reason: ClassVar[str] = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        violations: tuple[FieldViolation, ...] | list[FieldViolation] = (),
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.violations = tuple(violations)
        self.metadata = dict(metadata or {})


class InvalidArgument(DomainError):
    code = "INVALID_ARGUMENT"
    default_reason = "INVALID_ARGUMENT"

    @classmethod
    def for_field(cls, field: str, description: str, *, reason: str = "INVALID_ARGUMENT") -> InvalidArgument:
        return cls(f"{field}: {description}", reason=reason, violations=[FieldViolation(field, description)])


class InvalidAnswerKey(InvalidArgument):
    """A sealed answer key that cannot be opened or does not decode to a valid key (field `answer_key`)."""

    default_reason = "ANSWER_KEY_INVALID"

    def __init__(self, description: str) -> None:
        super().__init__(f"answer_key: {description}", violations=[FieldViolation("answer_key", description)])


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    code = "FAILED_PRECONDITION"
    default_reason = "FAILED_PRECONDITION"


class Aborted(DomainError):
    """A concurrent call changed the same thing first (a lost compare-and-set); nothing was applied."""

    code = "ABORTED"
    default_reason = "ABORTED"


class ResourceExhausted(DomainError):
    code = "RESOURCE_EXHAUSTED"
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    code = "UNAVAILABLE"
    default_reason = "UNAVAILABLE"


class PermissionDenied(DomainError):
    """The caller is known to lack the right to this call (e.g. a wrong operator token)."""

    code = "PERMISSION_DENIED"
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    default_reason = "UNAUTHENTICATED"
