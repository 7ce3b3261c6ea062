"""Unit tests of API keys, call owners, and the core's ownership, quota and ended-slot bookkeeping."""

from __future__ import annotations

import asyncio

import pytest
from unit.test_episode_core import DIAG, FakeGrader, make_scenario, manager, run

from mlopsdebug_common.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from mlopsdebug_common.principals import ApiKeys, digest, keys_from_env, owner_of_call
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import EpisodeConfig, EpisodeManager
from mlopsdebug_gateway.auth import AuthError, http_caller, ws_caller

KEY = "k-0123456789abcdef"
KEYS = ApiKeys.parse(f"# a comment\n\n{KEY} alice\nsha256:{digest('bob-0123456789abcdef').hex()} bob\n")
READ = Action("read_config")
SUBMIT = Action("submit_diagnosis", diagnosis=DIAG)


class TestApiKeys:
    def test_plain_and_hashed_entries_name_their_principal(self):
        assert KEYS.principal(KEY) == "alice"
        assert KEYS.principal("bob-0123456789abcdef") == "bob"
        assert KEYS.principal("k-0123456789abcdeF") is None
        assert KEYS.principals == {"alice", "bob"}
        assert KEY.encode() not in repr(KEYS).encode()  # only digests are kept

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("", "no keys"),
            ("k-0123456789abcdef", "line 1"),
            ("short alice", "16 characters"),
            ("k-0123456789abcdef al/ice", "principal"),
            ("k-0123456789abcdef a\nk-0123456789abcdef b", "twice"),
            ("sha256:abc alice", "16 characters"),  # not a digest, so a (too short) plain key
        ],
    )
    def test_malformed_files_are_refused_naming_the_line(self, text, problem):
        with pytest.raises(ValueError, match=problem):
            ApiKeys.parse(text)

    def test_keys_come_from_the_file_the_environment_names(self, tmp_path):
        path = tmp_path / "keys"
        path.write_text(f"{KEY} alice\n")
        assert keys_from_env({"MLOPSDEBUG_API_KEYS_FILE": str(path)}).principal(KEY) == "alice"
        assert keys_from_env({}) is None
        with pytest.raises(SystemExit, match="MLOPSDEBUG_API_KEYS_FILE"):
            keys_from_env({"MLOPSDEBUG_API_KEYS_FILE": str(tmp_path / "missing")})


class TestOwnerOfCall:
    def test_with_keys_only_a_valid_key_names_the_owner(self):
        assert owner_of_call([("authorization", f"Bearer {KEY}")], "ipv4:1.2.3.4:5", KEYS) == "key:alice"
        assert owner_of_call([("authorization", f"bearer  {KEY} ")], "p", KEYS) == "key:alice"
        for metadata in ([], [("authorization", "Bearer nope-0123456789abcdef")], [("authorization", KEY)],
                         [("x-mlopsdebug-client-token", "t")]):
            with pytest.raises(Unauthenticated):
                owner_of_call(metadata, "p", KEYS)

    def test_without_keys_the_token_else_the_peer_names_the_owner(self):
        token_owner = owner_of_call([("x-mlopsdebug-client-token", "secret")], "p", None)
        assert token_owner.startswith("token:") and "secret" not in token_owner
        assert owner_of_call([("x-mlopsdebug-client-token", "secret")], "q", None) == token_owner
        assert owner_of_call([("authorization", f"Bearer {KEY}")], "ipv4:1.2.3.4:5", None) == "peer:ipv4:1.2.3.4:5"
        with pytest.raises(InvalidArgument):
            owner_of_call([("x-mlopsdebug-client-token", "x" * 257)], "p", None)

    def test_behind_a_proxy_its_peer_header_names_a_tokenless_caller(self):
        forwarded = [("x-mlopsdebug-peer", "10.0.0.7:41234")]
        assert owner_of_call(forwarded, "ipv4:10.0.0.2:5", None, trust_proxy_peer=True) == "peer:10.0.0.7:41234"
        # Not trusted unless told: any direct caller could send the header.
        assert owner_of_call(forwarded, "ipv4:10.0.0.2:5", None) == "peer:ipv4:10.0.0.2:5"
        # A call that did not come through the proxy keeps its connection's peer; a token or key still wins.
        assert owner_of_call([], "ipv4:10.0.0.2:5", None, trust_proxy_peer=True) == "peer:ipv4:10.0.0.2:5"
        token = [("x-mlopsdebug-client-token", "secret"), *forwarded]
        assert owner_of_call(token, "p", None, trust_proxy_peer=True) == owner_of_call(token[:1], "p", None)
        keyed = [("authorization", f"Bearer {KEY}"), *forwarded]
        assert owner_of_call(keyed, "p", KEYS, trust_proxy_peer=True) == "key:alice"


class TestGatewayCallers:
    def test_http_callers(self):
        secret = b"s" * 32
        keyed = http_caller({"authorization": f"Bearer {KEY}"}, "1.2.3.4", KEYS, secret)
        assert keyed.limit_key == "key:alice" and ("authorization", f"Bearer {KEY}") in keyed.metadata
        with pytest.raises(AuthError) as refused:
            http_caller({}, "1.2.3.4", KEYS, secret)
        assert refused.value.status == 401
        with pytest.raises(AuthError):
            http_caller({"authorization": "Basic YTpi"}, "1.2.3.4", KEYS, secret)
        proxied = http_caller({"authorization": "Basic YTpi"}, "1.2.3.4", None, secret)  # not ours: ignored
        assert proxied.limit_key == "ip:1.2.3.4" and "authorization" not in dict(proxied.metadata)
        token = http_caller({"x-mlopsdebug-client-token": "mine"}, "1.2.3.4", None, secret)
        assert token.metadata == (("x-mlopsdebug-client-token", "mine"),)
        here, there = (http_caller({}, host, None, secret) for host in ("1.2.3.4", "5.6.7.8"))
        assert here.metadata != there.metadata and here.limit_key == "ip:1.2.3.4"
        assert http_caller({}, "1.2.3.4", None, b"t" * 32).metadata != here.metadata  # needs the secret

    def test_each_anonymous_websocket_gets_its_own_token(self):
        first, second = ws_caller({}, [], None), ws_caller({}, [], None)
        assert first.metadata != second.metadata and first.limit_key != second.limit_key
        offered = ws_caller({}, ["other", f"mlopsdebug.bearer.{KEY}"], KEYS)
        assert (offered.limit_key, offered.subprotocol) == ("key:alice", f"mlopsdebug.bearer.{KEY}")
        with pytest.raises(AuthError):
            ws_caller({}, ["mlopsdebug.bearer.wrong-0123456789"], KEYS)


class TestCoreOwnership:
    def test_episodes_are_reachable_by_their_owner_only(self):
        m, _, _ = manager()

        async def scenario():
            a = await m.reset("easy", 1, "ep-1", owner="a")
            b = await m.reset("easy", 2, "ep-1", owner="b")
            with pytest.raises(AlreadyExists):
                await m.reset("easy", 3, "ep-1", owner="a")
            with pytest.raises(NotFound):
                await m.step(a.episode_id, READ, owner="c")
            [outcome] = await m.step_batch([("ep-1", READ)], owner="c")
            assert isinstance(outcome, NotFound)
            with pytest.raises(NotFound):
                await m.close("ep-1", owner="c")
            await m.step("ep-1", READ, owner="a")
            assert await m.get("ep-1", owner="b") is b and await m.close("ep-1", owner="a") is a
            return a, b

        a, b = run(scenario())
        assert (a.step_count, b.step_count) == (1, 0)
        assert m.has("ep-1", owner="b")

    def test_quota_and_capacity_count_running_episodes(self):
        m, _, _ = manager(max_episodes=3, max_episodes_per_owner=2)

        async def scenario():
            first = await m.reset("easy", 1, owner="a")
            await m.reset("easy", 2, owner="a")
            with pytest.raises(ResourceExhausted) as quota:
                await m.reset("easy", 3, owner="a")
            assert quota.value.reason == "EPISODE_QUOTA" and quota.value.metadata["quota"] == "max_episodes_per_principal"
            await m.step(first.episode_id, SUBMIT, owner="a")
            assert (m.open_count, m.open_count_of("a")) == (1, 1)
            await m.reset("easy", 3, owner="a")
            await m.reset("easy", 4, owner="b")
            with pytest.raises(ResourceExhausted) as full:
                await m.reset("easy", 5, owner="b")
            assert full.value.reason == "EPISODE_CAPACITY"
            assert (await m.get(first.episode_id, owner="a")).terminated  # ended, still readable

        run(scenario())

    def test_ended_episodes_kept_are_bounded_per_owner_and_overall(self):
        m, _, _ = manager(max_episodes=3, max_episodes_per_owner=2)

        async def end_one(owner: str) -> str:
            episode = await m.reset("easy", 1, owner=owner)
            await m.step(episode.episode_id, SUBMIT, owner=owner)
            return episode.episode_id

        async def scenario():
            a1, a2, a3 = [await end_one("a") for _ in range(3)]
            assert not m.has(a1, owner="a") and m.has(a2, owner="a") and m.has(a3, owner="a")
            b1, b2 = [await end_one("b") for _ in range(2)]
            assert len(m) == 3 and not m.has(a2, owner="a")  # overall at most max_episodes ended ones
            assert m.open_count == 0

        run(scenario())

    def test_closing_an_episode_while_it_is_graded_releases_its_slot_once(self):
        gate = asyncio.Event()

        class SlowGrader:
            async def grade(self, key, diagnosis, *, task):
                await gate.wait()
                return await FakeGrader().grade(key, diagnosis, task=task)

        class Scenarios:
            async def get(self, task_id, seed, split="all"):
                return make_scenario(task_id, seed)

        m = EpisodeManager(Scenarios(), SlowGrader(), EpisodeConfig(max_episodes=5, max_episodes_per_owner=5))

        async def scenario():
            episode = await m.reset("easy", 1, owner="a")
            grading = asyncio.ensure_future(m.step(episode.episode_id, SUBMIT, owner="a"))
            await asyncio.sleep(0)
            await m.close(episode.episode_id, owner="a")
            gate.set()
            await grading
            assert (m.open_count, m.open_count_of("a"), len(m)) == (0, 0, 0)

        run(scenario())

    def test_a_failed_reset_gives_its_slot_back(self):
        m, scenarios, _ = manager(max_episodes_per_owner=1)
        scenarios.fail = True
        with pytest.raises(Exception, match="generator down"):
            run(m.reset("easy", 1, owner="a"))
        scenarios.fail = False
        run(m.reset("easy", 1, owner="a"))
        assert m.open_count_of("a") == 1


class TestConfiguration:
    def test_services_read_keys_quota_and_limits_from_the_environment(self, tmp_path, monkeypatch):
        from mlopsdebug_episode.config import EpisodeServerConfig
        from mlopsdebug_gateway.config import GatewayConfig, from_env

        path = tmp_path / "keys"
        path.write_text(f"{KEY} alice\n")
        monkeypatch.setenv("MLOPSDEBUG_API_KEYS_FILE", str(path))
        monkeypatch.setenv("MLOPSDEBUG_MAX_EPISODES_PER_PRINCIPAL", "7")
        episode = EpisodeServerConfig.from_env()
        assert episode.api_keys.principal(KEY) == "alice" and episode.episode_config().max_episodes_per_owner == 7
        gateway = from_env({
            "MLOPSDEBUG_API_KEYS_FILE": str(path),
            "MLOPSDEBUG_GATEWAY_MAX_MCP_SESSIONS_PER_PRINCIPAL": "3",
            "MLOPSDEBUG_GATEWAY_SCOPE_SECRET": "shared",
        })
        assert (gateway.max_mcp_sessions_per_principal, gateway.scope_secret) == (3, b"shared")
        assert gateway.api_keys.principal(KEY) == "alice" and KEY not in repr(gateway)
        assert from_env({}).api_keys is None and GatewayConfig().max_mcp_sessions_per_principal == 32
        assert from_env({}).scope_secret != from_env({}).scope_secret  # random unless shared
        with pytest.raises(ValueError):
            EpisodeConfig(max_episodes_per_owner=0)

    def test_the_python_client_config_carries_its_credentials(self):
        from mlopsdebug_client import ClientConfig

        default = ClientConfig()
        assert dict(default.call_metadata)["x-mlopsdebug-client-token"] == default.client_token
        assert ClientConfig().client_token != default.client_token  # random per config
        keyed = ClientConfig(api_key=KEY, client_token="t")
        assert keyed.call_metadata == (("authorization", f"Bearer {KEY}"), ("x-mlopsdebug-client-token", "t"))
        assert KEY not in repr(keyed)
        import dataclasses

        assert dataclasses.replace(keyed, timeout_s=5).call_metadata == keyed.call_metadata
        for bad in ({"api_key": ""}, {"api_key": "a b"}, {"client_token": ""}, {"client_token": "x" * 257}):
            with pytest.raises(ValueError):
                ClientConfig(**bad)
