"""Unit tests of the shared pieces: answer-key sealing and the one error-to-status mapping."""

from __future__ import annotations

import dataclasses

import pytest
from google.rpc import code_pb2, error_details_pb2

from mlopsdebug_common.answer_key import AnswerKey, AnswerKeyError
from mlopsdebug_common.errors import FailedPrecondition, InvalidArgument, NotFound
from mlopsdebug_common.rpc import internal_status, status_from_error, status_from_exception
from mlopsdebug_common.sealing import Sealer, SealError

KEY = AnswerKey(
    "exploding_lr", "config_error", "config.yaml", "optimizer.learning_rate", ("lr",),
    {"bad_value": 3.0, "safe_max": 0.01}, "easy", 1, "sc-1", "2.0.0",
)


class TestSealing:
    def test_round_trip_and_determinism(self):
        """Sealing is deterministic and opening returns the same key."""
        sealer = Sealer(b"s" * 32)
        assert sealer.seal(KEY) == sealer.seal(KEY)
        assert sealer.open(sealer.seal(KEY)) == KEY

    def test_the_plaintext_is_not_visible(self):
        """The sealed bytes do not contain the field, file or fault names."""
        sealed = Sealer(b"s" * 32).seal(KEY)
        for secret_word in (b"learning_rate", b"exploding", b"config.yaml"):
            assert secret_word not in sealed.ciphertext + sealed.nonce + sealed.key_id.encode()

    def test_other_secret_tampering_and_moved_keys_fail(self):
        """A foreign secret, a flipped bit, or another scenario id are all refused."""
        sealed = Sealer(b"s" * 32).seal(KEY)
        with pytest.raises(SealError):
            Sealer(b"t" * 32).open(sealed)
        flipped = dataclasses.replace(sealed, ciphertext=bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:])
        with pytest.raises(SealError):
            Sealer(b"s" * 32).open(flipped)
        with pytest.raises(SealError):
            Sealer(b"s" * 32).open(dataclasses.replace(sealed, scenario_id="sc-2"))

    def test_seal_and_key_errors_are_invalid_answer_keys(self):
        """Both are the common InvalidArgument on field answer_key (ANSWER_KEY_INVALID): no hand translation."""
        with pytest.raises(SealError) as sealed:
            Sealer(b"t" * 32).open(Sealer(b"s" * 32).seal(KEY))
        with pytest.raises(AnswerKeyError) as malformed:
            AnswerKey.from_bytes(b"{not json")
        for error in (sealed.value, malformed.value):
            assert isinstance(error, InvalidArgument) and error.reason == "ANSWER_KEY_INVALID"
            assert [v.field for v in error.violations] == ["answer_key"]

    def test_short_secrets_are_refused(self):
        """A secret under 16 bytes cannot be used."""
        with pytest.raises(ValueError):
            Sealer(b"short")


class TestAnswerKey:
    def test_canonical_bytes_round_trip(self):
        """Serialisation is canonical and reversible."""
        assert AnswerKey.from_bytes(KEY.to_bytes()) == KEY

    def test_inconsistent_keys_are_refused(self):
        """A key whose category or params do not fit its fault is invalid."""
        with pytest.raises(AnswerKeyError):
            dataclasses.replace(KEY, category="data_leakage")
        with pytest.raises(AnswerKeyError):
            dataclasses.replace(KEY, params={})
        with pytest.raises(AnswerKeyError):
            AnswerKey.from_bytes(b"{not json")


class TestStatusMapping:
    def test_invalid_argument_carries_error_info_and_violations(self):
        """INVALID_ARGUMENT statuses carry ErrorInfo and BadRequest field violations."""
        status = status_from_error(InvalidArgument.for_field("seed", "too big", reason="INVALID_SEED"), "x.mlopsdebug")
        assert status.code == code_pb2.INVALID_ARGUMENT
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        assert status.details[0].Unpack(info) and status.details[1].Unpack(bad)
        assert (info.reason, info.domain) == ("INVALID_SEED", "x.mlopsdebug")
        assert [(v.field, v.description) for v in bad.field_violations] == [("seed", "too big")]

    @pytest.mark.parametrize("error,code", [(NotFound("x"), code_pb2.NOT_FOUND),
                                            (FailedPrecondition("x"), code_pb2.FAILED_PRECONDITION)])
    def test_each_domain_error_has_its_code(self, error, code):
        """Each domain error maps to its canonical code."""
        assert status_from_error(error, "d").code == code

    def test_unexpected_errors_are_internal_and_opaque(self):
        """Unexpected exceptions become INTERNAL with a generic message, never their text."""
        status = status_from_exception(RuntimeError("secret detail"), "d")
        assert status == internal_status("d") and "secret" not in status.message


class TestChannelSettings:
    def test_servers_accept_the_keepalive_pings_our_channels_send(self):
        """Our channels ping idle connections; a server that found the pings too frequent would close
        every idle internal connection with GOAWAY "too_many_pings" (as gRPC's 5-minute default did)."""
        from mlopsdebug_common.rpc import CHANNEL_OPTIONS, SERVER_OPTIONS

        channel, server = dict(CHANNEL_OPTIONS), dict(SERVER_OPTIONS)
        assert channel["grpc.keepalive_permit_without_calls"] == 1
        assert server["grpc.http2.min_ping_interval_without_data_ms"] < channel["grpc.keepalive_time_ms"]

    def test_only_channels_to_stateless_services_go_round_robin(self):
        """Calls to generator and grader may go to any replica; the episode service holds episodes, so
        the gateway's channel to it must stick to one server."""
        from mlopsdebug_common.rpc import CHANNEL_OPTIONS, STATELESS_PEER_OPTIONS

        assert dict(STATELESS_PEER_OPTIONS)["grpc.lb_policy_name"] == "round_robin"
        assert set(CHANNEL_OPTIONS) < set(STATELESS_PEER_OPTIONS)
        assert "grpc.lb_policy_name" not in dict(CHANNEL_OPTIONS)

    def test_a_peer_call_waits_for_a_reconnect_longer_than_the_longest_backoff(self):
        """A restarted peer is reconnected to within the window a call waits for it (the channel's longest
        reconnect backoff plus gRPC's 20% jitter), so calls fail fast only when the peer stays down."""
        from mlopsdebug_common.rpc import STATELESS_PEER_OPTIONS
        from mlopsdebug_episode.remote import CONNECT_WINDOW_S

        longest_backoff_s = dict(STATELESS_PEER_OPTIONS)["grpc.max_reconnect_backoff_ms"] / 1000 * 1.2
        assert longest_backoff_s < CONNECT_WINDOW_S


class TestRateLimitedLog:
    def test_one_line_per_interval_counting_the_rest(self, caplog):
        """Within an interval only the first occurrence is logged; the next line says how many were not."""
        import logging

        from mlopsdebug_common import rpc

        now = [1000.0]
        limited = rpc.RateLimitedLog(logging.getLogger("test.ratelimit"), interval_s=60, clock=lambda: now[0])
        with caplog.at_level(logging.WARNING, logger="test.ratelimit"):
            assert [limited.warning("bad request %d", i) for i in range(5)] == [True] + [False] * 4
            now[0] += 61
            assert limited.warning("bad request %d", 5)
        assert [r.getMessage() for r in caplog.records] == [
            "bad request 0", "bad request 5 (4 more since the last report)",
        ]
