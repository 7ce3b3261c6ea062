"""The scaled local cluster, real processes: `mlopsdebug up --episodes 3` starts Redis, three episode
replicas and Envoy in front of them (ring hash on `x-episode-id`). Episodes played through Envoy stay
on one replica each (Envoy's access log says which replica served each call), and an episode whose
replica is killed goes on on another, from the shared store.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import ClientConfig, EpisodeClient, MLOpsDebugError, NotFoundError, StatusCode, actions

pytestmark = pytest.mark.cluster
PATIENCE_S = 90.0  # generous: a deadline under load, never a speed assertion
SCRIPT = [actions.read_config(), actions.read_logs("epoch:1-2"), actions.check_dataset_stats(), actions.read_eval_results()]
VERDICT = actions.submit_diagnosis("config_error", "config.yaml", "optimizer.lr", "too high", "lower it")


class ScaledUp:
    """`mlopsdebug up --episodes N` as a subprocess, its output read on a thread."""

    def __init__(self, episodes: int, log_dir: pathlib.Path) -> None:
        self.log_dir = log_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlopsdebug_cli.main", "up", "--ephemeral", "--public",
             "--episodes", str(episodes), "--log-dir", str(log_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + PATIENCE_S
        while not any(line.startswith("salt:") for line in self.lines):
            if time.monotonic() > deadline or self.proc.poll() is not None and self._new.empty():
                raise AssertionError("".join(self.lines))
            try:
                self.lines.append(self._new.get(timeout=1.0))
            except queue.Empty:
                pass
        self.addresses = dict(re.findall(r"^\s+([\w-]+)\s+\S+\s+(\S+)$", "".join(self.lines), re.MULTILINE))

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self._new.put(line)

    @property
    def replicas(self) -> dict[str, str]:
        """Replica name -> address, e.g. `episode-2` -> `127.0.0.1:40123`."""
        return {name: address for name, address in self.addresses.items() if re.fullmatch(r"episode-\d+", name)}

    def replica_at(self, upstream: str) -> str:
        return next(name for name, address in self.replicas.items() if address.endswith(":" + upstream.rsplit(":", 1)[1]))

    def access_log(self) -> list[list[str]]:
        path = self.log_dir / "envoy-access.log"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    def served_by(self, episode_ids: set[str]) -> dict[str, set[str]]:
        """Episode id -> the replicas that served calls naming it, once the log has them all."""
        deadline = time.monotonic() + PATIENCE_S
        while True:
            seen: dict[str, set[str]] = collections.defaultdict(set)
            for episode_id, upstream, *_ in self.access_log():
                if episode_id in episode_ids:
                    seen[episode_id].add(self.replica_at(upstream))
            if set(seen) == episode_ids or time.monotonic() > deadline:
                return seen
            time.sleep(0.2)

    def pid_of_replica(self, name: str) -> int:
        port = self.replicas[name].rsplit(":", 1)[1].encode()
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in children:
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    environ = handle.read().split(b"\0")
            except OSError:
                continue
            if b"MLOPSDEBUG_EPISODE_PORT=" + port in environ:
                return int(pid)
        raise AssertionError(f"no process for {name}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        while not self._new.empty():
            self.lines.append(self._new.get())
        return "".join(self.lines)


@pytest.fixture(scope="module")
def up3(tmp_path_factory) -> Iterator[ScaledUp]:
    up = ScaledUp(3, tmp_path_factory.mktemp("scaled"))
    try:
        yield up
    finally:
        up.stop()


def eventually(call: Callable[[], object]) -> object:
    """The call's result once it stops failing with UNAVAILABLE (a replica leaving Envoy's ring)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return call()
        except MLOpsDebugError as exc:
            if exc.code != StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def play_unary(address: str, seed: int) -> tuple[str, float]:
    with EpisodeClient(address) as client:
        episode_id = client.reset("easy", seed).episode_id
        for action in SCRIPT:
            client.step(episode_id, action)
        client.get_state(episode_id)
        score = client.step(episode_id, VERDICT).observation.reward
        client.close_episode(episode_id)
        return episode_id, score


def test_up_prints_envoy_as_the_episode_address_and_every_process(up3):
    assert set(up3.replicas) == {"episode-1", "episode-2", "episode-3"}
    assert {"envoy", "redis", "generator", "grader", "gateway"} <= set(up3.addresses)
    assert up3.addresses["episode"] == up3.addresses["envoy"]
    assert "episode state in Redis: redis://127.0.0.1:" in "".join(up3.lines)


def test_each_episode_stays_on_one_replica_and_the_episodes_spread(up3):
    address = up3.addresses["episode"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        played = list(pool.map(lambda seed: play_unary(address, seed), range(30)))
    with EpisodeClient(address) as client, client.session() as session:
        in_session = {session.reset("medium", seed).episode_id for seed in range(3)}
        for episode_id in in_session:
            session.step(actions.read_config(), episode_id)
    unary_ids = {episode_id for episode_id, _ in played}
    served = up3.served_by(unary_ids)
    assert set(served) == unary_ids
    assert all(len(replicas) == 1 for replicas in served.values()), served
    spread = collections.Counter(next(iter(replicas)) for replicas in served.values())
    assert len(spread) >= 2, spread  # 30 episodes hashed over 3 replicas
    # A Session stream names no episode: it is one call, on one replica, whatever it carries.
    # (Logged when the stream ends, so waited for.)
    deadline = time.monotonic() + PATIENCE_S
    while not (streams := [entry for entry in up3.access_log() if entry[2].endswith("/Session")]):
        assert time.monotonic() < deadline, "no Session stream in Envoy's access log"
        time.sleep(0.2)
    assert all(entry[0] == "-" for entry in streams), streams
    # The gateway reaches the episodes through Envoy too.
    with EpisodeClient(address) as client:
        assert [t.task_id for t in client.list_tasks().tasks][:3] == ["easy", "medium", "hard"]


def test_a_killed_envoy_is_restarted_by_the_supervisor(scalable):
    """Envoy is supervised like every process of the cluster: killed, it comes back on its port with
    the same replicas, and calls go through again."""
    address = scalable.address("episode")
    scalable.processes["envoy"].kill()
    with EpisodeClient(address) as client:
        assert eventually(lambda: client.list_tasks().tasks[0].task_id) == "easy"
        episode_id = eventually(lambda: client.reset("easy", 3).episode_id)
        assert client.step(episode_id, SCRIPT[0]).observation.step_count == 1
    assert scalable.supervisor is not None and scalable.supervisor.restarts("envoy") == 1


def test_the_gateway_plays_through_envoy(up3):
    """The gateway's HTTP routes reach the replicas through Envoy: unary calls hashed by episode, steps
    on its shared batching stream, which lands on any replica (so this needs the shared store)."""
    import httpx

    if not shares_replicas_episodes(up3):
        pytest.skip("the replicas do not share episodes yet (needs the Redis episode store)")
    with httpx.Client(base_url=f"http://{up3.addresses['gateway']}", timeout=60) as http:
        for seed in range(12):
            reset = http.post("/reset", json={"task_id": "easy", "seed": seed})
            assert reset.status_code == 200, reset.text
            episode_id = reset.json()["episode_id"]
            for action in ("read_config", "read_eval_results"):
                step = http.post("/step", json={"episode_id": episode_id, "action": {"action_type": action}})
                assert step.status_code == 200, step.text
            state = http.get("/state", params={"episode_id": episode_id})
            assert state.status_code == 200 and state.json()["step_count"] == 2, state.text
            assert http.post("/close", json={"episode_id": episode_id}).status_code == 200


def test_anonymous_callers_without_a_token_stay_apart_behind_envoy(up3):
    """Envoy carries every caller's calls on its own few connections to a replica, so the connection's peer
    names nobody in particular: Envoy's x-mlopsdebug-peer (the caller's own address, overwriting whatever
    the caller sent) names the owner of a raw gRPC caller that sends neither key nor token."""
    import grpc

    from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
    from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc

    address = up3.addresses["episode"]
    spoofed = (("x-mlopsdebug-peer", "127.0.0.1:1"),)  # the same claimed address from both callers
    own_connection = [("grpc.use_local_subchannel_pool", 1)]  # else both channels share one TCP connection
    with grpc.insecure_channel(address, options=own_connection) as a, \
            grpc.insecure_channel(address, options=own_connection) as b:  # fmt: skip
        one, other = ep_grpc.EpisodeServiceStub(a), ep_grpc.EpisodeServiceStub(b)
        episode_id = one.Reset(ep_pb.ResetRequest(task_id="easy", seed=5), metadata=spoofed, timeout=60).episode_id
        state = ep_pb.GetStateRequest(episode_id=episode_id)
        assert one.GetState(state, metadata=spoofed, timeout=60).state.episode_id == episode_id
        for _ in range(3):  # random replicas (no x-episode-id): whichever serves, the episode is not theirs
            with pytest.raises(grpc.RpcError) as refused:
                other.GetState(state, metadata=spoofed, timeout=60)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        one.CloseEpisode(ep_pb.CloseEpisodeRequest(episode_id=episode_id), metadata=spoofed, timeout=60)


def shares_replicas_episodes(up: ScaledUp) -> bool:
    """Whether a replica that did not start an episode can read it (the Redis store)."""
    config = ClientConfig(client_token="shared-store-probe")
    first, second = list(up.replicas.values())[:2]
    with EpisodeClient(first, config=config) as one, EpisodeClient(second, config=config) as other:
        episode_id = eventually(lambda: one.reset("easy", 1).episode_id)
        try:
            eventually(lambda: other.get_state(episode_id))
        except NotFoundError:
            return False
        finally:
            one.close_episode(episode_id)
        return True


def test_an_episode_goes_on_after_its_replica_is_killed(up3):
    """Needs episode state shared through Redis (MLOPSDEBUG_REDIS_URL): skipped while the episode service
    keeps its episodes in memory."""
    address = up3.addresses["episode"]
    config = ClientConfig(client_token="scaled-kill-test")
    with EpisodeClient(address, config=config) as client:
        episode_id = client.reset("easy", 11).episode_id
        client.step(episode_id, SCRIPT[0])
        (holder,) = up3.served_by({episode_id})[episode_id]
        other = next(name for name in up3.replicas if name != holder)
        with EpisodeClient(up3.replicas[other], config=config) as direct:
            try:
                direct.get_state(episode_id)
            except NotFoundError:
                pytest.skip("the replicas do not share episodes yet (needs the Redis episode store)")
        os.kill(up3.pid_of_replica(holder), signal.SIGKILL)
        observations = [eventually(functools.partial(client.step, episode_id, action)).observation for action in SCRIPT[1:]]
        final = client.step(episode_id, VERDICT).observation
    assert [o.step_count for o in observations] == [2, 3, 4] and final.done
    with EpisodeClient(address) as client:  # the same seed, undisturbed
        twin = client.reset("easy", 11).episode_id
        undisturbed = [client.step(twin, action).observation for action in SCRIPT]
        undisturbed_final = client.step(twin, VERDICT).observation
    for seen, expected in zip(observations, undisturbed[1:], strict=True):
        assert seen.last_action_result == expected.last_action_result and seen.reward == expected.reward
    assert final.reward == undisturbed_final.reward


def test_session_episodes_go_on_after_their_replica_is_killed(up3):
    """A Session stream is pinned to the replica it opened on; killed, the stream breaks, the session
    reopens it (naming its latest episode, so Envoy hashes it onto a live replica) and resumes every
    episode it carries from the store, each step applied once."""
    address = up3.addresses["episode"]
    with EpisodeClient(address) as client:
        sessions = [client.session() for _ in range(6)]
        try:
            episodes = [(session, session.reset("easy", 20 + i).episode_id) for i, session in enumerate(sessions)]
            for session, episode_id in episodes:
                session.step(SCRIPT[0], episode_id)
            if not shares_replicas_episodes(up3):
                pytest.skip("the replicas do not share episodes yet (needs the Redis episode store)")
            victim = next(name for name in up3.replicas if name in _replicas_with_streams(up3))
            os.kill(up3.pid_of_replica(victim), signal.SIGKILL)
            counts = [[session.step(action, episode_id).observation.step_count for action in SCRIPT[1:]]
                      for session, episode_id in episodes]  # fmt: skip
        finally:
            for session in sessions:
                session.close()
    assert counts == [[2, 3, 4]] * len(episodes)
    assert sum(session.reconnects for session in sessions) >= 1


def _replicas_with_streams(up: ScaledUp) -> set[str]:
    """Replicas holding an open Session stream right now (Envoy's per-replica active requests)."""
    import json
    import urllib.request

    admin = re.search(r"admin (127\.0\.0\.1:\d+)", "".join(up.lines))
    assert admin is not None, "up prints Envoy's admin address"
    with urllib.request.urlopen(f"http://{admin.group(1)}/clusters?format=json", timeout=5) as resp:
        status = json.load(resp)["cluster_statuses"][0]
    active = set()
    for host in status["host_statuses"]:
        stats = {stat["name"]: int(stat.get("value", 0)) for stat in host["stats"]}
        if stats.get("rq_active", 0) > 0:
            active.add(up.replica_at(f"x:{host['address']['socket_address']['port_value']}"))
    return active


@pytest.fixture(scope="module")
def scalable(tmp_path_factory) -> Iterator[LocalCluster]:
    options = ClusterOptions.ephemeral(
        episodes=2, services=("generator", "grader", "episode"), public=True,
        log_dir=str(tmp_path_factory.mktemp("scalable")),
    )  # fmt: skip
    with LocalCluster(options) as cluster:
        yield cluster


def replicas_serving(cluster: LocalCluster, episode_ids: set[str]) -> dict[str, set[str]]:
    """Episode id -> replicas that served calls naming it, from Envoy's access log (once it has them all)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        seen: dict[str, set[str]] = collections.defaultdict(set)
        for line in pathlib.Path(cluster.envoy_access_log).read_text().splitlines():  # type: ignore[arg-type]
            episode_id, upstream, *_ = line.split()
            if episode_id in episode_ids:
                seen[episode_id].add(cluster.episode_replica_of(upstream))
        if set(seen) == episode_ids or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def shares_episodes(cluster: LocalCluster) -> bool:
    """Whether the replicas share their episodes (the Redis store): a replica that did not start an
    episode can read it."""
    config = ClientConfig(client_token="shared-store-probe")
    first, second = (f"{cluster.options.host}:{port}" for port in cluster.replica_ports["episode"][:2])
    with EpisodeClient(first, config=config) as one, EpisodeClient(second, config=config) as other:
        episode_id = one.reset("easy", 1).episode_id
        try:
            other.get_state(episode_id)
        except NotFoundError:
            return False
        finally:
            one.close_episode(episode_id)
        return True


def test_an_added_replica_joins_the_ring_and_a_removed_one_leaves_it(scalable):
    """Scaling the local cluster: Envoy re-reads its endpoints file; new episodes hash onto the added
    replica, and after it is removed no call reaches it."""
    address = scalable.address("episode")
    added = scalable.add_episode_replica()
    assert added == "episode-3" and len(scalable.envoy_hosts()) == 3
    with EpisodeClient(address) as client:
        ids = {client.reset("easy", seed).episode_id for seed in range(30)}
    assert {name for names in replicas_serving(scalable, ids).values() for name in names} == {
        "episode-1", "episode-2", "episode-3"
    }
    assert scalable.remove_episode_replica() == "episode-3"
    assert len(scalable.envoy_hosts()) == 2 and "episode-3" not in scalable.running_processes()
    with EpisodeClient(address) as client:
        later = {client.reset("easy", seed).episode_id for seed in range(30)}
    assert {name for names in replicas_serving(scalable, later).values() for name in names} <= {"episode-1", "episode-2"}


def test_scaling_from_2_to_3_replicas_and_back_loses_no_episode(scalable):
    if not shares_episodes(scalable):
        pytest.skip("the replicas do not share episodes yet (needs the Redis episode store)")
    address = scalable.address("episode")
    with EpisodeClient(address) as client:
        ids = [client.reset("easy", seed).episode_id for seed in range(60)]
        for episode_id in ids:
            client.step(episode_id, SCRIPT[0])
        scalable.add_episode_replica()
        for episode_id in ids:
            assert eventually(functools.partial(client.step, episode_id, SCRIPT[1])).observation.step_count == 2
        scalable.remove_episode_replica()
        for episode_id in ids:
            assert eventually(functools.partial(client.step, episode_id, SCRIPT[2])).observation.step_count == 3
            client.close_episode(episode_id)
