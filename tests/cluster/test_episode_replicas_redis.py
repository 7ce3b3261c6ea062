"""Cluster tier: two episode processes on one real redis-server, with real generator and grader
processes (mutual TLS, a fresh salt). An episode started on one replica and stepped on both goes on
after that replica is killed with SIGKILL, and plays exactly like an undisturbed episode of the same
seed (the routing in front of the replicas, Envoy, is another test's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from integration.test_episode_redis_store import PLAY, Replica, token, wire
from redisserver import RedisServer, free_port

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster

pytestmark = pytest.mark.cluster


def start_episode_process(cluster: LocalCluster, redis_url: str) -> tuple[subprocess.Popen, int]:
    """Another episode replica as its own process, on the cluster's generator, grader and certificates."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")}
    env.update({
        "MLOPSDEBUG_EPISODE_HOST": "127.0.0.1",
        "MLOPSDEBUG_EPISODE_PORT": str(port),
        "MLOPSDEBUG_GENERATOR_ADDR": cluster.peer_target("generator"),
        "MLOPSDEBUG_GRADER_ADDR": cluster.peer_target("grader"),
        "MLOPSDEBUG_MTLS_DIR": cluster.certs_dir or "",
        "MLOPSDEBUG_REDIS_URL": redis_url,
        "MLOPSDEBUG_GRACE_S": "2",
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "mlopsdebug_cli.main", "serve", "episode"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while True:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                    return process, port
            except grpc.RpcError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError("the second episode replica did not become healthy") from None
                time.sleep(0.2)


def test_an_episode_survives_a_sigkilled_replica_and_plays_like_an_undisturbed_one(tmp_path):
    redis_server = RedisServer(tmp_path).start()
    options = ClusterOptions.ephemeral(
        services=("generator", "grader", "episode"), extra_env={"MLOPSDEBUG_REDIS_URL": redis_server.url}, restart=None
    )
    cluster = LocalCluster(options).start()
    second = None
    try:
        second, port = start_episode_process(cluster, redis_server.url)
        me = token("cluster")
        a = Replica(int(cluster.address("episode").rsplit(":", 1)[1]), me)
        b = Replica(port, me)
        expected = [wire(b.reset("ep-undisturbed", 21).observation)]
        expected += [wire(b.step("ep-undisturbed", action).observation) for action in PLAY]
        got = [wire(a.reset("ep-killed", 21).observation)]
        for index, action in enumerate(PLAY):
            if index == 5:
                victim = cluster.processes["episode"]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(30)
            replica = b if index >= 5 or index % 2 else a
            got.append(wire(replica.step("ep-killed", action).observation))
        assert got == expected
        killed, undisturbed = b.state("ep-killed"), b.state("ep-undisturbed")
        assert killed.step_count == undisturbed.step_count == len(PLAY)
        assert wire(killed.grade) == wire(undisturbed.grade) and killed.state == undisturbed.state
    finally:
        if second is not None:
            second.kill()
            second.wait(10)
        cluster.stop()
        redis_server.stop()


def test_an_episode_service_on_redis_conforms(tmp_path):
    """The conformance suite (gRPC and OpenEnv) against a cluster whose episode service keeps its
    episodes in Redis: the store changes nothing a client can observe."""
    redis_server = RedisServer(tmp_path).start()
    options = ClusterOptions.ephemeral(extra_env={"MLOPSDEBUG_REDIS_URL": redis_server.url})
    try:
        with LocalCluster(options) as cluster:
            result = subprocess.run(
                [sys.executable, "-m", "mlopsdebug_cli.main", "conformance", "--address", cluster.address("episode"),
                 "--gateway-url", f"http://{cluster.address('gateway')}", "--", "-q", "-rs"],
                capture_output=True, text=True, timeout=900,
                env={k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")},
            )
        scripts_run = redis.Redis.from_url(redis_server.url).info("commandstats")["cmdstat_evalsha"]["calls"]
    finally:
        redis_server.stop()
    assert scripts_run > 100  # the episodes really lived in Redis
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
