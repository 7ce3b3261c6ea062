"""What a Session needs to reopen a broken stream and resume its episodes without applying a request twice.

The policy (shared by the sync and async sessions):
- A stream that breaks (`is_retryable_break`: the service unreachable or restarting, a stream reset
  by a stopping server, or a stream that ended or timed out unasked) is reopened by the next
  request, and a request caught by the break reopens it itself, with backoff and jitter, within its
  own deadline and `ClientConfig.reconnect_s`. Any other failure ends the session for good.
- A request that never left is simply sent on the new stream. One that left has an unknown outcome:
  - GetState is asked again (it changes nothing);
  - a step is re-sent only when GetState shows the episode's step count unchanged since the last
    answer the session saw; if it moved on by one the step was applied and its observation is lost
    (ResponseLostError, applied); if the session never knew the count, ResponseLostError (unknown);
  - a reset always carries an episode id (the client draws one when the caller gives none), so it
    is re-sent under the same id; ALREADY_EXISTS then means the lost reset was applied, and that
    fresh, untouched episode is closed and reset again: never two episodes for one reset;
  - a close is re-sent; NOT_FOUND then means it was closed (or lost): EpisodeLostError.
- NOT_FOUND for an episode the session knew alive before a reopen is EpisodeLostError: the episode
  went with the process that held it.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Final

from mlopsdebug.episode.v1 import episode_service_pb2 as pb

from .config import ClientConfig
from .errors import EpisodeLostError, MLOpsDebugError, ResponseLostError, StatusCode

# Errors raised by the client itself (not by a server) carry this ErrorInfo domain.
CLIENT_DOMAIN: Final[str] = "client.mlopsdebug"
# Stream breaks that a reopened stream can cure (reasons of the client's own errors).
_RETRYABLE_REASONS: Final = frozenset({"SESSION_ENDED", "SESSION_TIMEOUT", "RESET_PENDING"})


def new_episode_id() -> str:
    """An episode id drawn by the client, in the service's own format, so a reset can be re-sent safely."""
    return "ep-" + secrets.token_hex(12)


def is_retryable_break(error: MLOpsDebugError) -> bool:
    """Whether a stream that failed with `error` may be reopened: the service is unreachable or
    restarting (UNAVAILABLE; or CANCELLED or INTERNAL without details, which is how gRPC reports a
    stream reset by a server that stops), or the stream ended or timed out. Other failures (a status
    the service chose, a protocol fault) end the session."""
    if error.domain == CLIENT_DOMAIN:
        return error.reason in _RETRYABLE_REASONS
    if error.code == StatusCode.UNAVAILABLE:
        return True
    return error.code in (StatusCode.CANCELLED, StatusCode.INTERNAL) and not error.domain


@dataclasses.dataclass(slots=True)
class Broken:
    """The answer to a request whose stream broke: `sent` is False when it never left this side."""

    error: MLOpsDebugError
    sent: bool


class Patience:
    """One request's deadline (`timeout_s`) and its reconnect window (`reconnect_s` from its first break)."""

    def __init__(self, config: ClientConfig, timeout_s: float | None = None) -> None:
        self._config = config
        budget = timeout_s if timeout_s is not None else config.timeout_s
        self._deadline = None if budget is None else time.monotonic() + budget
        self._window_end: float | None = None
        self._attempt = 0

    def remaining(self) -> float | None:
        """Seconds left before the request's deadline (None: no deadline)."""
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def next_wait(self, error: MLOpsDebugError) -> float:
        """How long to wait before reopening the stream; raises `error` when it cannot be cured or
        when the wait would pass the deadline or the reconnect window."""
        if not is_retryable_break(error) or self._config.reconnect_s <= 0:
            raise error
        now = time.monotonic()
        if self._window_end is None:
            self._window_end = now + self._config.reconnect_s
        wait = self._config.reconnect_backoff_s(self._attempt)
        self._attempt += 1
        end = self._window_end if self._deadline is None else min(self._window_end, self._deadline)
        if now + wait >= end:
            raise error
        return wait


@dataclasses.dataclass(slots=True)
class _Entry:
    step_count: int | None  # the last count the session saw; None once a timeout left it unknown
    epoch: int  # the book's epoch when the episode was last seen alive
    owner: object  # the session (stream holder) it was reset on, which closes it when it closes


class EpisodeBook:
    """The episodes reset through a session (shared by a batching session's streams) and not yet
    closed through it: their last known step counts, to judge a step whose answer was lost, and the
    session that closes them when it closes (the service leaves a resumable session's episodes open
    when a stream ends).

    `epoch` counts stream reopenings; an episode last seen alive in an earlier epoch and now NOT_FOUND
    was lost with the stream's server.
    """

    def __init__(self) -> None:
        self.epoch = 0
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def started(self, episode_id: str, owner: object) -> None:
        self._entries[episode_id] = _Entry(0, self.epoch, owner)

    def seen(self, episode_id: str, step_count: int) -> None:
        entry = self._entries.get(episode_id)
        if entry is not None:
            entry.step_count, entry.epoch = step_count, self.epoch

    def unknown(self, episode_id: str) -> None:
        """A request on the episode timed out: it may still be applied, so its count is no longer known."""
        entry = self._entries.get(episode_id)
        if entry is not None:
            entry.step_count = None

    def forget(self, episode_id: str) -> None:
        self._entries.pop(episode_id, None)

    def step_count(self, episode_id: str) -> int | None:
        entry = self._entries.get(episode_id)
        return None if entry is None else entry.step_count

    def owned_by(self, owner: object) -> list[str]:
        """The open episodes `owner` reset."""
        return [episode_id for episode_id, entry in self._entries.items() if entry.owner is owner]

    def explain(self, episode_id: str, error: MLOpsDebugError) -> MLOpsDebugError:
        """`error` as the caller should see it: EpisodeLostError for a known episode gone since a reopen."""
        if error.code != StatusCode.NOT_FOUND:
            return error
        entry = self._entries.pop(episode_id, None)
        if entry is None or entry.epoch >= self.epoch or isinstance(error, EpisodeLostError):
            return error
        return lost_episode_error(episode_id)


def lost_episode_error(episode_id: str, *, closed_or_lost: bool = False) -> EpisodeLostError:
    what = (
        "is gone: a close whose answer a broken stream lost closed it, or the service lost it"
        if closed_or_lost
        else "was lost: the session's stream broke and, once reopened, the service no longer had it "
        "(it restarted without a shared store); play it again from a new reset"
    )
    return EpisodeLostError(
        StatusCode.NOT_FOUND,
        f"episode {episode_id!r} {what}",
        reason="EPISODE_LOST",
        domain=CLIENT_DOMAIN,
        metadata={"episode_id": episode_id},
    )


def step_verdict(episode_id: str, known: int | None, state: pb.EpisodeStateInfo) -> ResponseLostError | None:
    """After a step's stream broke: None when the step was not applied (send it again), else the error."""
    if known is not None and state.step_count == known:
        return None
    applied = known is not None and state.step_count == known + 1
    what = (
        f"was applied (step count {known} -> {state.step_count}) but its answer was lost"
        if applied
        else "may have been applied (the session did not know the episode's step count before it)"
    )
    return ResponseLostError(
        StatusCode.ABORTED,
        f"the session's stream broke after a step on {episode_id!r} was sent; the step {what}. "
        "Sending it again could apply it twice; replay the episode, or read its state",
        reason="RESPONSE_LOST",
        domain=CLIENT_DOMAIN,
        metadata={
            "episode_id": episode_id,
            "applied": "true" if applied else "unknown",
            "step_count": str(state.step_count),
        },
    )


def is_our_lost_reset(state: pb.EpisodeStateInfo, task_id: str, seed: int | None) -> bool:
    """Whether an existing episode is what a reset lost with its stream would have made: untouched,
    same task and (when given) seed. Closing it and resetting again then changes nothing."""
    return state.step_count == 0 and state.task_id == task_id and (seed is None or state.seed == seed)
