"""Typed clients of the grader service (mlopsdebug.grader.v1.GraderService).

Orchestration-facing: grading needs a scenario's sealed answer key, which agents never hold.
Build the diagnosis with `mlopsdebug_client.actions.build_diagnosis`. Whether a grade reveals the
answer is the grader's own setting (MLOPSDEBUG_REVEAL_ANSWERS on the grader), never the caller's.
Under mutual TLS the grader serves only the episode service's identity: pass its certificate in
`ClientConfig(tls_cert_file=..., tls_key_file=..., tls_ca_file=...)`.
"""

from __future__ import annotations

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.grader.v1 import grader_service_pb2 as pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as pb_grpc

from ._transport import AsyncChannelClient, ChannelClient, acall_unary, call_unary
from .config import GRADER_TARGET

__all__ = ["AsyncGraderClient", "GraderClient"]


def _grade_request(answer_key: common_pb2.SealedAnswerKey, diagnosis: common_pb2.Diagnosis) -> pb.GradeRequest:
    return pb.GradeRequest(answer_key=answer_key, diagnosis=diagnosis)


class GraderClient(ChannelClient):
    """Sync client of the grader. Grading is deterministic and stateless, so it retries on UNAVAILABLE.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens a channel to `target` (default localhost:50053; TLS as the config says) and `close()` closes it.
    """

    _default_target = GRADER_TARGET
    _stub_type = pb_grpc.GraderServiceStub
    _stub: pb_grpc.GraderServiceStub

    def grade(
        self,
        answer_key: common_pb2.SealedAnswerKey,
        diagnosis: common_pb2.Diagnosis,
        *,
        timeout_s: float | None = None,
    ) -> pb.GradeResponse:
        """The grade of `diagnosis` against the sealed key; INVALID_ARGUMENT for a bad key or long field."""
        response: pb.GradeResponse = call_unary(
            self.config,
            self._stub.Grade,
            _grade_request(answer_key, diagnosis),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response


class AsyncGraderClient(AsyncChannelClient):
    """grpc.aio client of the grader; create it inside the event loop that uses it."""

    _default_target = GRADER_TARGET
    _stub_type = pb_grpc.GraderServiceStub
    _stub: pb_grpc.GraderServiceStub

    async def grade(
        self,
        answer_key: common_pb2.SealedAnswerKey,
        diagnosis: common_pb2.Diagnosis,
        *,
        timeout_s: float | None = None,
    ) -> pb.GradeResponse:
        """The grade of `diagnosis` against the sealed key; INVALID_ARGUMENT for a bad key or long field."""
        response: pb.GradeResponse = await acall_unary(
            self.config,
            self._stub.Grade,
            _grade_request(answer_key, diagnosis),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response
