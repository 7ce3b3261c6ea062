"""The pure parts of session recovery: which breaks are cured by a new stream, the backoff inside the
deadline, the verdict on a step whose answer was lost, and what the episode book remembers."""

from __future__ import annotations

import re

import pytest

from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug_client import ClientConfig, EpisodeLostError, NotFoundError, ResponseLostError, StatusCode
from mlopsdebug_client._resume import (
    CLIENT_DOMAIN,
    EpisodeBook,
    Patience,
    is_our_lost_reset,
    is_retryable_break,
    new_episode_id,
    step_verdict,
)
from mlopsdebug_client._transport import channel_options
from mlopsdebug_client.errors import MLOpsDebugError, make_error


def _error(code: StatusCode, domain: str = "", reason: str = "") -> MLOpsDebugError:
    return make_error(code, "x", domain=domain, reason=reason)


class TestRetryableBreaks:
    @pytest.mark.parametrize(
        ("error", "retryable"),
        [
            (_error(StatusCode.UNAVAILABLE), True),
            (_error(StatusCode.INTERNAL), True),  # a stream reset by a stopping server
            (_error(StatusCode.CANCELLED), True),
            (_error(StatusCode.INTERNAL, "episode.mlopsdebug", "INTERNAL"), False),  # the service's own
            (_error(StatusCode.RESOURCE_EXHAUSTED, "episode.mlopsdebug"), False),
            (_error(StatusCode.UNAUTHENTICATED), False),
            (_error(StatusCode.UNAVAILABLE, CLIENT_DOMAIN, "SESSION_ENDED"), True),
            (_error(StatusCode.DEADLINE_EXCEEDED, CLIENT_DOMAIN, "SESSION_TIMEOUT"), True),
            (_error(StatusCode.INTERNAL, CLIENT_DOMAIN, "SESSION_OUT_OF_ORDER"), False),
            (_error(StatusCode.FAILED_PRECONDITION, CLIENT_DOMAIN, "SESSION_CLOSED"), False),
        ],
    )
    def test_only_what_a_new_stream_can_cure(self, error, retryable) -> None:
        assert is_retryable_break(error) is retryable


class TestPatience:
    def test_waits_grow_with_jitter_and_stop_at_the_reconnect_window(self, monkeypatch) -> None:
        now = [100.0]
        monkeypatch.setattr("mlopsdebug_client._resume.time.monotonic", lambda: now[0])
        config = ClientConfig(timeout_s=None, retry_initial_backoff_s=0.1, retry_max_backoff_s=0.4, reconnect_s=1.0)
        patience = Patience(config)
        error = _error(StatusCode.UNAVAILABLE)
        waits = []
        with pytest.raises(MLOpsDebugError) as info:
            while True:
                waits.append(patience.next_wait(error))
                now[0] += waits[-1]  # the caller sleeps
        assert info.value is error
        for wait, cap in zip(waits, [0.1, 0.2, 0.4, 0.4, 0.4], strict=False):
            assert cap / 2 <= wait <= cap
        assert sum(waits) < 1.0  # no wait ends past the window
        assert len(waits) >= 3

    def test_a_wait_past_the_deadline_raises_at_once(self) -> None:
        patience = Patience(ClientConfig(timeout_s=0.01, retry_initial_backoff_s=1.0))
        with pytest.raises(MLOpsDebugError):
            patience.next_wait(_error(StatusCode.UNAVAILABLE))

    def test_incurable_errors_and_reconnect_off_raise_at_once(self) -> None:
        with pytest.raises(MLOpsDebugError):
            Patience(ClientConfig()).next_wait(_error(StatusCode.RESOURCE_EXHAUSTED, "episode.mlopsdebug"))
        with pytest.raises(MLOpsDebugError):
            Patience(ClientConfig(reconnect_s=0)).next_wait(_error(StatusCode.UNAVAILABLE))

    def test_reconnect_s_is_validated(self) -> None:
        with pytest.raises(ValueError, match="reconnect_s"):
            ClientConfig(reconnect_s=-1)


class TestStepVerdict:
    def test_unchanged_count_means_send_again(self) -> None:
        assert step_verdict("ep-1", 3, pb.EpisodeStateInfo(step_count=3)) is None

    def test_one_more_means_applied(self) -> None:
        verdict = step_verdict("ep-1", 3, pb.EpisodeStateInfo(step_count=4))
        assert isinstance(verdict, ResponseLostError) and verdict.applied is True
        assert verdict.code is StatusCode.ABORTED and verdict.reason == "RESPONSE_LOST"
        assert verdict.metadata == {"episode_id": "ep-1", "applied": "true", "step_count": "4"}

    @pytest.mark.parametrize(("known", "now"), [(None, 0), (None, 5), (3, 5), (3, 2)])
    def test_anything_else_is_unknown(self, known, now) -> None:
        verdict = step_verdict("ep-1", known, pb.EpisodeStateInfo(step_count=now))
        assert isinstance(verdict, ResponseLostError) and verdict.applied is None

    def test_the_error_survives_pickling(self) -> None:
        import pickle

        verdict = step_verdict("ep-1", 0, pb.EpisodeStateInfo(step_count=1))
        copy = pickle.loads(pickle.dumps(verdict))  # noqa: S301 - our own object
        assert type(copy) is ResponseLostError and copy.applied is True


class TestEpisodeBook:
    def test_not_found_after_a_reopen_is_episode_lost(self) -> None:
        book = EpisodeBook()
        book.started("ep-1", owner="s")
        book.started("ep-2", owner="s")
        not_found = _error(StatusCode.NOT_FOUND, "episode.mlopsdebug", "EPISODE_NOT_FOUND")
        assert book.explain("ep-1", not_found) is not_found  # no reopen since it was seen: plain
        book.epoch += 1
        lost = book.explain("ep-2", not_found)
        assert isinstance(lost, EpisodeLostError) and isinstance(lost, NotFoundError)
        assert lost.reason == "EPISODE_LOST" and lost.metadata == {"episode_id": "ep-2"}
        assert len(book) == 0  # both forgotten
        assert book.explain("ep-9", not_found) is not_found  # never known

    def test_seen_alive_after_the_reopen_is_not_lost(self) -> None:
        book = EpisodeBook()
        book.started("ep-1", owner="s")
        book.epoch += 1
        book.seen("ep-1", 4)
        assert book.step_count("ep-1") == 4
        not_found = _error(StatusCode.NOT_FOUND)
        assert book.explain("ep-1", not_found) is not_found  # expired later, not lost in the break

    def test_counts_owners_and_timeouts(self) -> None:
        book = EpisodeBook()
        book.started("a", owner=1)
        book.started("b", owner=2)
        book.seen("untracked", 3)
        assert book.step_count("untracked") is None and len(book) == 2
        book.unknown("a")
        assert book.step_count("a") is None and book.step_count("b") == 0
        assert book.owned_by(1) == ["a"] and book.owned_by(2) == ["b"]
        book.forget("a")
        assert book.owned_by(1) == []


def test_client_drawn_ids_look_like_the_service_s() -> None:
    assert re.fullmatch(r"ep-[0-9a-f]{24}", new_episode_id())
    assert new_episode_id() != new_episode_id()


def test_a_lost_reset_is_recognised_only_untouched_and_matching() -> None:
    state = pb.EpisodeStateInfo(task_id="easy", seed=7, step_count=0)
    assert is_our_lost_reset(state, "easy", 7) and is_our_lost_reset(state, "easy", None)
    assert not is_our_lost_reset(state, "easy", 8) and not is_our_lost_reset(state, "hard", 7)
    assert not is_our_lost_reset(pb.EpisodeStateInfo(task_id="easy", seed=7, step_count=1), "easy", 7)


def test_channels_cap_grpc_reconnect_backoff_unless_configured() -> None:
    assert ("grpc.max_reconnect_backoff_ms", 5000) in channel_options(ClientConfig())
    mine = ClientConfig(options=[("grpc.max_reconnect_backoff_ms", 900)])
    assert channel_options(mine) == [("grpc.max_reconnect_backoff_ms", 900)]
