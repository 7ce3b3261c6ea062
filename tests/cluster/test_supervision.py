"""Fault injection on real processes: one service's crash does not stop the cluster.

`mlopsdebug up` runs as a user runs it; its services are killed with SIGKILL one at a time. The
supervisor reports each exit, restarts the service on its port, and the cluster keeps serving:
episodes live in the episode process, so they survive a generator or grader crash and go with an
episode-process crash (an in-memory store), after which the service is back for new episodes.
"""

from __future__ import annotations

import os
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
from mlopsdebug_cli.supervise import RestartPolicy
from mlopsdebug_client import ClientConfig, EpisodeClient, MLOpsDebugError, StatusCode, actions
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_generator.core import generate_scenario

pytestmark = pytest.mark.cluster
SALT = "fault-injection-salt"
PATIENCE_S = 90.0  # generous: a deadline under load, never a speed assertion
VERDICT = actions.submit_diagnosis("config_error", "config.yaml", "optimizer.lr", "too high", "lower it")


class UpProcess:
    """`mlopsdebug up` as a subprocess, its output collected line by line on a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlopsdebug_cli.main", "up", "--ephemeral", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line(r"^\s+gateway\s")
        text = "".join(self.lines)
        self.addresses = dict(re.findall(r"^\s+([\w-]+)\s+\S+\s+(\S+)$", text, re.MULTILINE))

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self._new.put(line)

    def wait_for_line(self, pattern: str, *, after: int = 0) -> re.Match[str]:
        """The first line (from index `after`) matching `pattern`, waiting for it to be printed."""
        deadline = time.monotonic() + PATIENCE_S
        while True:
            for line in self.lines[after:]:
                match = re.search(pattern, line)
                if match:
                    return match
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None and self._new.empty():
                raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")
            try:
                self.lines.append(self._new.get(timeout=min(remaining, 1.0)))
            except queue.Empty:
                pass

    def pid_of(self, service: str) -> int:
        """The pid of the service's running process, a child of `up`."""
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        for pid in children:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    argv = handle.read().split(b"\0")
            except OSError:
                continue
            if argv[-3:-1] == [b"serve", service.encode()] or argv[-2:] == [b"serve", service.encode()]:
                if not _is_zombie(pid):
                    return int(pid)
        raise AssertionError(f"no running {service} process under up ({children})")

    def kill(self, service: str) -> tuple[int, int]:
        """SIGKILLs the service; returns (its pid, the index of the next output line)."""
        pid = self.pid_of(service)
        mark = len(self.lines)
        os.kill(pid, signal.SIGKILL)
        return pid, mark

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


def _is_zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def eventually(call: Callable[[], object], *, retry_on: tuple[StatusCode, ...] = (StatusCode.UNAVAILABLE,)):
    """The call's result once it stops failing with a transient status (a peer still reconnecting)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return call()
        except MLOpsDebugError as exc:
            if exc.code not in retry_on or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def up() -> Iterator[UpProcess]:
    cluster = UpProcess("--salt", SALT)
    try:
        yield cluster
    finally:
        cluster.stop()


def client_of(up: UpProcess) -> EpisodeClient:
    return EpisodeClient(up.addresses["episode"], config=ClientConfig(timeout_s=30))


def assert_restarted(up: UpProcess, service: str, old_pid: int, mark: int) -> int:
    up.wait_for_line(rf"supervisor: {service} exited with code -9 \(SIGKILL\); restarting in \S+s", after=mark)
    new_pid = int(up.wait_for_line(rf"supervisor: {service} restarted \(pid (\d+), restart \d+\)", after=mark)[1])
    assert new_pid != old_pid and up.pid_of(service) == new_pid
    return new_pid


class TestUpRestartsACrashedService:
    def test_a_killed_generator_comes_back_and_no_episode_is_lost(self, up: UpProcess):
        with client_of(up) as client:
            episode_id = client.reset("easy", 11).episode_id
            client.step(episode_id, actions.read_config())
            old_pid, mark = up.kill("generator")
            # The cluster keeps serving: steps need no generator.
            assert client.step(episode_id, actions.check_dataset_stats()).observation.step_count == 2
            assert_restarted(up, "generator", old_pid, mark)
            graded = client.step(episode_id, VERDICT).observation  # the episode lived through it
            assert graded.done and graded.last_action_result.HasField("grade")
            # New scenarios come from the restarted generator, with the cluster's salt.
            reset = eventually(lambda: client.reset("medium", 424_242))
            expected = generate_scenario("medium", 424_242, sealer=Sealer(os.urandom(32)), salt=SALT.encode())
            assert reset.observation.run_id == expected.run_summary.run_id
        assert up.proc.poll() is None

    def test_a_killed_grader_comes_back_and_no_episode_is_lost(self, up: UpProcess):
        with client_of(up) as client:
            episode_id = client.reset("hard", 12).episode_id
            client.step(episode_id, actions.read_eval_results())
            old_pid, mark = up.kill("grader")
            assert_restarted(up, "grader", old_pid, mark)
            graded = eventually(lambda: client.step(episode_id, VERDICT)).observation
            assert graded.done and graded.last_action_result.HasField("grade")
        assert up.proc.poll() is None

    def test_a_killed_episode_service_comes_back_without_its_episodes(self, up: UpProcess):
        with client_of(up) as client:
            episode_id = client.reset("easy", 13).episode_id
            old_pid, mark = up.kill("episode")
            assert_restarted(up, "episode", old_pid, mark)
            # In-memory episodes went with the process: NOT_FOUND, not an endless retry.
            with pytest.raises(MLOpsDebugError) as lost:
                eventually(lambda: client.get_state(episode_id))
            assert lost.value.code == StatusCode.NOT_FOUND
            fresh = eventually(lambda: client.reset("easy", 13))
            assert client.step(fresh.episode_id, actions.read_config()).observation.step_count == 1
        assert up.proc.poll() is None

    def test_sigterm_still_stops_everything(self, up: UpProcess):
        children = subprocess.run(["pgrep", "-P", str(up.proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 4
        text = up.stop()
        assert up.proc.returncode == 0 and "cluster stopped" in text
        assert all(_is_zombie(pid) for pid in children)


def test_up_with_restart_limit_zero_stops_at_the_first_exit():
    """--restart-limit 0 is the old behaviour, on purpose: one exit stops the cluster, status 1."""
    up = UpProcess("--restart-limit", "0", "--public")
    try:
        up.wait_for_line(r"^salt: none \(--public: answers are computable offline")
        _, mark = up.kill("grader")
        up.wait_for_line(r"grader exited with code -9 \(SIGKILL\); not restarting \(restart limit 0\)", after=mark)
        assert up.proc.wait(timeout=60) == 1
        assert "cluster stopped" in up.stop()
    finally:
        if up.proc.poll() is None:
            up.proc.kill()


class TestLocalClusterSupervision:
    """The LocalCluster that `eval` starts is supervised the same way."""

    def test_a_crash_loop_is_given_up_after_the_limit(self):
        messages: list[str] = []
        policy = RestartPolicy(initial_delay_s=0.05, max_delay_s=0.1, max_crashes_in_a_row=2)
        options = ClusterOptions.ephemeral(services=("generator",), restart=policy)
        with LocalCluster(options, report=messages.append) as cluster:
            # Every restart from now on exits during start-up: a crash loop.
            cluster.options.extra_env["MLOPSDEBUG_EVENT_LOOP"] = "no-such-loop"
            cluster.processes["generator"].kill()
            assert cluster.supervisor is not None and cluster.supervisor.gave_up.wait(PATIENCE_S)
            exits = [m for m in messages if m.startswith("generator exited")]
            assert len(exits) == 3 and exits[-1].endswith("giving up (limit 2)"), messages
            assert sum("did not come back" in m for m in messages) == 2

    def test_a_replica_restarts_on_its_port_and_a_process_stopped_on_purpose_does_not(self):
        messages: list[str] = []
        options = ClusterOptions.ephemeral(services=("generator", "grader"), replicas={"generator": 2})
        with LocalCluster(options, report=messages.append) as cluster:
            supervisor = cluster.supervisor
            assert supervisor is not None
            cluster.stop_process("grader")
            assert cluster.exited_processes() == {}
            old = cluster.processes["generator-2"]
            old.kill()
            old.wait()
            deadline = time.monotonic() + PATIENCE_S
            while supervisor.restarts("generator-2") == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert cluster.processes["generator-2"].pid != old.pid
            assert cluster.is_healthy("generator")  # both replicas, on their ports
            assert "grader" not in cluster.processes
            assert not any(m.startswith("grader") for m in messages), messages
