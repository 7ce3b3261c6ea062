"""The gateway's side of the episode service: one shared gRPC channel, unary calls, and Session streams.

Two transports carry reset, step, get_state and close, each with its caller's credentials as
metadata (see auth.py), so that the episode service applies its ownership rules to every call:
- `StreamTransport`: one bidirectional `Session` stream, for one WebSocket connection (lowest latency;
  the episode service closes the stream's episodes when it ends);
- `UnaryTransport`: plain unary calls with explicit episode ids, for HTTP routes and HTTP MCP sessions.
Steps of different callers are not combined into one StepBatch: a batch carries one owner's
credentials, and each connection's episodes belong to that connection or principal.
All raise `UpstreamError` and never leak a `grpc.RpcError` to the routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_common.rpc import CHANNEL_OPTIONS
from mlopsdebug_gateway.errors import UpstreamError, from_rpc_error, from_status

log = logging.getLogger("mlopsdebug.gateway")
Metadata = tuple[tuple[str, str], ...]


class EpisodeClient:
    """The channel to the episode service, created inside the serving event loop."""

    def __init__(self, addr: str, *, rpc_timeout_s: float, health_timeout_s: float) -> None:
        self.addr = addr
        self.rpc_timeout_s = rpc_timeout_s
        self.health_timeout_s = health_timeout_s
        self._channel = grpc.aio.insecure_channel(addr, options=CHANNEL_OPTIONS)
        self.stub = ep_grpc.EpisodeServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def healthy(self) -> bool:
        """True when the episode service answers its health check with SERVING."""
        try:
            response = await self._health.Check(health_pb2.HealthCheckRequest(), timeout=self.health_timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                return False
            try:
                await self.stub.ListTasks(ep_pb.ListTasksRequest(), timeout=self.health_timeout_s)
            except grpc.aio.AioRpcError:
                return False
            return True
        return response.status == health_pb2.HealthCheckResponse.SERVING

    async def list_tasks(self, metadata: Metadata = ()) -> ep_pb.ListTasksResponse:
        try:
            return await self.stub.ListTasks(ep_pb.ListTasksRequest(), timeout=self.rpc_timeout_s, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None


class Transport(Protocol):
    """Carries reset/step/get_state/close to the episode service."""

    @property
    def generation(self) -> int:
        """Changes whenever episodes bound to the transport were lost (a broken stream)."""
        ...

    @property
    def closes_episodes_on_end(self) -> bool:
        """Whether ending the transport ends its episodes upstream (true of a Session stream)."""
        ...

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse: ...

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse: ...

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse: ...

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse: ...

    async def aclose(self) -> None: ...


class UnaryTransport:
    """Unary RPCs with explicit episode ids: episodes outlive the caller until closed or reaped."""

    generation = 0
    closes_episodes_on_end = False

    def __init__(self, client: EpisodeClient, metadata: Metadata = ()) -> None:
        self._client = client
        self._metadata = metadata

    async def _call(self, method, request, timeout_s: float | None = None):  # noqa: ANN001, ANN202
        try:
            return await method(request, timeout=timeout_s or self._client.rpc_timeout_s, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse:
        return await self._call(self._client.stub.Reset, request)

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse:
        return await self._call(self._client.stub.Step, request, timeout_s)

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse:
        return await self._call(self._client.stub.GetState, request)

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse:
        return await self._call(self._client.stub.CloseEpisode, request)

    async def aclose(self) -> None:
        return None


class StreamTransport:
    """One `Session` stream, opened on first use and reopened after a break.

    Requests are strictly sequential (a lock pairs each write with the next read). A broken stream
    loses its episodes upstream, so `generation` moves on and the caller forgets its episode.
    """

    closes_episodes_on_end = True

    def __init__(self, client: EpisodeClient, metadata: Metadata = ()) -> None:
        self._client = client
        self._metadata = metadata
        self._call: grpc.aio.StreamStreamCall | None = None
        self._lock = asyncio.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def _drop(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
            self._generation += 1

    async def _exchange(self, request: ep_pb.SessionRequest, timeout_s: float | None = None) -> ep_pb.SessionResponse:
        async with self._lock:
            if self._call is None:
                self._call = self._client.stub.Session(metadata=self._metadata)
            call = self._call
            try:
                await call.write(request)
                response = await asyncio.wait_for(call.read(), timeout_s or self._client.rpc_timeout_s)
            except asyncio.TimeoutError:
                self._drop()
                raise UpstreamError("DEADLINE_EXCEEDED", "the episode service did not answer in time") from None
            except grpc.aio.AioRpcError as exc:
                self._drop()
                raise from_rpc_error(exc) from None
            except (grpc.aio.UsageError, asyncio.InvalidStateError):
                self._drop()
                raise UpstreamError("UNAVAILABLE", "the episode session ended; reset to start again") from None
            if response is grpc.aio.EOF:
                self._drop()
                raise UpstreamError("UNAVAILABLE", "the episode session ended; reset to start again")
        if response.WhichOneof("response") == "error":
            raise from_status(response.error)
        return response

    async def reset(self, request: ep_pb.ResetRequest) -> ep_pb.ResetResponse:
        return (await self._exchange(ep_pb.SessionRequest(reset=request))).reset

    async def step(self, request: ep_pb.StepRequest, *, timeout_s: float | None = None) -> ep_pb.StepResponse:
        return (await self._exchange(ep_pb.SessionRequest(step=request), timeout_s)).step

    async def get_state(self, request: ep_pb.GetStateRequest) -> ep_pb.GetStateResponse:
        return (await self._exchange(ep_pb.SessionRequest(get_state=request))).get_state

    async def close(self, request: ep_pb.CloseEpisodeRequest) -> ep_pb.CloseEpisodeResponse:
        return (await self._exchange(ep_pb.SessionRequest(close=request))).close

    async def aclose(self) -> None:
        """Ends the stream politely; the episode service then closes the stream's episodes."""
        call, self._call = self._call, None
        if call is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(call.done_writing(), 1.0)
        call.cancel()
