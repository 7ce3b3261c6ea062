"""Fault injection against real processes: a SIGTERM drain with calls held in flight, and peer outages.

Every service runs as its own process (LocalCluster, mutual TLS as `mlopsdebug up` runs them). A gRPC
proxy (tests/gates.py) stands between the episode service and its generator or grader and holds
their calls, so that a test knows they are in flight at the moment it injects the fault.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import grpc
import pytest
from gates import GatedProxy
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster, free_port
from mlopsdebug_client import ClientConfig, EpisodeClient, MLOpsDebugError, StatusCode, actions
from mlopsdebug_common.rpc import MutualTls

pytestmark = [pytest.mark.cluster, pytest.mark.faults]

GENERATE = "/mlopsdebug.generator.v1.GeneratorService/GenerateScenario"
GRADE = "/mlopsdebug.grader.v1.GraderService/Grade"
IN_FLIGHT = 10  # resets held at the generator, and as many submissions held at the grader
SUBMISSION = actions.submit_diagnosis(
    "config_error", "config.yaml", "optimizer.lr", "the loss diverges", "lower the learning rate"
)


class LoopThread:
    """An event loop on a thread of its own, for the proxies."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fault-proxies", daemon=True)
        self._thread.start()

    def run(self, coro, timeout_s: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def peers() -> Iterator[LocalCluster]:
    """Generator and grader as processes; the tests start the episode service themselves."""
    with LocalCluster(ClusterOptions.ephemeral(services=("generator", "grader"))) as cluster:
        yield cluster


def serving(address: str) -> bool:
    """Whether a fresh connection to the episode service gets a SERVING health check."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def start_episode_service(cluster: LocalCluster, generator_addr: str, grader_addr: str) -> tuple[subprocess.Popen, str]:
    """`mlopsdebug serve episode` with the cluster's episode certificate, reaching its peers at the given
    addresses (the proxies), with a drain grace and peer deadline far beyond what the test needs."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")}
    env.update({
        "MLOPSDEBUG_EPISODE_HOST": "127.0.0.1",
        "MLOPSDEBUG_EPISODE_PORT": str(port),
        "MLOPSDEBUG_GENERATOR_ADDR": generator_addr,
        "MLOPSDEBUG_GRADER_ADDR": grader_addr,
        "MLOPSDEBUG_MTLS_DIR": cluster.certs_dir or "",
        "MLOPSDEBUG_GRACE_S": "120",
        "MLOPSDEBUG_PEER_TIMEOUT_S": "120",
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "mlopsdebug_cli.main", "serve", "episode"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    for _ in range(600):
        if serving(address):
            return process, address
        if process.poll() is not None:
            raise RuntimeError(f"the episode service exited with {process.returncode}")
        threading.Event().wait(0.05)
    process.kill()
    raise TimeoutError("the episode service did not become healthy")


class TestDrain:
    def test_sigterm_finishes_resets_and_submissions_in_flight(self, peers):
        """SIGTERM while 10 resets wait on the generator and 10 submissions on the grader: the service stops
        accepting, and every one of the 20 calls completes once its peer answers (none is lost to the drain),
        then the process exits 0."""
        certs = peers.certs_dir
        assert certs is not None
        episode_tls = MutualTls.from_dir(certs, "episode")
        loop = LoopThread()
        try:
            generator = loop.run(GatedProxy.start(
                peers.address("generator"), GENERATE, armed=False,
                server_credentials=MutualTls.from_dir(certs, "generator").server_credentials(),
                upstream_credentials=episode_tls.channel_credentials(), upstream_server_name="generator",
            ))
            grader = loop.run(GatedProxy.start(
                peers.address("grader"), GRADE, armed=False,
                server_credentials=MutualTls.from_dir(certs, "grader").server_credentials(),
                upstream_credentials=episode_tls.channel_credentials(), upstream_server_name="grader",
            ))
            process, address = start_episode_service(peers, generator.address, grader.address)
            try:
                config = ClientConfig(timeout_s=180, max_retries=0)
                with EpisodeClient(address, config=config) as client:
                    opened = [client.reset("easy", seed).episode_id for seed in range(IN_FLIGHT)]
                    generator.arm()
                    grader.arm()
                    with concurrent.futures.ThreadPoolExecutor(2 * IN_FLIGHT) as pool:
                        resets = [pool.submit(client.reset, "medium", 1_000 + seed) for seed in range(IN_FLIGHT)]
                        submissions = [pool.submit(client.step, episode_id, SUBMISSION) for episode_id in opened]
                        generator.wait_until_held(IN_FLIGHT)
                        grader.wait_until_held(IN_FLIGHT)

                        process.terminate()
                        # The drain has begun once the service refuses new connections.
                        while serving(address):
                            threading.Event().wait(0.05)
                        assert not any(f.done() for f in resets + submissions)
                        generator.release()
                        grader.release()
                        reset_results = [f.result(timeout=120) for f in resets]
                        graded = [f.result(timeout=120).observation for f in submissions]
                assert [r.observation.step_count for r in reset_results] == [0] * IN_FLIGHT
                assert all(obs.done and obs.last_action_result.HasField("grade") for obs in graded)
                assert process.wait(timeout=120) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        finally:
            generator.release()
            grader.release()
            loop.stop()


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """Generator, grader and episode service; the episode service's peer deadline is far beyond the
    clients', so a call that waited for a down peer would end as DEADLINE_EXCEEDED at the client."""
    options = ClusterOptions.ephemeral(
        services=("generator", "grader", "episode"), extra_env={"MLOPSDEBUG_PEER_TIMEOUT_S": "300"}
    )
    with LocalCluster(options) as running:
        yield running


def outcome(call, *args) -> StatusCode | None:
    try:
        call(*args)
    except MLOpsDebugError as err:
        return err.code
    return None


class TestPeerOutages:
    CLIENT_DEADLINE_S = 20.0

    def test_generator_down_fails_fast_and_the_cache_still_serves(self, cluster):
        """With the generator stopped, resets of new scenarios fail with UNAVAILABLE (not by waiting out
        their deadline), a cached scenario still starts an episode, and all works again once it is back."""
        config = ClientConfig(timeout_s=self.CLIENT_DEADLINE_S, max_retries=0)
        with EpisodeClient(cluster.address("episode"), config=config) as client:
            cached = client.reset("hard", 7)
            cluster.stop_service("generator")
            codes = [outcome(client.reset, "easy", 2_000 + seed) for seed in range(IN_FLIGHT)]
            assert codes == [StatusCode.UNAVAILABLE] * IN_FLIGHT
            again = client.reset("hard", 7)  # served from the cache during the outage
            assert again.observation.task_description == cached.observation.task_description
            cluster.start_service("generator")
            assert client.reset("easy", 2_000).observation.step_count == 0

    def test_grader_down_fails_fast_and_changes_nothing(self, cluster):
        """With the grader stopped, submissions fail with UNAVAILABLE and leave their episodes as they were;
        once the grader is back they are graded."""
        config = ClientConfig(timeout_s=self.CLIENT_DEADLINE_S, max_retries=0)
        with EpisodeClient(cluster.address("episode"), config=config) as client:
            opened = [client.reset("easy", seed).episode_id for seed in range(IN_FLIGHT)]
            cluster.stop_service("grader")
            codes = [outcome(client.step, episode_id, SUBMISSION) for episode_id in opened]
            assert codes == [StatusCode.UNAVAILABLE] * IN_FLIGHT
            assert all(client.get_state(episode_id).state.step_count == 0 for episode_id in opened)
            cluster.start_service("grader")
            final = client.step(opened[0], SUBMISSION).observation
            assert final.done and final.last_action_result.HasField("grade")
