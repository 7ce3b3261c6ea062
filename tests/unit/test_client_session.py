"""The pipelined async session's failure handling, with a scripted stand-in for the gRPC call."""

from __future__ import annotations

import pytest

from mlopsdebug_client import ClientConfig, MLOpsDebugError, StatusCode
from mlopsdebug_client.episode import AsyncEpisodeSession


class BrokenReadCall:
    """Accepts writes; its read fails with an error no gRPC call raises (a bug in the reader path)."""

    def __init__(self) -> None:
        self.written = []
        self.cancelled = False

    async def write(self, message) -> None:
        self.written.append(message)

    async def read(self):
        raise RuntimeError("unexpected")

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def done(self) -> bool:
        return self.cancelled


class Stub:
    def __init__(self, call) -> None:
        self.call = call

    def Session(self, **_kwargs):  # noqa: N802 - mirrors the generated stub
        return self.call


async def test_an_unexpected_reader_failure_answers_waiting_requests_and_breaks_the_session() -> None:
    """No request waits forever: the reader's failure becomes INTERNAL and the stream is cancelled."""
    call = BrokenReadCall()
    session = AsyncEpisodeSession(Stub(call), ClientConfig(timeout_s=None))
    with pytest.raises(MLOpsDebugError) as info:
        await session.get_state("ep-1")
    assert info.value.code is StatusCode.INTERNAL and info.value.reason == "SESSION_READER"
    assert session.closed and call.cancelled and len(call.written) == 1
    with pytest.raises(MLOpsDebugError):
        await session.get_state("ep-1")
    await session.close()
