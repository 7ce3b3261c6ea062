"""Unit tests of the client configuration and how each client resolves its target."""

from __future__ import annotations

import dataclasses

import pytest

from mlopsdebug_client import config as cfg
from mlopsdebug_client.config import ClientConfig


class TestClientConfig:
    def test_defaults(self) -> None:
        """Defaults: no fixed target, a 30 s deadline, fail fast, no extra options."""
        c = ClientConfig()
        assert c.target is None and c.timeout_s == 30.0 and c.wait_for_ready is False and c.options == ()

    def test_is_frozen(self) -> None:
        """A config cannot be changed after creation."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            ClientConfig().timeout_s = 1.0  # type: ignore[misc]

    def test_options_become_a_tuple_of_pairs(self) -> None:
        """Options given as a list of lists are stored as a hashable tuple of pairs."""
        c = ClientConfig(options=[["grpc.max_receive_message_length", 1 << 22]])  # type: ignore[arg-type]
        assert c.options == (("grpc.max_receive_message_length", 1 << 22),)
        hash(c)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"target": ""},
            {"timeout_s": 0},
            {"timeout_s": -1.0},
            {"max_retries": -1},
            {"retry_initial_backoff_s": -0.1},
            {"tls_cert_file": "client.crt"},
            {"tls_key_file": "client.key"},
        ],
    )
    def test_rejects_nonsense(self, kwargs) -> None:
        """Empty targets, non-positive deadlines and negative retry settings are refused."""
        with pytest.raises(ValueError):
            ClientConfig(**kwargs)

    def test_no_deadline_is_allowed(self) -> None:
        """timeout_s=None means calls wait forever."""
        assert ClientConfig(timeout_s=None).timeout_s is None

    def test_backoff_doubles_and_is_capped(self) -> None:
        """Retry waits double from the initial backoff up to the cap."""
        c = ClientConfig(retry_initial_backoff_s=0.1, retry_max_backoff_s=0.5)
        assert [c.backoff_s(i) for i in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


class TestResolveConfig:
    def test_default_target_per_client(self) -> None:
        """Without target or config each client uses its own default port."""
        assert cfg.resolve_config(None, None, cfg.GENERATOR_TARGET).target == "localhost:50051"
        assert cfg.resolve_config(None, None, cfg.EPISODE_TARGET).target == "localhost:50052"
        assert cfg.resolve_config(None, None, cfg.GRADER_TARGET).target == "localhost:50053"

    def test_shared_config_without_target_keeps_per_client_defaults(self) -> None:
        """One config without a target serves every client, each on its own port."""
        shared = ClientConfig(timeout_s=5.0)
        grader = cfg.resolve_config(None, shared, cfg.GRADER_TARGET)
        assert grader.target == "localhost:50053" and grader.timeout_s == 5.0

    def test_explicit_target_wins(self) -> None:
        """A target argument overrides the config's, which overrides the default."""
        c = ClientConfig(target="episode:1")
        assert cfg.resolve_config(None, c, cfg.EPISODE_TARGET).target == "episode:1"
        assert cfg.resolve_config("other:2", c, cfg.EPISODE_TARGET).target == "other:2"


class TestTlsSettings:
    def test_plaintext_unless_a_ca_or_certificate_is_given(self, monkeypatch) -> None:
        """No CA and no client certificate: plaintext; either one: TLS."""
        monkeypatch.delenv(cfg.TLS_CA_ENV, raising=False)
        assert not cfg.resolve_config(None, None, cfg.EPISODE_TARGET).uses_tls
        assert ClientConfig(tls_ca_file="ca.crt").uses_tls
        assert ClientConfig(tls_cert_file="c.crt", tls_key_file="c.key").uses_tls

    def test_the_ca_file_comes_from_the_environment_unless_configured(self, monkeypatch) -> None:
        """MLOPSDEBUG_TLS_CA fills in a config without a CA file; a configured one wins."""
        monkeypatch.setenv(cfg.TLS_CA_ENV, "/etc/mlopsdebug/ca.crt")
        assert cfg.resolve_config(None, None, cfg.EPISODE_TARGET).tls_ca_file == "/etc/mlopsdebug/ca.crt"
        mine = ClientConfig(tls_ca_file="mine.crt")
        assert cfg.resolve_config(None, mine, cfg.EPISODE_TARGET).tls_ca_file == "mine.crt"

    def test_an_unreadable_file_is_a_clear_error(self, tmp_path) -> None:
        from mlopsdebug_client._transport import open_channel

        with pytest.raises(ValueError, match="tls_ca_file .* cannot be read"):
            open_channel(ClientConfig(target="localhost:1", tls_ca_file=str(tmp_path / "missing.crt")))
