"""Typed clients of the agent-facing episode service (mlopsdebug.episode.v1.EpisodeService).

Two ways to play an episode:
- unary calls (`reset`, `step`, `get_state`, `close_episode`), each naming the episode id;
- a `Session` stream (`client.session()`), one long-lived call carrying the same four requests with
  one response each, in order. It is the lowest-latency path, sticks to one server behind a load
  balancer, and the server closes the episodes started on it when it ends.

Only ListTasks and GetState are retried on UNAVAILABLE; Reset, Step and CloseEpisode never are,
because a lost response may already have changed the episode.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from types import TracebackType
from typing import Any, Final

import grpc

from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as pb_grpc

from ._transport import acall_unary, call_unary, open_aio_channel, open_channel
from .actions import ActionLike, as_action
from .config import EPISODE_TARGET, ClientConfig, resolve_config
from .errors import (
    MLOpsDebugError,
    StatusCode,
    error_from_call_status,
    error_from_rpc_error,
    error_from_status,
    make_error,
)

__all__ = ["AsyncEpisodeClient", "AsyncEpisodeSession", "EpisodeClient", "EpisodeSession"]

# Errors raised by the client itself (not by a server) carry this ErrorInfo domain.
CLIENT_DOMAIN: Final[str] = "client.mlopsdebug"
# How long close() waits for the server to finish a Session stream before cancelling it.
_SESSION_DRAIN_S: Final[float] = 5.0


def _reset_request(task_id: str, seed: int | None, episode_id: str) -> pb.ResetRequest:
    request = pb.ResetRequest(task_id=task_id, episode_id=episode_id)
    if seed is not None:
        request.seed = seed
    return request


def _client_error(code: StatusCode, message: str, reason: str) -> MLOpsDebugError:
    return make_error(code, message, reason=reason, domain=CLIENT_DOMAIN)


def _closed_session_error() -> MLOpsDebugError:
    return _client_error(StatusCode.FAILED_PRECONDITION, "the session is closed", "SESSION_CLOSED")


def _unpack(response: pb.SessionResponse, request_id: str, expected: str) -> Any:
    """The typed answer inside a session response; raises for an in-band error or a protocol fault."""
    if response.request_id != request_id:
        raise _client_error(
            StatusCode.INTERNAL,
            f"session response {response.request_id!r} does not answer request {request_id!r}",
            "SESSION_OUT_OF_ORDER",
        )
    kind = response.WhichOneof("response")
    if kind == "error":
        raise error_from_status(response.error)
    if kind != expected:
        raise _client_error(
            StatusCode.INTERNAL,
            f"session answered {kind!r} to a {expected!r} request",
            "SESSION_OUT_OF_ORDER",
        )
    return getattr(response, expected)


class _SessionBase:
    """Bookkeeping shared by the sync and async sessions."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._ids = itertools.count(1)
        self._closed = False
        self._broken: MLOpsDebugError | None = None
        self._episode_id = ""

    @property
    def episode_id(self) -> str:
        """Id of the most recent episode reset on this session ("" before the first reset)."""
        return self._episode_id

    @property
    def closed(self) -> bool:
        """Whether the session can no longer send requests (closed, or its stream failed)."""
        return self._closed or self._broken is not None

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise _closed_session_error()

    def _next_id(self) -> str:
        return str(next(self._ids))


class EpisodeSession(_SessionBase):
    """A sync Session stream: each method sends one request and waits for its response.

    Thread-safe (requests are serialised). An in-band error raises MLOpsDebugError and leaves the
    session usable; a failed stream, or a response later than the config's `timeout_s`, makes it
    unusable. Use as a context manager, or call `close()`.
    """

    _END: Final = object()

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._requests: queue.Queue[pb.SessionRequest | None] = queue.Queue()
        self._responses: queue.Queue[Any] = queue.Queue()
        self._call = stub.Session(iter(self._requests.get, None), wait_for_ready=config.wait_for_ready)
        self._reader = threading.Thread(target=self._read, name="mlopsdebug-session-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self._responses.put(response)
        except grpc.RpcError as err:
            self._responses.put(error_from_rpc_error(err))
        finally:
            self._responses.put(self._END)

    def _fail(self, error: MLOpsDebugError) -> MLOpsDebugError:
        """Marks the stream unusable (a late response would pair with the wrong request) and cancels it."""
        self._broken = error
        self._call.cancel()
        return error

    def _request(self, expected: str, **request: Any) -> Any:
        with self._lock:
            self._check_usable()
            request_id = self._next_id()
            self._requests.put(pb.SessionRequest(request_id=request_id, **request))
            try:
                item = self._responses.get(timeout=self.config.timeout_s)
            except queue.Empty:
                raise self._fail(
                    _client_error(
                        StatusCode.DEADLINE_EXCEEDED,
                        f"no session response within {self.config.timeout_s} s",
                        "SESSION_TIMEOUT",
                    )
                ) from None
            if isinstance(item, MLOpsDebugError):
                raise self._fail(item)
            if item is self._END:
                raise self._fail(
                    _client_error(StatusCode.UNAVAILABLE, "the session stream ended", "SESSION_ENDED")
                )
            try:
                return _unpack(item, request_id, expected)
            except MLOpsDebugError as error:
                if error.domain == CLIENT_DOMAIN:
                    self._fail(error)
                raise

    def reset(self, task_id: str, seed: int | None = None, episode_id: str = "") -> pb.ResetResponse:
        """Starts an episode bound to this stream; later calls default to it."""
        response: pb.ResetResponse = self._request("reset", reset=_reset_request(task_id, seed, episode_id))
        self._episode_id = response.episode_id
        return response

    def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = self._request("step", step=request)
        return response

    def get_state(self, episode_id: str = "") -> pb.GetStateResponse:
        """The state of the episode, by default the latest."""
        response: pb.GetStateResponse = self._request(
            "get_state", get_state=pb.GetStateRequest(episode_id=episode_id)
        )
        return response

    def close_episode(self, episode_id: str = "") -> pb.CloseEpisodeResponse:
        """Closes the episode (by default the latest) and frees its slot; the stream stays open."""
        request = pb.CloseEpisodeRequest(episode_id=episode_id)
        response: pb.CloseEpisodeResponse = self._request("close", close=request)
        return response

    def close(self) -> None:
        """Ends the stream; the server closes the episodes started on it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)  # half-close: the request iterator ends
        self._reader.join(_SESSION_DRAIN_S)
        if self._reader.is_alive():
            self._call.cancel()
            self._reader.join(_SESSION_DRAIN_S)

    def __enter__(self) -> EpisodeSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncEpisodeSession(_SessionBase):
    """A grpc.aio Session stream: each coroutine sends one request and awaits its response.

    Safe to share between tasks (requests are serialised). Semantics as for `EpisodeSession`. Use
    as an async context manager, or await `close()`.
    """

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig) -> None:
        super().__init__(config)
        self._lock = asyncio.Lock()
        self._call = stub.Session(wait_for_ready=config.wait_for_ready)

    def _fail(self, error: MLOpsDebugError) -> MLOpsDebugError:
        self._broken = error
        self._call.cancel()
        return error

    async def _request(self, expected: str, **request: Any) -> Any:
        async with self._lock:
            self._check_usable()
            request_id = self._next_id()
            try:
                await self._call.write(pb.SessionRequest(request_id=request_id, **request))
                item = await asyncio.wait_for(self._call.read(), self.config.timeout_s)
            except grpc.RpcError as err:
                raise self._fail(error_from_rpc_error(err)) from err
            except TimeoutError:
                raise self._fail(
                    _client_error(
                        StatusCode.DEADLINE_EXCEEDED,
                        f"no session response within {self.config.timeout_s} s",
                        "SESSION_TIMEOUT",
                    )
                ) from None
            except asyncio.InvalidStateError:  # the server already finished the stream
                raise self._fail(await self._ended_error()) from None
            if item is grpc.aio.EOF:
                raise self._fail(await self._ended_error())
            try:
                return _unpack(item, request_id, expected)
            except MLOpsDebugError as error:
                if error.domain == CLIENT_DOMAIN:
                    self._fail(error)
                raise

    async def _ended_error(self) -> MLOpsDebugError:
        """Why the stream can take no more requests: the server's status if it failed, else UNAVAILABLE."""
        code = await self._call.code()
        if code not in (grpc.StatusCode.OK, None):
            details = await self._call.details()
            return error_from_call_status(code, details, await self._call.trailing_metadata())
        return _client_error(StatusCode.UNAVAILABLE, "the session stream ended", "SESSION_ENDED")

    async def reset(self, task_id: str, seed: int | None = None, episode_id: str = "") -> pb.ResetResponse:
        """Starts an episode bound to this stream; later calls default to it."""
        response: pb.ResetResponse = await self._request(
            "reset", reset=_reset_request(task_id, seed, episode_id)
        )
        self._episode_id = response.episode_id
        return response

    async def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = await self._request("step", step=request)
        return response

    async def get_state(self, episode_id: str = "") -> pb.GetStateResponse:
        """The state of the episode, by default the latest."""
        request = pb.GetStateRequest(episode_id=episode_id)
        response: pb.GetStateResponse = await self._request("get_state", get_state=request)
        return response

    async def close_episode(self, episode_id: str = "") -> pb.CloseEpisodeResponse:
        """Closes the episode (by default the latest) and frees its slot; the stream stays open."""
        request = pb.CloseEpisodeRequest(episode_id=episode_id)
        response: pb.CloseEpisodeResponse = await self._request("close", close=request)
        return response

    async def close(self) -> None:
        """Ends the stream; the server closes the episodes started on it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._broken is not None or self._call.done():
            return
        try:
            await self._call.done_writing()
            await asyncio.wait_for(self._drain(), _SESSION_DRAIN_S)
        except (TimeoutError, grpc.RpcError, asyncio.InvalidStateError):
            self._call.cancel()

    async def _drain(self) -> None:
        while await self._call.read() is not grpc.aio.EOF:
            pass

    async def __aenter__(self) -> AsyncEpisodeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class EpisodeClient:
    """Sync client of the episode service.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens an insecure channel to `target` (default localhost:50052) and `close()` closes it.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, EPISODE_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_channel(self.config)
        self._stub = pb_grpc.EpisodeServiceStub(self._channel)

    def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = call_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    def reset(
        self, task_id: str, seed: int | None = None, episode_id: str = "", *, timeout_s: float | None = None
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried."""
        response: pb.ResetResponse = call_unary(
            self.config,
            self._stub.Reset,
            _reset_request(task_id, seed, episode_id),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    def step(self, episode_id: str, action: ActionLike, *, timeout_s: float | None = None) -> pb.StepResponse:
        """Applies one action (an Action or a specification-style dict). Never retried."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = call_unary(
            self.config, self._stub.Step, request, idempotent=False, timeout_s=timeout_s
        )
        return response

    def get_state(self, episode_id: str, *, timeout_s: float | None = None) -> pb.GetStateResponse:
        """The episode's state (never the answer while it runs)."""
        response: pb.GetStateResponse = call_unary(
            self.config,
            self._stub.GetState,
            pb.GetStateRequest(episode_id=episode_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def close_episode(self, episode_id: str, *, timeout_s: float | None = None) -> pb.CloseEpisodeResponse:
        """Closes an episode and frees its slot; returns its final state. Never retried."""
        response: pb.CloseEpisodeResponse = call_unary(
            self.config,
            self._stub.CloseEpisode,
            pb.CloseEpisodeRequest(episode_id=episode_id),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> EpisodeSession:
        """Opens a Session stream on this client's channel."""
        return EpisodeSession(self._stub, self.config)

    def close(self) -> None:
        """Closes the channel if the client opened it (open sessions end with it)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> EpisodeClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncEpisodeClient:
    """grpc.aio client of the episode service; create it inside the event loop that uses it."""

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, EPISODE_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_aio_channel(self.config)
        self._stub = pb_grpc.EpisodeServiceStub(self._channel)

    async def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = await acall_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    async def reset(
        self, task_id: str, seed: int | None = None, episode_id: str = "", *, timeout_s: float | None = None
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried."""
        response: pb.ResetResponse = await acall_unary(
            self.config,
            self._stub.Reset,
            _reset_request(task_id, seed, episode_id),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    async def step(
        self, episode_id: str, action: ActionLike, *, timeout_s: float | None = None
    ) -> pb.StepResponse:
        """Applies one action (an Action or a specification-style dict). Never retried."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = await acall_unary(
            self.config, self._stub.Step, request, idempotent=False, timeout_s=timeout_s
        )
        return response

    async def get_state(self, episode_id: str, *, timeout_s: float | None = None) -> pb.GetStateResponse:
        """The episode's state (never the answer while it runs)."""
        response: pb.GetStateResponse = await acall_unary(
            self.config,
            self._stub.GetState,
            pb.GetStateRequest(episode_id=episode_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    async def close_episode(
        self, episode_id: str, *, timeout_s: float | None = None
    ) -> pb.CloseEpisodeResponse:
        """Closes an episode and frees its slot; returns its final state. Never retried."""
        response: pb.CloseEpisodeResponse = await acall_unary(
            self.config,
            self._stub.CloseEpisode,
            pb.CloseEpisodeRequest(episode_id=episode_id),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> AsyncEpisodeSession:
        """Opens a Session stream on this client's channel (call from inside the event loop)."""
        return AsyncEpisodeSession(self._stub, self.config)

    async def close(self) -> None:
        """Closes the channel if the client opened it (open sessions end with it)."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> AsyncEpisodeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
