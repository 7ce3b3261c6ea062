"""Typed clients of the agent-facing episode service (mlopsdebug.episode.v1.EpisodeService).

Two ways to play an episode:
- unary calls (`reset`, `step`, `get_state`, `close_episode`), each naming the episode id;
- a `Session` stream (`client.session()`), one long-lived call carrying the same four requests with
  one response each, in order. It is the lowest-latency path, sticks to one server behind a load
  balancer, and the server closes the episodes started on it when it ends.

Many episodes at once: `step_batch` (unary and on a session) applies one action to each of several
episodes in one message, as a vector environment steps; each step succeeds or fails on its own.
`AsyncEpisodeClient.batching_session()` does that batching for you: concurrent tasks each play their
own episode with plain `step` calls, and the steps that are waiting when the stream is free leave
together as one batch (resets and submissions, the slow requests, go over side streams). That is
the highest-throughput path.

Sealed evaluations (held-out test sets): the operator calls `create_evaluation` and
`close_evaluation` (the full report); the agent passes the evaluation id to `reset(...,
evaluation_id=...)` and sees only its scores.

Only ListTasks, GetState, GetEvaluation and CloseEvaluation are retried on UNAVAILABLE; Reset, Step,
CloseEpisode and CreateEvaluation never are, because a lost response may already have changed state.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import queue
import threading
from types import TracebackType
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import grpc

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as pb_grpc

from ._transport import AsyncChannelClient, ChannelClient, acall_unary, call_unary
from .actions import ActionLike, as_action
from .config import EPISODE_TARGET, ClientConfig
from .errors import (
    MLOpsDebugError,
    StatusCode,
    error_from_call_status,
    error_from_rpc_error,
    error_from_status,
    make_error,
)

__all__ = [
    "AsyncBatchingSession",
    "AsyncEpisodeClient",
    "AsyncEpisodeSession",
    "EpisodeClient",
    "EpisodeSession",
    "StepOutcome",
]

# One step of a batch: what Step would have returned, or the error it would have raised.
StepOutcome = pb.StepResponse | MLOpsDebugError
T = TypeVar("T")

# Errors raised by the client itself (not by a server) carry this ErrorInfo domain.
CLIENT_DOMAIN: Final[str] = "client.mlopsdebug"
# Most steps one StepBatch may carry (the service refuses more).
BATCH_MAX_STEPS: Final[int] = 64
# How long close() waits for the server to finish a Session stream before cancelling it.
_SESSION_DRAIN_S: Final[float] = 5.0


# The fault splits a reset may ask for (see FaultSplit in the contracts): all faults by default.
FAULT_SPLITS: Final[dict[str, int]] = {
    "all": common_pb2.FAULT_SPLIT_ALL,
    "train": common_pb2.FAULT_SPLIT_TRAIN,
    "heldout": common_pb2.FAULT_SPLIT_HELDOUT,
}


def _reset_request(
    task_id: str, seed: int | None, episode_id: str, evaluation_id: str = "", split: str = "all"
) -> pb.ResetRequest:
    if split not in FAULT_SPLITS:
        raise ValueError(f"split must be one of {', '.join(FAULT_SPLITS)}, got {split!r}")
    request = pb.ResetRequest(
        task_id=task_id, episode_id=episode_id, evaluation_id=evaluation_id, split=FAULT_SPLITS[split]
    )
    if seed is not None:
        request.seed = seed
    return request


def _create_evaluation_request(
    tasks: Mapping[str, int] | Sequence[tuple[str, int]], scenario_stream_key: bytes
) -> pb.CreateEvaluationRequest:
    pairs = tasks.items() if isinstance(tasks, Mapping) else tasks
    return pb.CreateEvaluationRequest(
        tasks=[pb.EvaluationTask(task_id=task_id, episodes=episodes) for task_id, episodes in pairs],
        scenario_stream_key=scenario_stream_key,
    )


def _batch_request(steps: Sequence[tuple[str, ActionLike]]) -> pb.StepBatchRequest:
    return pb.StepBatchRequest(
        steps=[pb.StepRequest(episode_id=episode_id, action=as_action(action)) for episode_id, action in steps]
    )


def _batch_outcomes(response: pb.StepBatchResponse) -> list[StepOutcome]:
    return [
        error_from_status(result.error) if result.WhichOneof("result") == "error" else result.step
        for result in response.results
    ]


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
        self._call = stub.Session(
            iter(self._requests.get, None), wait_for_ready=config.wait_for_ready, metadata=config.call_metadata
        )
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

    def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
    ) -> pb.ResetResponse:
        """Starts an episode bound to this stream; later calls default to it. With `evaluation_id`, the
        sealed evaluation's next scenario (of `task_id`, or of its next task when empty); no seed."""
        request = _reset_request(task_id, seed, episode_id, evaluation_id, split)
        response: pb.ResetResponse = self._request("reset", reset=request)
        self._episode_id = response.episode_id
        return response

    def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = self._request("step", step=request)
        return response

    def step_batch(self, steps: Sequence[tuple[str, ActionLike]]) -> list[StepOutcome]:
        """One action on each of several distinct episodes (episode id, action); outcomes in order.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = self._request("step_batch", step_batch=_batch_request(steps))
        return _batch_outcomes(response)

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
    """A grpc.aio Session stream, pipelined: each request is written as soon as it is made and the
    responses, which come in request order, are handed to their requests by one reader task.

    Safe to share between tasks, which then never wait for each other's round trips. An in-band
    error raises in the task that made the request and leaves the session usable; a failed stream, a
    protocol fault or a response later than the config's `timeout_s` makes it unusable and fails
    every request still waiting. Use as an async context manager, or await `close()`.
    """

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig) -> None:
        super().__init__(config)
        self._write_lock = asyncio.Lock()
        self._call = stub.Session(wait_for_ready=config.wait_for_ready, metadata=config.call_metadata)
        # Requests written and not yet answered, oldest first: (request id, expected kind, answer).
        self._awaiting: collections.deque[tuple[str, str, asyncio.Future[Any]]] = collections.deque()
        self._reader: asyncio.Task[None] | None = None

    def _fail(self, error: MLOpsDebugError) -> MLOpsDebugError:
        """Marks the stream unusable, cancels it and answers every waiting request with `error`."""
        if self._broken is None:
            self._broken = error
            self._call.cancel()
        while self._awaiting:
            _, _, answer = self._awaiting.popleft()
            if not answer.done():
                answer.set_result(self._broken)
        return error

    async def _request(self, expected: str, **request: Any) -> Any:
        self._check_usable()
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        async with self._write_lock:  # the write order is the order of `_awaiting`
            self._check_usable()
            request_id = self._next_id()
            self._awaiting.append((request_id, expected, answer))
            try:
                await self._call.write(pb.SessionRequest(request_id=request_id, **request))
            except grpc.RpcError as err:
                raise self._fail(error_from_rpc_error(err)) from err
            except (asyncio.InvalidStateError, grpc.aio.UsageError):  # the server already finished
                raise self._fail(await self._ended_error()) from None
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_responses(), name="mlopsdebug-session-reader")
        try:
            result = await asyncio.wait_for(answer, self.config.timeout_s)
        except TimeoutError:
            raise self._fail(
                _client_error(
                    StatusCode.DEADLINE_EXCEEDED,
                    f"no session response within {self.config.timeout_s} s",
                    "SESSION_TIMEOUT",
                )
            ) from None
        if isinstance(result, MLOpsDebugError):
            raise result
        return result

    async def _read_responses(self) -> None:
        """Answers waiting requests in order until the stream ends or breaks."""
        try:
            while True:
                item = await self._call.read()
                if item is grpc.aio.EOF:
                    if self._awaiting or not self._closed:
                        self._fail(await self._ended_error())
                    return
                if not self._awaiting:
                    self._fail(
                        _client_error(
                            StatusCode.INTERNAL,
                            "session sent a response nobody asked for",
                            "SESSION_OUT_OF_ORDER",
                        )
                    )
                    return
                request_id, expected, answer = self._awaiting.popleft()
                try:
                    result = _unpack(item, request_id, expected)
                except MLOpsDebugError as error:
                    result = error
                    if error.domain == CLIENT_DOMAIN:  # a protocol fault: later answers cannot be trusted
                        self._fail(error)
                if not answer.done():  # its caller may have timed out or been cancelled
                    answer.set_result(result)
                if self._broken is not None:
                    return
        except grpc.RpcError as err:
            self._fail(error_from_rpc_error(err))
        except (asyncio.InvalidStateError, grpc.aio.UsageError):
            self._fail(await self._ended_error())
        except asyncio.CancelledError:
            # The call was cancelled under the read (a timeout broke the session), or this task was.
            self._fail(self._broken or _closed_session_error())
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave requests waiting forever
            self._fail(_client_error(StatusCode.INTERNAL, f"session reader failed: {exc!r}", "SESSION_READER"))

    async def _ended_error(self) -> MLOpsDebugError:
        """Why the stream can take no more requests: the server's status if it failed, else UNAVAILABLE."""
        code = await self._call.code()
        if code not in (grpc.StatusCode.OK, None):
            details = await self._call.details()
            return error_from_call_status(code, details, await self._call.trailing_metadata())
        return _client_error(StatusCode.UNAVAILABLE, "the session stream ended", "SESSION_ENDED")

    async def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
    ) -> pb.ResetResponse:
        """Starts an episode bound to this stream; later calls default to it. With `evaluation_id`, the
        sealed evaluation's next scenario (of `task_id`, or of its next task when empty); no seed."""
        response: pb.ResetResponse = await self._request(
            "reset", reset=_reset_request(task_id, seed, episode_id, evaluation_id, split)
        )
        self._episode_id = response.episode_id
        return response

    async def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = await self._request("step", step=request)
        return response

    async def step_batch(self, steps: Sequence[tuple[str, ActionLike]]) -> list[StepOutcome]:
        """One action on each of several distinct episodes (episode id, action); outcomes in order.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = await self._request("step_batch", step_batch=_batch_request(steps))
        return _batch_outcomes(response)

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
        """Ends the stream once waiting requests are answered; the server closes the stream's episodes.

        Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        if self._broken is not None or self._call.done():
            if self._reader is not None:
                self._reader.cancel()
            return
        try:
            async with self._write_lock:
                await self._call.done_writing()
            if self._reader is None:
                self._reader = asyncio.create_task(self._read_responses())
            await asyncio.wait_for(asyncio.shield(self._reader), _SESSION_DRAIN_S)
        except (TimeoutError, grpc.RpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            self._fail(_closed_session_error())
            if self._reader is not None:
                self._reader.cancel()

    async def __aenter__(self) -> AsyncEpisodeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncBatchingSession:
    """One Session stream shared by many concurrent tasks, each playing its own episode.

    Each task calls `reset`, `step(action, episode_id)`, `get_state` and `close_episode` as on a
    session, always naming its episode. Steps that wait together leave together as one StepBatch (at
    most `max_batch`, one per episode), so N agents cost a few messages per round instead of N. Up to
    `max_in_flight` batches (default 2) are in flight at once: while the service works on one, this
    side reads the answers to the other and its agents choose their next actions. With 1, every step
    made during a round trip joins the next batch (larger batches, longer waits). No timer is
    involved; a lone step leaves on the next turn of the event loop. A step's error raises only in
    the task that made it.

    A stream answers in order, so one slow request holds up every answer behind it. The two slow
    requests, a reset (which may generate its scenario) and a submission (a grader round trip), go
    instead over up to `side_streams` further Session streams opened on demand, so that they hold up
    no other task's steps. Episodes belong to the stream they were reset on, as on any session.
    Closing ends every stream, and the service closes the episodes started on them. The streams share
    one channel; behind a load balancer that spreads calls over several episode servers, pass
    `side_streams=0` so that everything rides the one stream (and so the one server).
    """

    def __init__(
        self,
        session: AsyncEpisodeSession,
        *,
        max_batch: int = BATCH_MAX_STEPS,
        max_in_flight: int = 2,
        open_side_stream: Callable[[], AsyncEpisodeSession] | None = None,
        side_streams: int = 4,
    ) -> None:
        if not 1 <= max_batch <= BATCH_MAX_STEPS:
            raise ValueError(f"max_batch must be in [1, {BATCH_MAX_STEPS}], got {max_batch}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if side_streams < 0:
            raise ValueError(f"side_streams must be at least 0, got {side_streams}")
        self._session = session
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._open_side_stream = open_side_stream if side_streams else None
        self._max_side_streams = side_streams
        self._side: dict[AsyncEpisodeSession, int] = {}  # side stream -> its requests in flight
        self._waiting: list[tuple[str, common_pb2.Action, asyncio.Future[StepOutcome]]] = []
        self._batches: set[asyncio.Task[None]] = set()
        self._pump_scheduled = False
        self.batches_sent = 0
        """StepBatch messages sent so far; `steps_sent / batches_sent` is the mean batch size."""
        self.steps_sent = 0
        """Steps sent so far, in all batches."""

    @property
    def closed(self) -> bool:
        """Whether the stream can no longer send requests (closed, or failed)."""
        return self._session.closed

    async def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
    ) -> pb.ResetResponse:
        """Starts an episode bound to this session's streams; use the returned id in later calls.
        With `evaluation_id`, the sealed evaluation's next scenario; no seed."""
        self._session._check_usable()
        side = self._side_stream()
        if side is None:
            return await self._session.reset(task_id, seed, episode_id, evaluation_id=evaluation_id, split=split)
        return await self._on_side(
            side, side.reset(task_id, seed, episode_id, evaluation_id=evaluation_id, split=split)
        )

    async def step(self, action: ActionLike, episode_id: str) -> pb.StepResponse:
        """Applies one action to the episode, batched with other tasks' waiting steps (a submission
        goes alone, on a side stream)."""
        if not episode_id:
            raise _client_error(
                StatusCode.INVALID_ARGUMENT,
                "episode_id is required: a batching session carries many episodes",
                "EPISODE_ID_MISSING",
            )
        self._session._check_usable()
        message = as_action(action)
        if message.WhichOneof("kind") == "submit_diagnosis":
            side = self._side_stream()
            if side is not None:
                return await self._on_side(side, side.step(message, episode_id))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StepOutcome] = loop.create_future()
        self._waiting.append((episode_id, message, future))
        if not self._pump_scheduled:  # after the tasks woken with this one have queued their steps
            self._pump_scheduled = True
            loop.call_soon(self._pump)
        outcome = await future
        if isinstance(outcome, MLOpsDebugError):
            raise outcome
        return outcome

    def _pump(self) -> None:
        """Sends waiting steps while fewer than `max_in_flight` batches are in flight.

        With none in flight (and room for more than one), half of what waits leaves now and the rest
        right behind it, so that the two halves settle into alternating between the service and this
        side.
        """
        self._pump_scheduled = False
        while self._waiting and len(self._batches) < self._max_in_flight:
            halve = not self._batches and self._max_in_flight > 1
            eligible = (len(self._waiting) + 1) // 2 if halve else len(self._waiting)
            batch: list[tuple[str, common_pb2.Action, asyncio.Future[StepOutcome]]] = []
            later: list[tuple[str, common_pb2.Action, asyncio.Future[StepOutcome]]] = []
            episodes: set[str] = set()
            for item in self._waiting:
                episode_id, _, future = item
                if future.done():  # its caller was cancelled before it left: never sent
                    continue
                if len(batch) < min(eligible, self._max_batch) and episode_id not in episodes:
                    episodes.add(episode_id)
                    batch.append(item)
                else:
                    later.append(item)  # includes a second step on one episode, after the first
            self._waiting = later
            if not batch:
                continue
            self.batches_sent += 1
            self.steps_sent += len(batch)
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._batches.add(task)

    async def _send(self, batch: list[tuple[str, common_pb2.Action, asyncio.Future[StepOutcome]]]) -> None:
        try:
            try:
                outcomes: list[StepOutcome] = await self._session.step_batch([item[:2] for item in batch])
            except MLOpsDebugError as error:
                outcomes = [error] * len(batch)
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # its caller may have been cancelled
                    future.set_result(outcome)
        except BaseException as error:  # cancelled, or a bug: no caller may wait forever
            failure = error if isinstance(error, Exception) else _closed_session_error()
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            raise
        finally:
            self._batches.discard(asyncio.current_task())  # type: ignore[arg-type]
            if self._waiting and not self._pump_scheduled:
                self._pump_scheduled = True
                asyncio.get_running_loop().call_soon(self._pump)

    def _side_stream(self) -> AsyncEpisodeSession | None:
        """The side stream for the next slow request: an idle one, else a new one while fewer than
        `side_streams` are open, else the least busy; None when side streams are off."""
        if self._open_side_stream is None:
            return None
        for stream in [s for s in self._side if s.closed]:  # broken: its episodes went with it
            del self._side[stream]
        idle = next((s for s, busy in self._side.items() if not busy), None)
        if idle is not None:
            return idle
        if len(self._side) < self._max_side_streams:
            stream = self._open_side_stream()
            self._side[stream] = 0
            return stream
        return min(self._side, key=self._side.__getitem__)

    async def _on_side(self, stream: AsyncEpisodeSession, request: Awaitable[T]) -> T:
        self._side[stream] = self._side.get(stream, 0) + 1
        try:
            return await request
        finally:
            if stream in self._side:
                self._side[stream] -= 1

    async def get_state(self, episode_id: str) -> pb.GetStateResponse:
        """The episode's state."""
        return await self._session.get_state(episode_id)

    async def close_episode(self, episode_id: str) -> pb.CloseEpisodeResponse:
        """Closes the episode and frees its slot; the streams stay open."""
        return await self._session.close_episode(episode_id)

    async def close(self) -> None:
        """Ends the streams once steps in flight are answered; the server closes their episodes."""
        while self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)
        side, self._side = list(self._side), {}
        await asyncio.gather(self._session.close(), *(stream.close() for stream in side))

    async def __aenter__(self) -> AsyncBatchingSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class EpisodeClient(ChannelClient):
    """Sync client of the episode service.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens a channel to `target` (default localhost:50052; TLS as the config says) and `close()` closes it.
    """

    _default_target = EPISODE_TARGET
    _stub_type = pb_grpc.EpisodeServiceStub
    _stub: pb_grpc.EpisodeServiceStub

    def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = call_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
        timeout_s: float | None = None,
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (of `task_id`, or
        of its next task when empty): pass no seed; the response's seed is 0 and `sealed` is true.
        """
        response: pb.ResetResponse = call_unary(
            self.config,
            self._stub.Reset,
            _reset_request(task_id, seed, episode_id, evaluation_id, split),
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

    def step_batch(
        self, steps: Sequence[tuple[str, ActionLike]], *, timeout_s: float | None = None
    ) -> list[StepOutcome]:
        """One action on each of several distinct episodes; outcomes in order. Never retried.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = call_unary(
            self.config, self._stub.StepBatch, _batch_request(steps), idempotent=False, timeout_s=timeout_s
        )
        return _batch_outcomes(response)

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

    def create_evaluation(
        self,
        tasks: Mapping[str, int] | Sequence[tuple[str, int]],
        *,
        scenario_stream_key: bytes = b"",
        timeout_s: float | None = None,
    ) -> pb.CreateEvaluationResponse:
        """Creates a sealed evaluation (the operator's call): `tasks` maps task ids to episode counts.

        Give the response's `evaluation_id` to the agent and keep its `operator_token` for
        `close_evaluation`. Never retried (a lost response would leave an evaluation nobody can close).
        """
        response: pb.CreateEvaluationResponse = call_unary(
            self.config,
            self._stub.CreateEvaluation,
            _create_evaluation_request(tasks, scenario_stream_key),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    def get_evaluation(self, evaluation_id: str, *, timeout_s: float | None = None) -> pb.GetEvaluationResponse:
        """The evaluation's progress: episodes started and ended per task (no scores)."""
        response: pb.GetEvaluationResponse = call_unary(
            self.config,
            self._stub.GetEvaluation,
            pb.GetEvaluationRequest(evaluation_id=evaluation_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def close_evaluation(
        self, evaluation_id: str, operator_token: str, *, timeout_s: float | None = None
    ) -> pb.CloseEvaluationResponse:
        """Closes the evaluation and returns its full report (the operator's call). Retried on
        UNAVAILABLE: closing again returns the same report."""
        response: pb.CloseEvaluationResponse = call_unary(
            self.config,
            self._stub.CloseEvaluation,
            pb.CloseEvaluationRequest(evaluation_id=evaluation_id, operator_token=operator_token),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> EpisodeSession:
        """Opens a Session stream on this client's channel."""
        return EpisodeSession(self._stub, self.config)


class AsyncEpisodeClient(AsyncChannelClient):
    """grpc.aio client of the episode service; create it inside the event loop that uses it."""

    _default_target = EPISODE_TARGET
    _stub_type = pb_grpc.EpisodeServiceStub
    _stub: pb_grpc.EpisodeServiceStub

    async def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = await acall_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    async def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
        timeout_s: float | None = None,
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (of `task_id`, or
        of its next task when empty): pass no seed; the response's seed is 0 and `sealed` is true.
        """
        response: pb.ResetResponse = await acall_unary(
            self.config,
            self._stub.Reset,
            _reset_request(task_id, seed, episode_id, evaluation_id, split),
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

    async def step_batch(
        self, steps: Sequence[tuple[str, ActionLike]], *, timeout_s: float | None = None
    ) -> list[StepOutcome]:
        """One action on each of several distinct episodes; outcomes in order. Never retried.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = await acall_unary(
            self.config, self._stub.StepBatch, _batch_request(steps), idempotent=False, timeout_s=timeout_s
        )
        return _batch_outcomes(response)

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

    async def create_evaluation(
        self,
        tasks: Mapping[str, int] | Sequence[tuple[str, int]],
        *,
        scenario_stream_key: bytes = b"",
        timeout_s: float | None = None,
    ) -> pb.CreateEvaluationResponse:
        """Creates a sealed evaluation (the operator's call): `tasks` maps task ids to episode counts.

        Give the response's `evaluation_id` to the agent and keep its `operator_token` for
        `close_evaluation`. Never retried (a lost response would leave an evaluation nobody can close).
        """
        response: pb.CreateEvaluationResponse = await acall_unary(
            self.config,
            self._stub.CreateEvaluation,
            _create_evaluation_request(tasks, scenario_stream_key),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    async def get_evaluation(self, evaluation_id: str, *, timeout_s: float | None = None) -> pb.GetEvaluationResponse:
        """The evaluation's progress: episodes started and ended per task (no scores)."""
        response: pb.GetEvaluationResponse = await acall_unary(
            self.config,
            self._stub.GetEvaluation,
            pb.GetEvaluationRequest(evaluation_id=evaluation_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    async def close_evaluation(
        self, evaluation_id: str, operator_token: str, *, timeout_s: float | None = None
    ) -> pb.CloseEvaluationResponse:
        """Closes the evaluation and returns its full report (the operator's call). Retried on
        UNAVAILABLE: closing again returns the same report."""
        response: pb.CloseEvaluationResponse = await acall_unary(
            self.config,
            self._stub.CloseEvaluation,
            pb.CloseEvaluationRequest(evaluation_id=evaluation_id, operator_token=operator_token),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> AsyncEpisodeSession:
        """Opens a Session stream on this client's channel (call from inside the event loop)."""
        return AsyncEpisodeSession(self._stub, self.config)

    def batching_session(
        self, *, max_batch: int = BATCH_MAX_STEPS, max_in_flight: int = 2, side_streams: int = 4
    ) -> AsyncBatchingSession:
        """Opens a Session stream that many tasks share, each stepping its own episode; see the class."""
        return AsyncBatchingSession(
            AsyncEpisodeSession(self._stub, self.config),
            max_batch=max_batch,
            max_in_flight=max_in_flight,
            open_side_stream=lambda: AsyncEpisodeSession(self._stub, self.config),
            side_streams=side_streams,
        )
