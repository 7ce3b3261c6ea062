"""Typed clients of the agent-facing episode service (mlopsdebug.episode.v1.EpisodeService).

Two ways to play an episode:
- unary calls (`reset`, `step`, `get_state`, `close_episode`), each naming the episode id;
- a `Session` stream (`client.session()`), one long-lived call carrying the same four requests with
  one response each, in order. It is the lowest-latency path, sticks to one server behind a load
  balancer, and the server closes the episodes started on it when the client ends it. When the
  stream breaks (the service restarted, a connection dropped), the session opens a new one and
  resumes the episodes that still exist, without ever applying a request twice; see `_resume`.

Many episodes at once: `step_batch` (unary and on a session) applies one action to each of several
episodes in one message, as a vector environment steps; each step succeeds or fails on its own.
`AsyncEpisodeClient.batching_session()` does that batching for you: concurrent tasks each play their
own episode with plain `step` calls, and the steps that are waiting when the stream is free leave
together as one batch (resets and submissions, the slow requests, go over side streams). That is
the highest-throughput path.

Sealed evaluations (held-out test sets): the operator calls `create_evaluation` and
`close_evaluation` (the full report); the agent passes the evaluation id to `reset(...,
evaluation_id=...)` and sees only its scores.

Unary calls: only ListTasks, GetState, GetEvaluation and CloseEvaluation are retried on UNAVAILABLE;
Reset, Step, CloseEpisode and CreateEvaluation never are, because a lost response may already have
changed state (sessions can do better: they know the episodes' step counts and choose reset ids
themselves).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import itertools
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

import grpc

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as pb_grpc

from ._resume import (
    CLIENT_DOMAIN,
    Broken,
    EpisodeBook,
    Patience,
    is_our_lost_reset,
    is_retryable_break,
    lost_episode_error,
    new_episode_id,
    step_verdict,
)
from ._transport import AsyncChannelClient, ChannelClient, acall_unary, call_unary, session_call_options
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
    "EpisodeBook",
    "EpisodeClient",
    "EpisodeSession",
    "StepOutcome",
]

# One step of a batch: what Step would have returned, or the error it would have raised.
StepOutcome = pb.StepResponse | MLOpsDebugError
T = TypeVar("T")

# Most steps one StepBatch may carry (the service refuses more).
BATCH_MAX_STEPS: Final[int] = 64
# How long close() waits for the server to finish a Session stream before cancelling it.
_SESSION_DRAIN_S: Final[float] = 5.0


# The fault splits a reset may ask for (see FaultSplit in the contracts): all faults by default.
FAULT_SPLITS: Final[dict[str, common_pb2.FaultSplit]] = {
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


@dataclasses.dataclass(frozen=True, slots=True)
class _Send:
    """An operation's instruction: send one request on the session's stream and hand back its answer."""

    expected: str  # the response kind that answers it
    fields: dict[str, Any]  # the SessionRequest's request field
    episodes: tuple[str, ...] = ()  # episodes whose step count a timeout leaves unknown


@dataclasses.dataclass(frozen=True, slots=True)
class _Wait:
    """An operation's instruction: wait before reopening the stream."""

    seconds: float


# What an operation receives for a _Send: the typed answer, the in-band error, or Broken (and None for a
# _Wait; Any, so that the answer to a _Send needs no narrowing).
_Answer = Any
# A session operation: a generator of instructions that the sync or async driver carries out, so that
# both sessions share one recovery logic (see _resume).
_Operation = Generator[_Send | _Wait, _Answer, T]


class _SessionBase:
    """Bookkeeping and the recovering operations shared by the sync and async sessions."""

    def __init__(self, config: ClientConfig, book: EpisodeBook | None) -> None:
        self.config = config
        self._ids = itertools.count(1)
        self._closed = False
        self._broken: MLOpsDebugError | None = None  # a failure no reopening cures
        self._episode_id = ""
        self._book = book if book is not None else EpisodeBook()
        self.reconnects = 0
        """How many times this session reopened its stream after a break."""

    @property
    def episode_id(self) -> str:
        """Id of the most recent episode reset on this session ("" before the first reset)."""
        return self._episode_id

    @property
    def closed(self) -> bool:
        """Whether the session can no longer send requests: closed, or its stream failed in a way that
        reopening cannot cure (a break the next request can cure leaves it open)."""
        return self._closed or self._broken is not None

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise _closed_session_error()

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _opened_new_stream(self) -> None:
        self.reconnects += 1
        self._book.epoch += 1

    # -- operations: each says what to send and how to recover when the stream breaks (see _resume) --

    def _get_state_op(self, episode_id: str, patience: Patience) -> _Operation[pb.GetStateResponse | MLOpsDebugError]:
        """GetState, asked again after any break; an in-band error is returned, not raised."""
        while True:
            answer = yield _Send("get_state", {"get_state": pb.GetStateRequest(episode_id=episode_id)})
            if isinstance(answer, Broken):
                yield _Wait(patience.next_wait(answer.error))
                continue
            if isinstance(answer, MLOpsDebugError):
                return self._book.explain(episode_id, answer)
            self._book.seen(episode_id, answer.state.step_count)
            return answer

    def _state_op(self, episode_id: str, patience: Patience) -> _Operation[pb.GetStateResponse]:
        answer = yield from self._get_state_op(episode_id, patience)
        if isinstance(answer, MLOpsDebugError):
            raise answer
        return answer

    def _reset_op(
        self,
        task_id: str,
        seed: int | None,
        episode_id: str,
        patience: Patience,
        evaluation_id: str = "",
        split: str = "all",
    ) -> _Operation[Any]:
        """Reset under an id fixed before the first send, so that a reset whose answer was lost is
        recognised (ALREADY_EXISTS) and replaced rather than duplicated."""
        episode_id = episode_id or new_episode_id()
        request = {"reset": _reset_request(task_id, seed, episode_id, evaluation_id, split)}
        uncertain = False  # an earlier attempt may have been applied
        while True:
            answer = yield _Send("reset", request)
            if isinstance(answer, Broken):
                yield _Wait(patience.next_wait(answer.error))
                uncertain = uncertain or answer.sent
                continue
            if isinstance(answer, MLOpsDebugError):
                if not (uncertain and answer.code == StatusCode.ALREADY_EXISTS):
                    raise answer
                state = yield from self._get_state_op(episode_id, patience)
                if isinstance(state, MLOpsDebugError):
                    if state.code != StatusCode.NOT_FOUND:
                        raise state
                    # The lost reset is still being served (or was just closed): ask again shortly.
                    yield _Wait(patience.next_wait(_reset_pending_error(episode_id)))
                    continue
                if not is_our_lost_reset(state.state, task_id, seed):
                    raise answer  # somebody else's episode under the caller's id
                closed = yield _Send("close", {"close": pb.CloseEpisodeRequest(episode_id=episode_id)})
                if isinstance(closed, Broken):
                    yield _Wait(patience.next_wait(closed.error))
                elif isinstance(closed, MLOpsDebugError) and closed.code != StatusCode.NOT_FOUND:
                    raise closed
                continue  # reset again: the fresh episode the caller never saw is replaced by an identical one
            self._book.started(answer.episode_id, self)
            self._episode_id = answer.episode_id
            return answer

    def _step_op(self, episode_id: str, action: common_pb2.Action, patience: Patience) -> _Operation[Any]:
        """Step, re-sent after a break only when the episode's step count shows it was not applied."""
        known = self._book.step_count(episode_id)
        request = {"step": pb.StepRequest(episode_id=episode_id, action=action)}
        while True:
            answer = yield _Send("step", request, (episode_id,))
            if isinstance(answer, Broken):
                yield _Wait(patience.next_wait(answer.error))
                if answer.sent:
                    state = yield from self._state_op(episode_id, patience)
                    verdict = step_verdict(episode_id, known, state.state)
                    if verdict is not None:
                        raise verdict
                continue
            if isinstance(answer, MLOpsDebugError):
                raise self._book.explain(episode_id, answer)
            self._book.seen(episode_id, answer.observation.step_count)
            return answer

    def _step_batch_op(
        self, steps: Sequence[tuple[str, common_pb2.Action]], patience: Patience
    ) -> _Operation[list[StepOutcome]]:
        """StepBatch; after a break each step is judged on its own, as `_step_op` does."""
        outcomes: list[StepOutcome | None] = [None] * len(steps)
        known = [self._book.step_count(episode_id) for episode_id, _ in steps]
        pending = list(range(len(steps)))
        sent = False
        while pending or not sent:  # an empty batch still goes, for the service to refuse
            sent = True
            request = pb.StepBatchRequest(
                steps=[pb.StepRequest(episode_id=steps[i][0], action=steps[i][1]) for i in pending]
            )
            answer = yield _Send("step_batch", {"step_batch": request}, tuple(steps[i][0] for i in pending))
            if isinstance(answer, Broken):
                yield _Wait(patience.next_wait(answer.error))
                if answer.sent:
                    for i in list(pending):
                        state = yield from self._get_state_op(steps[i][0], patience)
                        verdict = (
                            state
                            if isinstance(state, MLOpsDebugError)
                            else step_verdict(steps[i][0], known[i], state.state)
                        )
                        if verdict is not None:
                            outcomes[i] = verdict
                            pending.remove(i)
                continue
            if isinstance(answer, MLOpsDebugError):
                raise answer  # the whole batch was refused (malformed): nothing was applied
            for i, outcome in zip(pending, _batch_outcomes(answer), strict=True):
                if isinstance(outcome, MLOpsDebugError):
                    outcome = self._book.explain(steps[i][0], outcome)
                else:
                    self._book.seen(steps[i][0], outcome.observation.step_count)
                outcomes[i] = outcome
            pending = []
        return [outcome for outcome in outcomes if outcome is not None]

    def _close_op(self, episode_id: str, patience: Patience) -> _Operation[Any]:
        """CloseEpisode, re-sent after a break; NOT_FOUND then means closed or lost: EpisodeLostError."""
        uncertain = False
        while True:
            answer = yield _Send("close", {"close": pb.CloseEpisodeRequest(episode_id=episode_id)})
            if isinstance(answer, Broken):
                yield _Wait(patience.next_wait(answer.error))
                uncertain = uncertain or answer.sent
                continue
            if isinstance(answer, MLOpsDebugError):
                if uncertain and answer.code == StatusCode.NOT_FOUND:
                    self._book.forget(episode_id)
                    raise lost_episode_error(episode_id, closed_or_lost=True)
                raise self._book.explain(episode_id, answer)
            self._book.forget(episode_id)
            return answer


def _reset_pending_error(episode_id: str) -> MLOpsDebugError:
    return _client_error(
        StatusCode.UNAVAILABLE, f"a lost reset of {episode_id!r} is still pending", "RESET_PENDING"
    )


def _timeout_error(timeout_s: float | None) -> MLOpsDebugError:
    return _client_error(StatusCode.DEADLINE_EXCEEDED, f"no session response within {timeout_s} s", "SESSION_TIMEOUT")


class _SyncStream:
    """One sync Session call: its request queue and a reader thread that queues the responses."""

    END: Final = object()

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig) -> None:
        self.broken: MLOpsDebugError | None = None
        self.requests: queue.Queue[pb.SessionRequest | None] = queue.Queue()
        self.responses: queue.Queue[Any] = queue.Queue()
        self.call = stub.Session(iter(self.requests.get, None), **session_call_options(config))
        self.reader = threading.Thread(target=self._read, name="mlopsdebug-session-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for response in self.call:
                self.responses.put(response)
        except grpc.RpcError as err:
            self.responses.put(error_from_rpc_error(err))
        finally:
            self.responses.put(self.END)

    @property
    def finished(self) -> bool:
        """Whether the call is over (the reader saw its end), even if no request noticed yet."""
        return not self.reader.is_alive()

    def abandon(self) -> None:
        self.requests.put(None)
        self.call.cancel()


class EpisodeSession(_SessionBase):
    """A sync Session stream: each method sends one request and waits for its response.

    Thread-safe (requests are serialised). An in-band error raises MLOpsDebugError and leaves the
    session usable. When the stream breaks (the service restarted, a connection dropped, a response
    came later than the config's `timeout_s`), the request caught by it, or else the next request,
    opens a new stream and resumes the episodes that still exist (see `_resume` for what is re-sent
    and what raises ResponseLostError or EpisodeLostError); any other stream failure makes the
    session unusable. Use as a context manager, or call `close()`.
    """

    def __init__(
        self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig, *, book: EpisodeBook | None = None
    ) -> None:
        super().__init__(config, book)
        self._stub = stub
        self._lock = threading.Lock()
        self._stream = _SyncStream(stub, config)

    @property
    def _call(self) -> Any:
        return self._stream.call

    def _break(self, stream: _SyncStream, error: MLOpsDebugError) -> MLOpsDebugError:
        """Marks the stream dead (a late response would pair with the wrong request) and cancels it."""
        if stream.broken is None:
            stream.broken = error
            stream.abandon()
            if not is_retryable_break(error):
                self._broken = error
        return error

    def _live_stream(self) -> _SyncStream:
        self._check_usable()
        stream = self._stream
        if stream.broken is not None or stream.finished:
            stream.broken = stream.broken or _ended_error()
            stream.abandon()
            self._opened_new_stream()
            stream = self._stream = _SyncStream(self._stub, self.config)
        return stream

    def _exchange(self, send: _Send, patience: Patience) -> _Answer:
        stream = self._live_stream()
        request_id = self._next_id()
        stream.requests.put(pb.SessionRequest(request_id=request_id, **send.fields))
        try:
            item = stream.responses.get(timeout=patience.remaining())
        except queue.Empty:
            for episode_id in send.episodes:
                self._book.unknown(episode_id)
            raise self._break(stream, _timeout_error(self.config.timeout_s)) from None
        if isinstance(item, MLOpsDebugError) or item is stream.END:
            error = item if isinstance(item, MLOpsDebugError) else _ended_error()
            return Broken(self._break(stream, error), sent=True)
        try:
            return _unpack(item, request_id, send.expected)
        except MLOpsDebugError as error:
            if error.domain == CLIENT_DOMAIN:  # a protocol fault: later answers cannot be trusted
                raise self._break(stream, error) from None
            return error

    def _run(self, operate: Callable[[Patience], _Operation[T]], timeout_s: float | None = None) -> T:
        """Carries out an operation's instructions, one request at a time, within one deadline."""
        patience = Patience(self.config, timeout_s)
        operation = operate(patience)
        with self._lock:
            self._check_usable()
            answer: _Answer | None = None
            while True:
                try:
                    instruction = operation.send(answer)  # type: ignore[arg-type]
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                if isinstance(instruction, _Wait):
                    time.sleep(instruction.seconds)
                    answer = None
                else:
                    answer = self._exchange(instruction, patience)

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
        sealed evaluation's next scenario (of `task_id`, or of its next task when empty); no seed.

        Without `episode_id` the client draws one (so that a reset whose answer a broken stream lost
        is never applied twice)."""
        response: pb.ResetResponse = self._run(
            lambda p: self._reset_op(task_id, seed, episode_id, p, evaluation_id, split)
        )
        return response

    def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        response: pb.StepResponse = self._run(
            functools.partial(self._step_op, episode_id or self._episode_id, as_action(action))
        )
        return response

    def step_batch(self, steps: Sequence[tuple[str, ActionLike]]) -> list[StepOutcome]:
        """One action on each of several distinct episodes (episode id, action); outcomes in order.

        A step's error is returned in its place; only a malformed batch raises.
        """
        items = [(episode_id or self._episode_id, as_action(action)) for episode_id, action in steps]
        return self._run(functools.partial(self._step_batch_op, items))

    def get_state(self, episode_id: str = "") -> pb.GetStateResponse:
        """The state of the episode, by default the latest."""
        response: pb.GetStateResponse = self._run(
            functools.partial(self._state_op, episode_id or self._episode_id)
        )
        return response

    def close_episode(self, episode_id: str = "") -> pb.CloseEpisodeResponse:
        """Closes the episode (by default the latest) and frees its slot; the stream stays open."""
        response: pb.CloseEpisodeResponse = self._run(
            functools.partial(self._close_op, episode_id or self._episode_id)
        )
        return response

    def close(self) -> None:
        """Closes the episodes reset on the session and not yet closed, then ends the stream. Idempotent.

        (The session declares itself resumable, so the service leaves its episodes open when a stream
        ends; what this cannot close, the service's idle reaper does.)"""
        if self._closed:
            return
        deadline = time.monotonic() + _SESSION_DRAIN_S  # for them all: a dead service must not hold us long
        for episode_id in self._book.owned_by(self) if self._broken is None else ():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(MLOpsDebugError):  # best effort: the idle reaper collects what remains
                self._run(functools.partial(self._close_op, episode_id), left)
        self._closed = True
        stream = self._stream
        stream.requests.put(None)  # half-close: the request iterator ends
        stream.reader.join(_SESSION_DRAIN_S)
        if stream.reader.is_alive():
            stream.call.cancel()
            stream.reader.join(_SESSION_DRAIN_S)

    def __enter__(self) -> EpisodeSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _AsyncStream:
    """One grpc.aio Session call and the requests written on it and not yet answered, oldest first."""

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig) -> None:
        self.broken: MLOpsDebugError | None = None
        self.call = stub.Session(**session_call_options(config))
        self.write_lock = asyncio.Lock()  # the write order is the order of `awaiting`
        # (request id, expected kind, answer)
        self.awaiting: collections.deque[tuple[str, str, asyncio.Future[_Answer]]] = collections.deque()
        self.reader: asyncio.Task[None] | None = None


class AsyncEpisodeSession(_SessionBase):
    """A grpc.aio Session stream, pipelined: each request is written as soon as it is made and the
    responses, which come in request order, are handed to their requests by one reader task.

    Safe to share between tasks, which then never wait for each other's round trips. An in-band
    error raises in the task that made the request and leaves the session usable. When the stream
    breaks (the service restarted, a connection dropped, a response came later than the config's
    `timeout_s`), every request caught by it reopens a new stream and resumes its episode, as
    `EpisodeSession` does; a protocol fault or any other stream failure makes the session unusable
    and fails every request still waiting. Use as an async context manager, or await `close()`.
    """

    def __init__(
        self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig, *, book: EpisodeBook | None = None
    ) -> None:
        super().__init__(config, book)
        self._stub = stub
        self._stream = _AsyncStream(stub, config)

    @property
    def _call(self) -> Any:
        return self._stream.call

    def _break(self, stream: _AsyncStream, error: MLOpsDebugError) -> MLOpsDebugError:
        """Marks the stream dead, cancels it and answers every waiting request with Broken(`error`)."""
        if stream.broken is None:
            stream.broken = error
            stream.call.cancel()
            if not is_retryable_break(error):
                self._broken = error
        while stream.awaiting:
            _, _, answer = stream.awaiting.popleft()
            if not answer.done():
                answer.set_result(Broken(stream.broken, sent=True))
        return error

    def _live_stream(self) -> _AsyncStream:
        self._check_usable()
        if self._stream.broken is not None:
            self._opened_new_stream()
            self._stream = _AsyncStream(self._stub, self.config)
        return self._stream

    async def _exchange(self, send: _Send, patience: Patience) -> _Answer:
        stream = self._live_stream()
        answer: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        async with stream.write_lock:
            if stream.broken is not None:  # broke while this request waited to write
                self._check_usable()
                return Broken(stream.broken, sent=False)
            request_id = self._next_id()
            stream.awaiting.append((request_id, send.expected, answer))
            try:
                await stream.call.write(pb.SessionRequest(request_id=request_id, **send.fields))
            except (grpc.RpcError, asyncio.InvalidStateError, grpc.aio.UsageError):  # the call already ended
                error = await _call_end_error(stream.call)
                with contextlib.suppress(ValueError):  # unless the reader already answered it
                    stream.awaiting.remove((request_id, send.expected, answer))
                self._break(stream, error)
                self._check_usable()
                return Broken(error, sent=False)
        if stream.reader is None:
            stream.reader = asyncio.create_task(self._read_responses(stream), name="mlopsdebug-session-reader")
        try:
            return await asyncio.wait_for(answer, patience.remaining())
        except TimeoutError:
            for episode_id in send.episodes:
                self._book.unknown(episode_id)
            raise self._break(stream, _timeout_error(self.config.timeout_s)) from None

    async def _read_responses(self, stream: _AsyncStream) -> None:
        """Answers waiting requests in order until the stream ends or breaks."""
        try:
            while True:
                item = await stream.call.read()
                if item is grpc.aio.EOF:  # pyright: ignore[reportAttributeAccessIssue] - missing from typeshed's grpc.aio stubs
                    if stream.awaiting or not self._closed:
                        self._break(stream, await _call_end_error(stream.call))
                    return
                if not stream.awaiting:
                    self._break(
                        stream,
                        _client_error(
                            StatusCode.INTERNAL, "session sent a response nobody asked for", "SESSION_OUT_OF_ORDER"
                        ),
                    )
                    return
                request_id, expected, answer = stream.awaiting.popleft()
                try:
                    result = _unpack(item, request_id, expected)
                except MLOpsDebugError as error:
                    result = error
                    if error.domain == CLIENT_DOMAIN:  # a protocol fault: later answers cannot be trusted
                        self._break(stream, error)
                if not answer.done():  # its caller may have timed out or been cancelled
                    answer.set_result(result)
                if stream.broken is not None:
                    return
        except grpc.RpcError as err:
            self._break(stream, error_from_rpc_error(err))
        except (asyncio.InvalidStateError, grpc.aio.UsageError):
            self._break(stream, await _call_end_error(stream.call))
        except asyncio.CancelledError:
            # The call was cancelled under the read (the stream broke), or this task was.
            self._break(stream, stream.broken or _closed_session_error())
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave requests waiting forever
            self._break(
                stream, _client_error(StatusCode.INTERNAL, f"session reader failed: {exc!r}", "SESSION_READER")
            )

    async def _run(self, operate: Callable[[Patience], _Operation[T]], timeout_s: float | None = None) -> T:
        """Carries out an operation's instructions within one deadline; other tasks' requests share
        the stream meanwhile."""
        patience = Patience(self.config, timeout_s)
        operation = operate(patience)
        self._check_usable()
        answer: _Answer | None = None
        while True:
            try:
                instruction = operation.send(answer)  # type: ignore[arg-type]
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(instruction, _Wait):
                await asyncio.sleep(instruction.seconds)
                answer = None
            else:
                answer = await self._exchange(instruction, patience)

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
        sealed evaluation's next scenario (of `task_id`, or of its next task when empty); no seed.

        Without `episode_id` the client draws one (so that a reset whose answer a broken stream lost
        is never applied twice)."""
        response: pb.ResetResponse = await self._run(
            lambda p: self._reset_op(task_id, seed, episode_id, p, evaluation_id, split)
        )
        return response

    async def step(self, action: ActionLike, episode_id: str = "") -> pb.StepResponse:
        """Applies one action (an Action or a specification dict) to the episode, by default the latest."""
        response: pb.StepResponse = await self._run(
            functools.partial(self._step_op, episode_id or self._episode_id, as_action(action))
        )
        return response

    async def step_batch(self, steps: Sequence[tuple[str, ActionLike]]) -> list[StepOutcome]:
        """One action on each of several distinct episodes (episode id, action); outcomes in order.

        A step's error is returned in its place; only a malformed batch raises.
        """
        items = [(episode_id or self._episode_id, as_action(action)) for episode_id, action in steps]
        return await self._run(functools.partial(self._step_batch_op, items))

    async def get_state(self, episode_id: str = "") -> pb.GetStateResponse:
        """The state of the episode, by default the latest."""
        response: pb.GetStateResponse = await self._run(
            functools.partial(self._state_op, episode_id or self._episode_id)
        )
        return response

    async def close_episode(self, episode_id: str = "") -> pb.CloseEpisodeResponse:
        """Closes the episode (by default the latest) and frees its slot; the stream stays open."""
        response: pb.CloseEpisodeResponse = await self._run(
            functools.partial(self._close_op, episode_id or self._episode_id)
        )
        return response

    async def close(self) -> None:
        """Closes the episodes reset on the session and not yet closed, then ends the stream once
        waiting requests are answered. Idempotent (see `EpisodeSession.close`)."""
        if self._closed:
            return
        owned = self._book.owned_by(self) if self._broken is None else []
        if owned:
            closes = [self._run(functools.partial(self._close_op, e), _SESSION_DRAIN_S) for e in owned]
            with contextlib.suppress(TimeoutError):  # best effort: the idle reaper collects what remains
                await asyncio.wait_for(asyncio.gather(*closes, return_exceptions=True), _SESSION_DRAIN_S)
        self._closed = True
        stream = self._stream
        if stream.broken is not None or stream.call.done():
            if stream.reader is not None:
                stream.reader.cancel()
            return
        try:
            async with stream.write_lock:
                await stream.call.done_writing()
            if stream.reader is None:
                stream.reader = asyncio.create_task(self._read_responses(stream))
            await asyncio.wait_for(asyncio.shield(stream.reader), _SESSION_DRAIN_S)
        except (TimeoutError, grpc.RpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            self._break(stream, _closed_session_error())
            if stream.reader is not None:
                stream.reader.cancel()

    async def __aenter__(self) -> AsyncEpisodeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _ended_error() -> MLOpsDebugError:
    return _client_error(StatusCode.UNAVAILABLE, "the session stream ended", "SESSION_ENDED")


async def _call_end_error(call: Any) -> MLOpsDebugError:
    """Why an aio stream can take no more requests: the server's status if it failed, else UNAVAILABLE."""
    code = await call.code()
    if code not in (grpc.StatusCode.OK, None):
        details = await call.details()
        return error_from_call_status(code, details, await call.trailing_metadata())
    return _ended_error()


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
    no other task's steps. Closing closes the episodes reset on the session and still open, and ends
    every stream. Each stream reopens itself after a break and its episodes resume (see
    `AsyncEpisodeSession`); the streams share what they know of the episodes, so a step on the main
    stream is judged correctly after a break even when its episode was reset on a side stream. The
    streams share one channel; behind a load balancer that spreads calls over several episode
    servers, pass `side_streams=0` so that everything rides the one stream (and so the one server),
    unless the servers share their episodes.

    Build it with `AsyncEpisodeClient.batching_session()`; sessions passed in by hand should share
    one `episode.EpisodeBook` (`book=`), else a step caught by a break on an episode reset on another
    stream raises ResponseLostError instead of being re-sent.
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
        """Whether the session can no longer send requests (closed, or failed beyond reopening)."""
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
        self._session._check_usable()  # noqa: SLF001 - the session this one wraps, same module
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
        self._session._check_usable()  # noqa: SLF001 - the session this one wraps, same module
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
        for stream in [s for s in self._side if s.closed]:  # failed beyond reopening
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
        """Opens a Session stream on this client's channel (reopened after a break; see the class)."""
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
        """Opens a Session stream on this client's channel (call from inside the event loop); it is
        reopened after a break (see the class)."""
        return AsyncEpisodeSession(self._stub, self.config)

    def batching_session(
        self, *, max_batch: int = BATCH_MAX_STEPS, max_in_flight: int = 2, side_streams: int = 4
    ) -> AsyncBatchingSession:
        """Opens a Session stream that many tasks share, each stepping its own episode; see the class."""
        book = EpisodeBook()  # shared, so a step on the main stream knows an episode reset on a side one
        return AsyncBatchingSession(
            AsyncEpisodeSession(self._stub, self.config, book=book),
            max_batch=max_batch,
            max_in_flight=max_in_flight,
            open_side_stream=lambda: AsyncEpisodeSession(self._stub, self.config, book=book),
            side_streams=side_streams,
        )
