"""Principals, ownership and quotas, over real gRPC (port 0) and a real gateway (HTTP and WebSocket).

An episode belongs to whoever created it: an API key's principal, else the client token, else the
connection. Anyone else gets NOT_FOUND (404 over HTTP), exactly as for an id that never existed.
"""

from __future__ import annotations

import json

import grpc
import httpx
import pytest
from compat.gateway_support import running_gateway
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_client import (
    AlreadyExistsError,
    ClientConfig,
    EpisodeClient,
    MLOpsDebugError,
    NotFoundError,
    ResourceExhaustedError,
    UnauthenticatedError,
    actions,
)
from mlopsdebug_common.principals import ApiKeys, digest

ALICE_KEY = "alice-key-0123456789abcdef"
BOB_KEY = "bob-key-0123456789abcdef"
GATEWAY_KEYS_TEXT = f"sha256:{digest(ALICE_KEY).hex()} alice\n{BOB_KEY} bob\n"
WRONG_ANSWER = actions.submit_diagnosis(
    "config_error", "config.yaml", "optimizer.momentum", "momentum too high", "set optimizer.momentum to 0.9"
)


def client(addr: str, **config) -> EpisodeClient:
    return EpisodeClient(addr, config=ClientConfig(timeout_s=20, **config))


def keys() -> ApiKeys:
    return ApiKeys.parse(GATEWAY_KEYS_TEXT)


class TestOwnershipOverGrpc:
    def test_another_client_cannot_see_step_or_close_an_episode(self, cluster):
        """Two clients (two client tokens): every way of naming the other's episode is NOT_FOUND,
        and the episode is untouched by the attempts."""
        with client(cluster.episode_addr) as alice, client(cluster.episode_addr) as mallory:
            episode_id = alice.reset("easy", 3).episode_id
            alice.step(episode_id, actions.read_config())
            with pytest.raises(NotFoundError):
                mallory.get_state(episode_id)
            with pytest.raises(NotFoundError):
                mallory.step(episode_id, actions.read_logs())
            with pytest.raises(NotFoundError):
                mallory.step(episode_id, WRONG_ANSWER)
            [outcome] = mallory.step_batch([(episode_id, actions.read_logs())])
            assert isinstance(outcome, NotFoundError)
            with pytest.raises(NotFoundError):
                mallory.close_episode(episode_id)
            with mallory.session() as stream:
                with pytest.raises(NotFoundError):
                    stream.get_state(episode_id)
                with pytest.raises(NotFoundError):
                    stream.step(actions.read_logs(), episode_id)
                with pytest.raises(NotFoundError):
                    stream.close_episode(episode_id)
            state = alice.get_state(episode_id).state
            assert (state.step_count, list(state.artifacts_read)) == (1, ["config.yaml"])
            alice.close_episode(episode_id)

    def test_the_not_found_is_the_same_as_for_a_missing_id(self, cluster):
        """Nothing tells another owner's episode from an id that never existed."""
        with client(cluster.episode_addr) as alice, client(cluster.episode_addr) as mallory:
            episode_id = alice.reset("easy", 3).episode_id
            with pytest.raises(NotFoundError) as theirs:
                mallory.get_state(episode_id)
            with pytest.raises(NotFoundError) as missing:
                mallory.get_state("ep-" + "0" * 24)
            assert theirs.value.reason == missing.value.reason == "EPISODE_NOT_FOUND"
            assert theirs.value.message.replace(episode_id, "X") == missing.value.message.replace("ep-" + "0" * 24, "X")
            alice.close_episode(episode_id)

    def test_client_chosen_ids_are_scoped_to_their_owner(self, cluster):
        """Two owners may both use `ep-1`; each reaches only its own."""
        with client(cluster.episode_addr) as alice, client(cluster.episode_addr) as bob:
            assert alice.reset("easy", 11, episode_id="ep-1").episode_id == "ep-1"
            assert bob.reset("medium", 12, episode_id="ep-1").episode_id == "ep-1"
            alice.step("ep-1", actions.read_config())
            alice.step("ep-1", actions.read_logs())
            bob.step("ep-1", actions.read_eval_results())
            a, b = alice.get_state("ep-1").state, bob.get_state("ep-1").state
            assert (a.task_id, a.seed, a.step_count) == ("easy", 11, 2)
            assert (b.task_id, b.seed, b.step_count) == ("medium", 12, 1)
            with pytest.raises(AlreadyExistsError):
                alice.reset("easy", 1, episode_id="ep-1")  # still one episode per id per owner
            bob.close_episode("ep-1")
            assert alice.get_state("ep-1").state.step_count == 2
            alice.close_episode("ep-1")

    def test_the_client_token_is_the_owner_across_connections(self, cluster):
        """A new channel with the same client token reaches the episodes (a reconnecting client)."""
        config = ClientConfig(timeout_s=20)
        with EpisodeClient(cluster.episode_addr, config=config) as first:
            episode_id = first.reset("easy", 5).episode_id
        with EpisodeClient(cluster.episode_addr, config=config) as second:  # another channel, same token
            assert second.step(episode_id, actions.read_config()).observation.step_count == 1
            second.close_episode(episode_id)

    def test_without_a_token_the_connection_is_the_owner(self, cluster):
        """A raw caller that sends no metadata owns episodes by its connection only."""
        # Channels of one process share connections unless told not to (gRPC's global subchannel pool):
        # that, and reconnects, are why clients send a token rather than rely on their connection.
        private = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(cluster.episode_addr, options=private) as one, \
                grpc.insecure_channel(cluster.episode_addr, options=private) as two:
            a, b = ep_grpc.EpisodeServiceStub(one), ep_grpc.EpisodeServiceStub(two)
            episode_id = a.Reset(ep_pb.ResetRequest(task_id="easy", seed=1), timeout=20).episode_id
            assert a.GetState(ep_pb.GetStateRequest(episode_id=episode_id), timeout=20).state.episode_id == episode_id
            with pytest.raises(grpc.RpcError) as refused:
                b.GetState(ep_pb.GetStateRequest(episode_id=episode_id), timeout=20)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
            a.CloseEpisode(ep_pb.CloseEpisodeRequest(episode_id=episode_id), timeout=20)


class TestPerStepTokens:
    """StepRequest.client_token: one stream (the gateway's) carrying many anonymous clients' steps."""

    def test_each_step_acts_for_its_own_token(self, cluster):
        with client(cluster.episode_addr, client_token="step-token-a") as a, \
                client(cluster.episode_addr, client_token="step-token-b") as b, \
                grpc.insecure_channel(cluster.episode_addr) as channel:
            mine, theirs = a.reset("easy", 1).episode_id, b.reset("easy", 2).episode_id
            stub = ep_grpc.EpisodeServiceStub(channel)
            read = actions.read_config()
            batch = ep_pb.StepBatchRequest(steps=[
                ep_pb.StepRequest(episode_id=mine, action=read, client_token="step-token-a"),
                ep_pb.StepRequest(episode_id=theirs, action=read, client_token="step-token-b"),
                ep_pb.StepRequest(episode_id=theirs, action=read, client_token="step-token-a"),
                ep_pb.StepRequest(episode_id=mine, action=read),  # no token: the caller's own (its connection)
            ])
            results = stub.StepBatch(batch, timeout=20).results
            assert [r.WhichOneof("result") for r in results] == ["step", "step", "error", "error"]
            assert results[2].error.code == results[3].error.code == grpc.StatusCode.NOT_FOUND.value[0]
            single = ep_pb.StepRequest(episode_id=mine, action=read, client_token="step-token-b")
            with pytest.raises(grpc.RpcError) as refused:
                stub.Step(single, timeout=20)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
            assert (a.get_state(mine).state.step_count, b.get_state(theirs).state.step_count) == (1, 1)

    def test_with_keys_on_a_step_token_is_ignored(self, keyed_cluster):
        with client(keyed_cluster.episode_addr, api_key=ALICE_KEY) as alice, \
                client(keyed_cluster.episode_addr, api_key=BOB_KEY) as bob:
            episode_id = alice.reset("easy", 1).episode_id
            batch = [(episode_id, actions.read_config())]
            # bob cannot borrow alice's client token (the key names the owner)
            request = ep_pb.StepBatchRequest(steps=[
                ep_pb.StepRequest(episode_id=episode_id, action=actions.read_config(),
                                  client_token=alice.config.client_token),
            ])
            with grpc.insecure_channel(keyed_cluster.episode_addr) as channel:
                results = ep_grpc.EpisodeServiceStub(channel).StepBatch(
                    request, timeout=20, metadata=bob.config.call_metadata
                ).results
            assert results[0].error.code == grpc.StatusCode.NOT_FOUND.value[0]
            assert isinstance(alice.step_batch(batch)[0], ep_pb.StepResponse)
            alice.close_episode(episode_id)


class TestQuotas:
    def test_the_per_principal_quota_holds_and_names_itself(self, make_cluster):
        c = make_cluster(max_episodes_per_principal=2)
        with client(c.episode_addr) as greedy, client(c.episode_addr) as other:
            for seed in (1, 2):
                greedy.reset("easy", seed)
            with pytest.raises(ResourceExhaustedError) as refused:
                greedy.reset("easy", 3)
            error = refused.value
            assert error.reason == "EPISODE_QUOTA"
            assert error.metadata == {"quota": "max_episodes_per_principal", "limit": "2"}
            assert "max_episodes_per_principal" in error.message
            other.reset("easy", 4)  # someone else's quota is untouched
            other.reset("easy", 5)

    def test_ended_episodes_free_their_slot_but_stay_readable(self, make_cluster):
        """A terminated or truncated episode no longer counts, for the quota or the capacity. It stays
        readable until closed, or until its owner has more ended episodes than its quota (oldest first)."""
        c = make_cluster(max_episodes_per_principal=2, max_episodes=3)
        with client(c.episode_addr) as alice, client(c.episode_addr) as bob:
            graded, truncated = alice.reset("easy", 1).episode_id, alice.reset("easy", 2).episode_id
            with pytest.raises(ResourceExhaustedError):
                alice.reset("easy", 3)
            alice.step(graded, WRONG_ANSWER)  # terminated: its slot is free again
            third = alice.reset("easy", 3).episode_id
            for _ in range(20):  # easy has 20 steps; the 20th truncates the episode
                alice.step(truncated, actions.read_config())
            alice.reset("easy", 4)
            bob.reset("easy", 5)  # three running episodes: the capacity is reached...
            with pytest.raises(ResourceExhaustedError) as full:
                bob.reset("easy", 6)  # ... while bob is within his quota
            assert full.value.reason == "EPISODE_CAPACITY"
            assert alice.get_state(graded).state.HasField("grade")
            assert alice.get_state(truncated).state.step_count == 20
            alice.step(third, WRONG_ANSWER)  # a third ended episode: the oldest one goes
            with pytest.raises(NotFoundError):
                alice.get_state(graded)
            assert alice.get_state(truncated).state.step_count == 20
            assert alice.get_state(third).state.HasField("grade")

    def test_the_capacity_counts_running_episodes_only(self, make_cluster):
        c = make_cluster(max_episodes=2)
        with client(c.episode_addr) as alice, client(c.episode_addr) as bob:
            first = alice.reset("easy", 1).episode_id
            alice.reset("easy", 2)
            with pytest.raises(ResourceExhaustedError) as full:
                bob.reset("easy", 3)
            assert full.value.reason == "EPISODE_CAPACITY"
            alice.step(first, WRONG_ANSWER)
            bob.reset("easy", 3)  # the ended episode gave its slot back without being closed


@pytest.fixture(scope="module")
def keyed_cluster():
    from inprocess import InProcessCluster

    c = InProcessCluster(episode_overrides={"api_keys": keys()}).start()
    yield c
    c.stop()


class TestApiKeys:
    def test_calls_without_a_valid_key_are_unauthenticated(self, keyed_cluster):
        for config in ({}, {"api_key": "not-a-key-0123456789"}):
            with client(keyed_cluster.episode_addr, **config) as anonymous:
                with pytest.raises(UnauthenticatedError):
                    anonymous.list_tasks()
                with pytest.raises(UnauthenticatedError):
                    anonymous.reset("easy", 1)
                with pytest.raises(UnauthenticatedError):
                    anonymous.get_state("ep-1")
                with pytest.raises(MLOpsDebugError) as stream_refused, anonymous.session() as stream:
                    stream.reset("easy", 1)
                assert stream_refused.value.code.name == "UNAUTHENTICATED"

    def test_principals_are_isolated_and_own_across_clients(self, keyed_cluster):
        """A principal's episodes are reachable from any of its clients, never from another principal's."""
        with client(keyed_cluster.episode_addr, api_key=ALICE_KEY) as alice, \
                client(keyed_cluster.episode_addr, api_key=ALICE_KEY) as alice_elsewhere, \
                client(keyed_cluster.episode_addr, api_key=BOB_KEY) as bob:
            episode_id = alice.reset("easy", 1, episode_id="ep-1").episode_id
            assert alice_elsewhere.step(episode_id, actions.read_config()).observation.step_count == 1
            with pytest.raises(NotFoundError):
                bob.get_state(episode_id)
            bob.reset("easy", 2, episode_id="ep-1")  # bob's own ep-1
            assert bob.get_state("ep-1").state.seed == 2 and alice.get_state("ep-1").state.seed == 1
            alice.close_episode("ep-1")
            bob.close_episode("ep-1")

    def test_a_client_token_cannot_stand_in_for_a_key(self, keyed_cluster):
        """With keys on, owners come from keys alone: sending alice's client token gets nothing."""
        with client(keyed_cluster.episode_addr, api_key=ALICE_KEY) as alice:
            episode_id = alice.reset("easy", 1).episode_id
            forger = client(keyed_cluster.episode_addr, client_token=alice.config.client_token)
            with forger, pytest.raises(UnauthenticatedError):
                forger.get_state(episode_id)
            with client(keyed_cluster.episode_addr, api_key=BOB_KEY, client_token=alice.config.client_token) as bob:
                with pytest.raises(NotFoundError):
                    bob.get_state(episode_id)
            alice.close_episode(episode_id)


# -- the gateway --

TOKEN_A = {"X-MLOpsDebug-Client-Token": "token-of-caller-a"}
TOKEN_B = {"X-MLOpsDebug-Client-Token": "token-of-caller-b"}


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as gw:
        yield gw


def ws_url(gateway, path: str = "/ws") -> str:
    return gateway.url.replace("http://", "ws://") + path


def exchange(ws, frame: dict) -> dict:
    ws.send(json.dumps(frame))
    return json.loads(ws.recv(timeout=30))


class TestOwnershipOverHttp:
    def test_another_caller_cannot_see_step_or_close_an_episode(self, gateway):
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            episode_id = http.post("/reset", json={"task_id": "easy", "seed": 3}, headers=TOKEN_A).json()["episode_id"]
            step = {"episode_id": episode_id, "action": {"action_type": "read_config"}}
            assert http.post("/step", json=step, headers=TOKEN_A).status_code == 200
            assert http.get("/state", params={"episode_id": episode_id}, headers=TOKEN_B).status_code == 404
            assert http.post("/step", json=step, headers=TOKEN_B).status_code == 404
            assert http.post("/close", json={"episode_id": episode_id}, headers=TOKEN_B).status_code == 404
            assert http.get("/state", params={"episode_id": episode_id}).status_code == 404  # anonymous
            mcp_call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "read_logs", "arguments": {"episode_id": episode_id}}}
            reply = http.post("/mcp", json=mcp_call, headers=TOKEN_B).json()
            assert reply["result"]["isError"] is True
            state = http.get("/state", params={"episode_id": episode_id}, headers=TOKEN_A).json()
            assert state["step_count"] == 1
            assert http.post("/close", json={"episode_id": episode_id}, headers=TOKEN_A).status_code == 200

    def test_client_chosen_ids_are_scoped_to_their_owner(self, gateway):
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            for headers, seed in ((TOKEN_A, 21), (TOKEN_B, 22)):
                reset = http.post("/reset", json={"task_id": "easy", "seed": seed, "episode_id": "ep-1"}, headers=headers)
                assert reset.status_code == 200
            seeds = [http.get("/state", params={"episode_id": "ep-1"}, headers=h).json()["seed"] for h in (TOKEN_A, TOKEN_B)]
            assert seeds == [21, 22]
            for headers in (TOKEN_A, TOKEN_B):
                http.post("/close", json={"episode_id": "ep-1"}, headers=headers)

    def test_a_websocket_episode_is_out_of_reach_of_http_and_other_sockets(self, gateway):
        """The state frame shows the id; nobody else can use it: not HTTP, not another socket's MCP."""
        with connect(ws_url(gateway)) as owner, connect(ws_url(gateway)) as other, \
                httpx.Client(base_url=gateway.url, timeout=30) as http:
            exchange(owner, {"type": "reset", "data": {"task_id": "easy", "seed": 1, "episode_id": "ws-private"}})
            episode_id = exchange(owner, {"type": "state"})["data"]["episode_id"]
            assert episode_id == "ws-private"
            assert http.get("/state", params={"episode_id": episode_id}).status_code == 404
            step = {"episode_id": episode_id, "action": {"action_type": "read_config"}}
            assert http.post("/step", json=step).status_code == 404
            assert http.post("/close", json={"episode_id": episode_id}).status_code == 404
            # Another socket may create its own ws-private, which is a different episode.
            exchange(other, {"type": "reset", "data": {"task_id": "medium", "seed": 2, "episode_id": "ws-private"}})
            exchange(other, {"type": "step", "data": {"action_type": "read_logs"}})
            assert exchange(owner, {"type": "state"})["data"]["step_count"] == 0
            assert exchange(other, {"type": "state"})["data"]["task_id"] == "medium"
            mcp = {"type": "mcp", "data": {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                           "params": {"name": "read_config", "arguments": {"episode_id": "elsewhere"}}}}
            assert "error" in exchange(other, mcp)["data"]

    def test_the_episode_quota_is_http_429_naming_it(self, make_cluster):
        c = make_cluster(max_episodes_per_principal=1)
        with running_gateway(c.episode_addr) as gw, httpx.Client(base_url=gw.url, timeout=30) as http:
            assert http.post("/reset", json={"task_id": "easy", "seed": 1}, headers=TOKEN_A).status_code == 200
            refused = http.post("/reset", json={"task_id": "easy", "seed": 2}, headers=TOKEN_A)
            assert refused.status_code == 429
            assert refused.json()["reason"] == "EPISODE_QUOTA" and "max_episodes_per_principal" in refused.json()["detail"]
            assert http.post("/reset", json={"task_id": "easy", "seed": 2}, headers=TOKEN_B).status_code == 200


class TestMcpSessionLimit:
    def test_mcp_sessions_are_limited_per_principal_and_private(self, cluster):
        def create(http, headers) -> dict:
            body = {"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create", "params": {}}
            return http.post("/mcp", json=body, headers=headers).json()

        with running_gateway(cluster.episode_addr, max_mcp_sessions_per_principal=2) as gw, \
                httpx.Client(base_url=gw.url, timeout=30) as http:
            mine = [create(http, TOKEN_A)["result"]["session_id"] for _ in range(2)]
            refused = create(http, TOKEN_A)
            assert refused["error"]["code"] == -32000
            assert refused["error"]["data"]["quota"] == "max_mcp_sessions_per_principal"
            assert "max_mcp_sessions_per_principal" in refused["error"]["message"]
            assert "result" in create(http, TOKEN_B)  # another caller still gets one
            reset = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "reset", "arguments": {}, "session_id": mine[0]}}
            stolen = http.post("/mcp", json=reset, headers=TOKEN_B).json()
            assert "Unknown session_id" in stolen["error"]["message"]
            close = {"jsonrpc": "2.0", "id": 3, "method": "openenv/session/close", "params": {"session_id": mine[0]}}
            assert "error" in http.post("/mcp", json=close, headers=TOKEN_B).json()
            assert http.post("/mcp", json=close, headers=TOKEN_A).json()["result"]["closed"] is True
            assert "result" in create(http, TOKEN_A)  # a closed session frees its place


@pytest.fixture(scope="module")
def keyed_gateway(keyed_cluster):
    with running_gateway(keyed_cluster.episode_addr, api_keys=keys()) as gw:
        yield gw


class TestGatewayApiKeys:
    def test_http_without_a_valid_key_is_401(self, keyed_gateway):
        with httpx.Client(base_url=keyed_gateway.url, timeout=30) as http:
            for headers in ({}, {"Authorization": "Bearer wrong-key-0123456789"}, {"Authorization": "Basic abc"}):
                refused = http.post("/reset", json={"task_id": "easy"}, headers=headers)
                assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
                assert refused.json()["code"] == "UNAUTHENTICATED"
                assert http.get("/state", params={"episode_id": "ep-1"}, headers=headers).status_code == 401
                assert http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                 headers=headers).status_code == 401
            assert http.get("/health").status_code == 200  # public information stays public

    def test_principals_are_isolated_over_http(self, keyed_gateway):
        alice, bob = ({"Authorization": f"Bearer {key}"} for key in (ALICE_KEY, BOB_KEY))
        with httpx.Client(base_url=keyed_gateway.url, timeout=30) as http:
            episode_id = http.post("/reset", json={"task_id": "easy", "seed": 1}, headers=alice).json()["episode_id"]
            assert http.get("/state", params={"episode_id": episode_id}, headers=bob).status_code == 404
            assert http.get("/state", params={"episode_id": episode_id}, headers=alice).status_code == 200
            http.post("/close", json={"episode_id": episode_id}, headers=alice)

    def test_websocket_handshake_needs_a_key_in_a_header_or_subprotocol(self, keyed_gateway):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(keyed_gateway), open_timeout=10)
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            connect(ws_url(keyed_gateway), subprotocols=["mlopsdebug.bearer.wrong-key-0123456789"], open_timeout=10)
        with connect(ws_url(keyed_gateway), additional_headers={"Authorization": f"Bearer {ALICE_KEY}"}) as ws:
            assert exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1}})["type"] == "observation"
        with connect(ws_url(keyed_gateway), subprotocols=[f"mlopsdebug.bearer.{BOB_KEY}"]) as ws:
            assert ws.subprotocol == f"mlopsdebug.bearer.{BOB_KEY}"
            assert exchange(ws, {"type": "reset", "data": {"task_id": "easy", "seed": 1}})["type"] == "observation"


class TestCli:
    def test_eval_sends_the_key_in_mlopsdebug_api_key(self, keyed_cluster, tmp_path, monkeypatch):
        from mlopsdebug_cli.main import main

        def run(output: str) -> int:
            args = ["eval", "--address", keyed_cluster.episode_addr, "--output", str(tmp_path / output), "--no-progress",
                    "--agent", "random", "--seeds", "0-1", "--tasks", "easy"]
            return main(args)

        monkeypatch.delenv("MLOPSDEBUG_API_KEY", raising=False)
        assert run("anonymous.jsonl") != 0
        monkeypatch.setenv("MLOPSDEBUG_API_KEY", ALICE_KEY)
        assert run("keyed.jsonl") == 0
        assert len((tmp_path / "keyed.jsonl").read_text().splitlines()) == 2
