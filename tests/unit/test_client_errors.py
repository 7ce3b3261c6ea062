"""Unit tests of the client's error types and of parsing rich google.rpc.Status details."""

from __future__ import annotations

import pickle

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from mlopsdebug_client import errors
from mlopsdebug_client.errors import StatusCode


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _status(code: int = code_pb2.INVALID_ARGUMENT, message: str = "action.run_sanity_check.check: required"):
    return status_pb2.Status(
        code=code,
        message=message,
        details=[
            _pack(
                error_details_pb2.ErrorInfo(
                    reason="ACTION_INVALID", domain="episode.mlopsdebug", metadata={"episode_id": "ep-1"}
                )
            ),
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="action.run_sanity_check.check", description="required"
                        )
                    ]
                )
            ),
        ],
    )


class FakeCall(grpc.RpcError, grpc.Call):
    """A failed sync call as grpc raises it: code(), details() and trailing metadata tuples."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing=None) -> None:
        self._code, self._details, self._trailing = code, details, trailing

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing

    def initial_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


class TestStatusCode:
    def test_mirrors_grpc_status_codes(self) -> None:
        """Every grpc.StatusCode has a StatusCode of the same name and wire value."""
        for code in grpc.StatusCode:
            assert StatusCode[code.name].value == code.value[0]
        assert len(StatusCode) == len(grpc.StatusCode) == 17

    def test_mirrors_google_rpc_code(self) -> None:
        """StatusCode values equal google.rpc.Code's."""
        for code in StatusCode:
            assert code_pb2.Code.Value(code.name) == code.value

    def test_of_accepts_grpc_codes_numbers_and_junk(self) -> None:
        """StatusCode.of maps grpc codes and numbers; unknown values become UNKNOWN."""
        assert StatusCode.of(grpc.StatusCode.NOT_FOUND) is StatusCode.NOT_FOUND
        assert StatusCode.of(14) is StatusCode.UNAVAILABLE
        assert StatusCode.of(99) is StatusCode.UNKNOWN
        assert StatusCode.of(None) is StatusCode.UNKNOWN


class TestErrorFromStatus:
    def test_parses_error_info_and_field_violations(self) -> None:
        """ErrorInfo and BadRequest details become reason, domain, metadata and field violations."""
        error = errors.error_from_status(_status())
        assert isinstance(error, errors.InvalidArgumentError)
        assert error.code is StatusCode.INVALID_ARGUMENT
        assert error.message == "action.run_sanity_check.check: required"
        assert error.reason == "ACTION_INVALID"
        assert error.domain == "episode.mlopsdebug"
        assert error.metadata == {"episode_id": "ep-1"}
        assert error.field_violations == [errors.FieldViolation("action.run_sanity_check.check", "required")]

    @pytest.mark.parametrize(
        ("code", "cls"),
        [
            (code_pb2.INVALID_ARGUMENT, errors.InvalidArgumentError),
            (code_pb2.NOT_FOUND, errors.NotFoundError),
            (code_pb2.ALREADY_EXISTS, errors.AlreadyExistsError),
            (code_pb2.FAILED_PRECONDITION, errors.FailedPreconditionError),
            (code_pb2.RESOURCE_EXHAUSTED, errors.ResourceExhaustedError),
            (code_pb2.UNAVAILABLE, errors.UnavailableError),
            (code_pb2.INTERNAL, errors.MLOpsDebugError),
            (code_pb2.DEADLINE_EXCEEDED, errors.MLOpsDebugError),
        ],
    )
    def test_subclass_is_chosen_by_code(self, code, cls) -> None:
        """The exception class follows the code; codes without a subclass get the base class."""
        error = errors.error_from_status(status_pb2.Status(code=code, message="m"))
        assert type(error) is cls
        assert isinstance(error, errors.MLOpsDebugError)

    def test_status_without_details_has_empty_fields(self) -> None:
        """No details means empty reason, domain, metadata and violations."""
        error = errors.error_from_status(status_pb2.Status(code=code_pb2.NOT_FOUND, message="gone"))
        assert (error.reason, error.domain, error.metadata, error.field_violations) == ("", "", {}, [])

    def test_precondition_failure_and_retry_info(self) -> None:
        """PreconditionFailure violations and RetryInfo's delay are parsed too."""
        status = status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION,
            message="episode ended",
            details=[
                _pack(
                    error_details_pb2.PreconditionFailure(
                        violations=[
                            error_details_pb2.PreconditionFailure.Violation(
                                type="STATE", subject="episode/ep-1", description="terminated"
                            )
                        ]
                    )
                ),
                _pack(
                    error_details_pb2.RetryInfo(
                        retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000)
                    )
                ),
            ],
        )
        error = errors.error_from_status(status)
        assert error.precondition_violations == [
            errors.PreconditionViolation("STATE", "episode/ep-1", "terminated")
        ]
        assert error.retry_delay_s == pytest.approx(1.5)

    def test_unknown_detail_types_are_ignored(self) -> None:
        """Detail messages the client does not know do not break parsing."""
        status = _status()
        status.details.append(_pack(error_details_pb2.Help(links=[error_details_pb2.Help.Link(url="u")])))
        assert errors.error_from_status(status).reason == "ACTION_INVALID"


class TestErrorFromRpcError:
    def test_parses_the_details_trailer(self) -> None:
        """A failed call's grpc-status-details-bin trailer yields the rich details."""
        status = _status()
        call = FakeCall(
            grpc.StatusCode.INVALID_ARGUMENT,
            status.message,
            (("grpc-status-details-bin", status.SerializeToString()),),
        )
        error = errors.error_from_rpc_error(call)
        assert isinstance(error, errors.InvalidArgumentError)
        assert error.reason == "ACTION_INVALID"
        assert error.field_violations[0].field == "action.run_sanity_check.check"

    def test_aio_rpc_error_with_metadata_object(self) -> None:
        """grpc.aio errors, whose trailers are a Metadata object, are parsed the same way."""
        status = _status(code_pb2.NOT_FOUND, "episode not found")
        status.details[0].Pack(
            error_details_pb2.ErrorInfo(reason="EPISODE_NOT_FOUND", domain="episode.mlopsdebug")
        )
        aio_error = grpc.aio.AioRpcError(
            grpc.StatusCode.NOT_FOUND,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString())),
            details="episode not found",
        )
        error = errors.error_from_rpc_error(aio_error)
        assert isinstance(error, errors.NotFoundError)
        assert error.reason == "EPISODE_NOT_FOUND"
        assert error.message == "episode not found"

    def test_call_without_trailer_keeps_code_and_message(self) -> None:
        """A plain failure (e.g. a dead server) has the code and message and no details."""
        error = errors.error_from_rpc_error(FakeCall(grpc.StatusCode.UNAVAILABLE, "connection refused", ()))
        assert isinstance(error, errors.UnavailableError)
        assert error.message == "connection refused" and error.reason == ""

    def test_mismatched_trailer_keeps_the_calls_code(self) -> None:
        """If a proxy rewrote the status, the call's code wins and the details are still read."""
        status = _status()
        call = FakeCall(
            grpc.StatusCode.UNAVAILABLE,
            "upstream reset",
            (("grpc-status-details-bin", status.SerializeToString()),),
        )
        error = errors.error_from_rpc_error(call)
        assert error.code is StatusCode.UNAVAILABLE
        assert error.message == "upstream reset"
        assert error.reason == "ACTION_INVALID"

    def test_corrupt_trailer_does_not_hide_the_error(self) -> None:
        """Undecodable details are dropped; the code and message survive."""
        call = FakeCall(grpc.StatusCode.INTERNAL, "boom", (("grpc-status-details-bin", b"\xff\xff\xff"),))
        error = errors.error_from_rpc_error(call)
        assert error.code is StatusCode.INTERNAL and error.message == "boom"

    def test_bare_rpc_error(self) -> None:
        """An RpcError that is not a call at all becomes UNKNOWN."""
        error = errors.error_from_rpc_error(grpc.RpcError())
        assert error.code is StatusCode.UNKNOWN
        assert type(error) is errors.MLOpsDebugError

    def test_message_falls_back_to_the_status(self) -> None:
        """An empty call message is filled from the status message."""
        status = _status(code_pb2.NOT_FOUND, "no such episode")
        error = errors.error_from_call_status(
            grpc.StatusCode.NOT_FOUND, None, [("grpc-status-details-bin", status.SerializeToString())]
        )
        assert error.message == "no such episode"


class TestMLOpsDebugError:
    def test_str_names_code_reason_and_violations(self) -> None:
        """str() shows the code, message, reason and violated fields."""
        text = str(errors.error_from_status(_status()))
        assert text.startswith("INVALID_ARGUMENT: action.run_sanity_check.check: required")
        assert "[ACTION_INVALID]" in text and "action.run_sanity_check.check: required)" in text

    def test_pickles_with_its_details(self) -> None:
        """Errors survive pickling (process pools) with class and details intact."""
        error = errors.error_from_status(_status())
        clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
        assert type(clone) is errors.InvalidArgumentError
        assert clone.field_violations == error.field_violations
        assert clone.metadata == error.metadata and clone.code is error.code

    def test_metadata_is_a_copy(self) -> None:
        """Mutating the caller's mapping does not change the error."""
        source = {"k": "v"}
        error = errors.MLOpsDebugError(StatusCode.INTERNAL, "m", metadata=source)
        source["k"] = "changed"
        assert error.metadata == {"k": "v"}
