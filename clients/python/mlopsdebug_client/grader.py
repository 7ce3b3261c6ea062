"""Typed clients of the grader service (mlopsdebug.grader.v1.GraderService).

Orchestration-facing: grading needs a scenario's sealed answer key, which agents never hold.
Build the diagnosis with `mlopsdebug_client.actions.build_diagnosis`.
"""

from __future__ import annotations

from types import TracebackType

import grpc

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.grader.v1 import grader_service_pb2 as pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as pb_grpc

from ._transport import acall_unary, call_unary, open_aio_channel, open_channel
from .config import GRADER_TARGET, ClientConfig, resolve_config

__all__ = ["AsyncGraderClient", "GraderClient"]


def _grade_request(
    answer_key: common_pb2.SealedAnswerKey, diagnosis: common_pb2.Diagnosis, reveal_answer: bool
) -> pb.GradeRequest:
    return pb.GradeRequest(answer_key=answer_key, diagnosis=diagnosis, reveal_answer=reveal_answer)


class GraderClient:
    """Sync client of the grader. Grading is deterministic and stateless, so it retries on UNAVAILABLE.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens an insecure channel to `target` (default localhost:50053) and `close()` closes it.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, GRADER_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_channel(self.config)
        self._stub = pb_grpc.GraderServiceStub(self._channel)

    def grade(
        self,
        answer_key: common_pb2.SealedAnswerKey,
        diagnosis: common_pb2.Diagnosis,
        reveal_answer: bool = False,
        *,
        timeout_s: float | None = None,
    ) -> pb.GradeResponse:
        """The grade of `diagnosis` against the sealed key; INVALID_ARGUMENT for a bad key or long field."""
        response: pb.GradeResponse = call_unary(
            self.config,
            self._stub.Grade,
            _grade_request(answer_key, diagnosis, reveal_answer),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def close(self) -> None:
        """Closes the channel if the client opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> GraderClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncGraderClient:
    """grpc.aio client of the grader; create it inside the event loop that uses it."""

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, GRADER_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_aio_channel(self.config)
        self._stub = pb_grpc.GraderServiceStub(self._channel)

    async def grade(
        self,
        answer_key: common_pb2.SealedAnswerKey,
        diagnosis: common_pb2.Diagnosis,
        reveal_answer: bool = False,
        *,
        timeout_s: float | None = None,
    ) -> pb.GradeResponse:
        """The grade of `diagnosis` against the sealed key; INVALID_ARGUMENT for a bad key or long field."""
        response: pb.GradeResponse = await acall_unary(
            self.config,
            self._stub.Grade,
            _grade_request(answer_key, diagnosis, reveal_answer),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    async def close(self) -> None:
        """Closes the channel if the client opened it."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> AsyncGraderClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
