"""The local cluster as real processes: determinism across clusters, and `mlopsdebug up` itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from answers import gold_diagnosis, open_key

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_client import ClientConfig, EpisodeClient, GeneratorClient, actions
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_generator.core import generate_scenario

pytestmark = pytest.mark.cluster
CASES = [(task, seed) for task in ("easy", "medium", "hard") for seed in (0, 1, 2, 977)]


@pytest.fixture(scope="module")
def two_clusters():
    """Two clusters with one secret and one salt (each cluster would otherwise draw its own): `a` on the
    default loop (uvloop), `b` on asyncio's own loop, so that every comparison below also shows the
    event loop makes no difference to what an agent sees."""
    secret, salt = os.urandom(32).hex(), os.urandom(16).hex()
    services = ("generator", "grader", "episode")
    a = LocalCluster(ClusterOptions.ephemeral(secret=secret, salt=salt, services=services)).start()
    b = LocalCluster(
        ClusterOptions.ephemeral(
            secret=secret, salt=salt, services=services, extra_env={"MLOPSDEBUG_EVENT_LOOP": "asyncio"}
        )
    ).start()
    yield a, b
    a.stop()
    b.stop()


def as_episode(cluster: LocalCluster) -> ClientConfig:
    """The client config that reaches the cluster's generator or grader: the episode identity's certificate
    (under the cluster's mutual TLS they serve nobody else)."""
    return ClientConfig(timeout_s=20, **cluster.tls_files("episode"))


def play(address: str, task: str, seed: int, diagnosis: pb.Diagnosis) -> tuple[list[bytes], pb.Grade]:
    with EpisodeClient(address, config=ClientConfig(timeout_s=20)) as client, client.session() as session:
        session.reset(task, seed)
        steps = [session.step(a).observation for a in (actions.read_config(), actions.read_logs("epoch:1-2"),
                                                        actions.run_sanity_check("metric_gap_analysis"))]
        final = session.step(pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=diagnosis))).observation
    return [s.SerializeToString(deterministic=True) for s in steps], final.last_action_result.grade


class TestDeterminism:
    def test_same_scenario_bytes_in_two_clusters(self, two_clusters):
        """Two separate generator processes produce byte-identical scenarios for the same inputs."""
        a, b = two_clusters
        with GeneratorClient(a.address("generator"), config=as_episode(a)) as ga, \
                GeneratorClient(b.address("generator"), config=as_episode(b)) as gb:
            for task, seed in CASES:
                sa = ga.generate_scenario(task, seed).scenario.SerializeToString(deterministic=True)
                sb = gb.generate_scenario(task, seed).scenario.SerializeToString(deterministic=True)
                assert sa == sb, (task, seed)

    def test_same_observations_and_grade_in_two_clusters(self, two_clusters):
        """The same episode played on two clusters gives identical observations and the same grade."""
        a, b = two_clusters
        secret = bytes.fromhex(a.options.secret)
        with GeneratorClient(a.address("generator"), config=as_episode(a)) as generator:
            for task, seed in CASES[::2]:
                key = open_key(secret, generator.generate_scenario(task, seed).scenario.answer_key)
                diagnosis = gold_diagnosis(key)
                obs_a, grade_a = play(a.address("episode"), task, seed, diagnosis)
                obs_b, grade_b = play(b.address("episode"), task, seed, diagnosis)
                assert obs_a == obs_b
                assert grade_a.SerializeToString(deterministic=True) == grade_b.SerializeToString(deterministic=True)
                assert grade_a.score >= 0.95

    def test_a_salt_changes_the_mapping_from_seed_to_scenario(self, two_clusters):
        """A deployment salt changes which scenario a public seed yields: a cluster started without one
        draws its own, and only a public cluster yields the scenarios of the public code."""
        a, _ = two_clusters
        own = LocalCluster(ClusterOptions.ephemeral(secret=a.options.secret, services=("generator",))).start()
        public = LocalCluster(
            ClusterOptions.ephemeral(secret=a.options.secret, public=True, services=("generator",))
        ).start()
        try:
            assert own.options.salt not in ("", a.options.salt)
            with GeneratorClient(a.address("generator"), config=as_episode(a)) as salted, \
                    GeneratorClient(own.address("generator"), config=as_episode(own)) as drawn, \
                    GeneratorClient(public.address("generator"), config=as_episode(public)) as unsalted:  # fmt: skip
                for t, s in CASES:
                    contents = [client.generate_scenario(t, s).scenario.artifacts[0].content
                                for client in (salted, drawn, unsalted)]  # fmt: skip
                    offline = generate_scenario(t, s, sealer=Sealer(os.urandom(32))).artifacts[0].content
                    assert len(set(contents)) == 3 and contents[2] == offline, (t, s)
        finally:
            own.stop()
            public.stop()


class TestStartupSettings:
    def test_a_generator_without_a_salt_refuses_to_start(self):
        """`mlopsdebug serve generator` with no salt and no explicit public choice exits with a message."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_SALT")}
        env["MLOPSDEBUG_ANSWER_KEY_SECRET"] = os.urandom(16).hex()
        done = subprocess.run(
            [sys.executable, "-m", "mlopsdebug_cli.main", "serve", "generator"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1
        assert "MLOPSDEBUG_SALT is not set" in done.stderr and "MLOPSDEBUG_SALT_PUBLIC=true" in done.stderr
        assert "Traceback" not in done.stderr

    @pytest.mark.parametrize("service", ["generator", "grader", "episode", "gateway"])
    def test_unknown_event_loop_stops_the_service_with_its_name(self, service):
        """A bad MLOPSDEBUG_EVENT_LOOP ends `mlopsdebug serve` at once with a message, not a traceback."""
        env = {**os.environ, "MLOPSDEBUG_EVENT_LOOP": "trio", "MLOPSDEBUG_ANSWER_KEY_SECRET": os.urandom(16).hex(),
               "MLOPSDEBUG_SALT": os.urandom(16).hex()}
        done = subprocess.run(
            [sys.executable, "-m", "mlopsdebug_cli.main", "serve", service],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 1
        assert "MLOPSDEBUG_EVENT_LOOP must be one of uvloop, asyncio, not 'trio'" in done.stderr
        assert "Traceback" not in done.stderr


class TestUpCommand:
    def test_up_starts_every_service_and_stops_cleanly_on_sigterm(self):
        """`mlopsdebug up` prints the addresses once healthy (here with two generator replicas) and
        stops all processes on SIGTERM."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlopsdebug_cli.main", "up", "--ephemeral", "--generators", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if line.strip().startswith("gateway"):
                    break
            text = "".join(lines)
            assert "cluster is up" in text, text
            addresses = dict(re.findall(r"^\s+([\w-]+)\s+\S+\s+(\S+)$", text, re.MULTILINE))
            assert set(addresses) == {"generator", "generator-2", "grader", "episode", "gateway"}
            with EpisodeClient(addresses["episode"]) as client:
                assert [t.task_id for t in client.list_tasks().tasks][:3] == ["easy", "medium", "hard"]
                assert client.reset("medium", 5).observation.max_steps == 30
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            assert len(children) == 5
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0 and "cluster stopped" in out
            for pid in children:
                assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid)
        finally:
            if proc.poll() is None:
                proc.kill()


def _is_zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] == "Z"
    except OSError:
        return True


class TestReplicas:
    """Generator and grader are stateless: the episode service spreads calls over their replicas and
    carries on while any replica is up (as with `docker compose up --scale generator=N`)."""

    @staticmethod
    def cpu_s(pid: int) -> float:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def test_calls_spread_over_replicas_and_survive_losing_one(self):
        options = ClusterOptions.ephemeral(
            services=("generator", "grader", "episode"), replicas={"generator": 2, "grader": 2}
        )
        with LocalCluster(options) as cluster:
            names = cluster.process_names("generator")
            assert names == ["generator", "generator-2"] and cluster.peer_target("generator").startswith("ipv4:")
            before = {name: self.cpu_s(cluster.processes[name].pid) for name in names}
            with EpisodeClient(cluster.address("episode"), config=ClientConfig(timeout_s=30)) as client:
                for seed in range(40):  # every scenario new: each reset is a generator call
                    client.close_episode(client.reset("hard", 5_000 + seed).episode_id)
                spent = {name: self.cpu_s(cluster.processes[name].pid) - before[name] for name in names}
                assert all(cpu >= 0.02 for cpu in spent.values()), spent  # both replicas generated

                cluster.stop_process("generator")
                cluster.stop_process("grader")
                episode_id = client.reset("easy", 6_000).episode_id  # a new scenario, from the survivor
                verdict = actions.submit_diagnosis("config_error", "config.yaml", "optimizer.lr", "high", "lower it")
                graded = client.step(episode_id, verdict).observation  # graded by the surviving grader
                assert graded.done and graded.last_action_result.HasField("grade")

    def test_up_refuses_bad_replica_counts(self):
        command = [sys.executable, "-m", "mlopsdebug_cli.main", "up", "--ephemeral", "--graders", "0"]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "grader needs at least 1 replica" in proc.stderr

    def test_replicas_only_for_stateless_services(self):
        with pytest.raises(ValueError, match="only generator and grader"):
            ClusterOptions(replicas={"episode": 2})
        with pytest.raises(ValueError, match="IPv4 host"):
            ClusterOptions(host="localhost", replicas={"generator": 2})
        with pytest.raises(ValueError, match="at least 1"):
            ClusterOptions(replicas={"grader": 0})
