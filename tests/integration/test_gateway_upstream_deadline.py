"""The gateway's step deadlines over real gRPC, against an episode service that answers late or never.

A step that waits in the gateway's shared step batcher, or on a connection's own Session stream, fails
with DEADLINE_EXCEEDED when its time is up; a late answer is dropped, and the next step still works.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_gateway.errors import UpstreamError
from mlopsdebug_gateway.upstream import EpisodeClient, StepBatcher, StreamTransport


class SlowSessions(ep_grpc.EpisodeServiceServicer):
    """A Session that answers each request after `delay_s` (one at a time, in order)."""

    def __init__(self) -> None:
        self.delay_s = 0.0

    async def Session(self, requests: AsyncIterator[ep_pb.SessionRequest], context: grpc.aio.ServicerContext):  # noqa: N802
        async for request in requests:
            await asyncio.sleep(self.delay_s)
            if request.WhichOneof("request") == "step_batch":
                results = [  # each answer names its step's episode (in task_id), to tell answers apart
                    ep_pb.StepBatchResult(
                        step=ep_pb.StepResponse(observation=pb.Observation(step_count=1, task_id=step.episode_id))
                    )
                    for step in request.step_batch.steps
                ]
                yield ep_pb.SessionResponse(step_batch=ep_pb.StepBatchResponse(results=results))
            else:
                yield ep_pb.SessionResponse(step=ep_pb.StepResponse(observation=pb.Observation(step_count=1)))


@pytest.fixture
async def slow_service() -> AsyncIterator[tuple[str, SlowSessions]]:
    servicer = SlowSessions()
    server = grpc.aio.server()
    ep_grpc.add_EpisodeServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(grace=None)


def _step(token: str = "client-token-0123456789", episode_id: str = "ep-1") -> ep_pb.StepRequest:
    return ep_pb.StepRequest(episode_id=episode_id, client_token=token, action=pb.Action(read_config=pb.ReadConfig()))


async def test_a_step_cancelled_on_the_idle_stream_leaves_no_answer_for_the_next(slow_service):
    """A step that found the shared stream idle is sent by its caller's task; cancelling that caller
    mid-step drops the stream, so the next step reads its own answer, not the cancelled step's."""
    address, servicer = slow_service
    channel = grpc.aio.insecure_channel(address)
    batcher = StepBatcher(ep_grpc.EpisodeServiceStub(channel), rpc_timeout_s=10.0)
    try:
        servicer.delay_s = 0.3
        cancelled = asyncio.ensure_future(batcher.step(_step(episode_id="ep-cancelled")))
        await asyncio.sleep(0.1)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        servicer.delay_s = 0.0
        await asyncio.sleep(0.4)  # the cancelled step's answer is due by now
        answer = await batcher.step(_step(episode_id="ep-next"), timeout_s=5.0)
        assert answer.observation.task_id == "ep-next"
    finally:
        await batcher.aclose()
        await channel.close()


async def test_a_batched_step_past_its_deadline_fails_and_its_late_answer_is_dropped(slow_service):
    address, servicer = slow_service
    channel = grpc.aio.insecure_channel(address)
    batcher = StepBatcher(ep_grpc.EpisodeServiceStub(channel), rpc_timeout_s=10.0)
    try:
        servicer.delay_s = 0.5
        with pytest.raises(UpstreamError) as info:
            await batcher.step(_step(), timeout_s=0.1)
        assert info.value.code == "DEADLINE_EXCEEDED"
        await asyncio.sleep(0.6)  # the late answer arrives and finds no one waiting
        servicer.delay_s = 0.0
        assert (await batcher.step(_step(), timeout_s=5.0)).observation.step_count == 1
    finally:
        await batcher.aclose()
        await channel.close()


async def test_a_silent_batch_fails_every_step_in_it_and_the_next_batch_opens_a_new_stream(slow_service):
    address, servicer = slow_service
    channel = grpc.aio.insecure_channel(address)
    batcher = StepBatcher(ep_grpc.EpisodeServiceStub(channel), rpc_timeout_s=0.2)
    try:
        servicer.delay_s = 5.0
        outcomes = await asyncio.gather(
            batcher.step(_step("client-token-a-0123456789")),
            batcher.step(_step("client-token-b-0123456789")),
            return_exceptions=True,
        )
        assert [getattr(o, "code", o) for o in outcomes] == ["DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"]
        servicer.delay_s = 0.0
        assert (await batcher.step(_step())).observation.step_count == 1
    finally:
        await batcher.aclose()
        await channel.close()


async def test_a_session_step_past_its_deadline_fails_and_the_stream_is_replaced(slow_service):
    address, servicer = slow_service
    client = EpisodeClient(address, rpc_timeout_s=10.0, health_timeout_s=1.0)
    transport = StreamTransport(client, metadata=(("authorization", "Bearer some-key"),))  # keyed: own stream
    try:
        servicer.delay_s = 0.5
        with pytest.raises(UpstreamError) as info:
            await transport.step(_step(), timeout_s=0.1)
        assert info.value.code == "DEADLINE_EXCEEDED"
        assert transport.generation == 1  # the stream was dropped with its episodes
        servicer.delay_s = 0.0
        assert (await transport.step(_step(), timeout_s=5.0)).observation.step_count == 1
    finally:
        await transport.aclose()
        await client.close()
