"""`AsyncBatchingSession`: one Session stream shared by many concurrent tasks, whose waiting steps
leave together as StepBatch messages (the highest-throughput path)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb

from ._requests import BATCH_MAX_STEPS, StepOutcome, client_error, closed_session_error
from .actions import ActionLike, as_action
from .errors import MLOpsDebugError, StatusCode
from .session import AsyncEpisodeSession

__all__ = ["AsyncBatchingSession"]

T = TypeVar("T")


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
    one `EpisodeBook` (from `mlopsdebug_client.episode`) (`book=`), else a step caught by a break on an episode reset on another
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
        self._session._check_usable()  # noqa: SLF001 - the session this one wraps, same package
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
            raise client_error(
                StatusCode.INVALID_ARGUMENT,
                "episode_id is required: a batching session carries many episodes",
                "EPISODE_ID_MISSING",
            )
        self._session._check_usable()  # noqa: SLF001 - the session this one wraps, same package
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
            failure = error if isinstance(error, Exception) else closed_session_error()
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
