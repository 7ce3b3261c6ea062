"""Session streams of the episode service: `EpisodeSession` (sync) and `AsyncEpisodeSession` (grpc.aio).

A session is one long-lived `Session` call carrying reset/step/state/close requests with one response
each, in order: the lowest-latency path. When the stream breaks (the service restarted, a connection
dropped), the session opens a new one and resumes the episodes that still exist, without ever applying
a request twice; see `_resume`. Both sessions share one recovery logic: each operation is a generator
of instructions (`_Send`, `_Wait`) that the sync or async driver carries out.
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
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

import grpc

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as pb_grpc

from ._requests import StepOutcome, batch_outcomes, client_error, closed_session_error, reset_request
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
from ._transport import session_call_options
from .actions import ActionLike, as_action
from .config import ClientConfig
from .errors import (
    MLOpsDebugError,
    StatusCode,
    error_from_call_status,
    error_from_rpc_error,
    error_from_status,
)

__all__ = ["AsyncEpisodeSession", "EpisodeSession"]

T = TypeVar("T")

# How long close() waits for the server to finish a Session stream before cancelling it.
_SESSION_DRAIN_S: Final[float] = 5.0


def _unpack(response: pb.SessionResponse, request_id: str, expected: str) -> Any:
    """The typed answer inside a session response; raises for an in-band error or a protocol fault."""
    if response.request_id != request_id:
        raise client_error(
            StatusCode.INTERNAL,
            f"session response {response.request_id!r} does not answer request {request_id!r}",
            "SESSION_OUT_OF_ORDER",
        )
    kind = response.WhichOneof("response")
    if kind == "error":
        raise error_from_status(response.error)
    if kind != expected:
        raise client_error(
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
            raise closed_session_error()

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
        request = {"reset": reset_request(task_id, seed, episode_id, evaluation_id, split)}
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
            for i, outcome in zip(pending, batch_outcomes(answer), strict=True):
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
    return client_error(
        StatusCode.UNAVAILABLE, f"a lost reset of {episode_id!r} is still pending", "RESET_PENDING"
    )


def _timeout_error(timeout_s: float | None) -> MLOpsDebugError:
    return client_error(StatusCode.DEADLINE_EXCEEDED, f"no session response within {timeout_s} s", "SESSION_TIMEOUT")


class _SyncStream:
    """One sync Session call: its request queue and a reader thread that queues the responses."""

    END: Final = object()

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig, episode_id: str = "") -> None:
        self.broken: MLOpsDebugError | None = None
        self.requests: queue.Queue[pb.SessionRequest | None] = queue.Queue()
        self.responses: queue.Queue[Any] = queue.Queue()
        self.call = stub.Session(iter(self.requests.get, None), **session_call_options(config, episode_id))
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
            stream = self._stream = _SyncStream(self._stub, self.config, self._episode_id)
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

    def __init__(self, stub: pb_grpc.EpisodeServiceStub, config: ClientConfig, episode_id: str = "") -> None:
        self.broken: MLOpsDebugError | None = None
        self.call = stub.Session(**session_call_options(config, episode_id))
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
            self._stream = _AsyncStream(self._stub, self.config, self._episode_id)
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
        remaining = patience.remaining()
        if remaining is None:  # no deadline: wait_for would only add a coroutine and a future per request
            return await answer
        try:
            return await asyncio.wait_for(answer, remaining)
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
                        client_error(
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
            self._break(stream, stream.broken or closed_session_error())
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave requests waiting forever
            self._break(
                stream, client_error(StatusCode.INTERNAL, f"session reader failed: {exc!r}", "SESSION_READER")
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
            self._break(stream, closed_session_error())
            if stream.reader is not None:
                stream.reader.cancel()

    async def __aenter__(self) -> AsyncEpisodeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _ended_error() -> MLOpsDebugError:
    return client_error(StatusCode.UNAVAILABLE, "the session stream ended", "SESSION_ENDED")


async def _call_end_error(call: Any) -> MLOpsDebugError:
    """Why an aio stream can take no more requests: the server's status if it failed, else UNAVAILABLE."""
    code = await call.code()
    if code not in (grpc.StatusCode.OK, None):
        details = await call.details()
        return error_from_call_status(code, details, await call.trailing_metadata())
    return _ended_error()
