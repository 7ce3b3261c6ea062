"""The supervisor's restart policy and bookkeeping, on a fake clock and a fake cluster (no processes)."""

from __future__ import annotations

import threading

import pytest

from mlopsdebug_cli.supervise import Backoff, RestartPolicy, Supervisor, describe_exit


class TestRestartPolicy:
    def test_delays_double_from_half_a_second_up_to_thirty(self):
        policy = RestartPolicy()
        delays = [policy.delay_s(n) for n in range(1, 12)]
        assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0]

    def test_a_huge_crash_count_stays_at_the_cap(self):
        assert RestartPolicy().delay_s(10_000) == 30.0

    @pytest.mark.parametrize(
        "kwargs",
        [{"initial_delay_s": 0}, {"max_delay_s": 0.1}, {"factor": 0.5}, {"stable_after_s": 0},
         {"max_crashes_in_a_row": -1}],
    )  # fmt: skip
    def test_nonsense_is_refused(self, kwargs):
        with pytest.raises(ValueError):
            RestartPolicy(**kwargs)

    def test_crash_counts_start_at_one(self):
        with pytest.raises(ValueError):
            RestartPolicy().delay_s(0)


class TestBackoff:
    def test_quick_crashes_back_off_then_give_up_past_the_limit(self):
        backoff = Backoff(RestartPolicy(max_crashes_in_a_row=3))
        now = 0.0
        backoff.started(now)
        verdicts = []
        for _ in range(4):
            now += 1.0
            verdicts.append(backoff.crashed(now))
            backoff.started(now)
        assert [v.delay_s for v in verdicts] == [0.5, 1.0, 2.0, None]
        assert [v.crashes_in_a_row for v in verdicts] == [1, 2, 3, 4]
        assert verdicts[-1].give_up and not verdicts[0].give_up

    def test_a_stable_run_resets_the_count(self):
        backoff = Backoff(RestartPolicy(stable_after_s=60.0))
        backoff.started(0.0)
        assert backoff.crashed(1.0).delay_s == 0.5
        backoff.started(1.5)
        assert backoff.crashed(2.0).delay_s == 1.0
        backoff.started(3.0)
        assert backoff.crashed(62.9).delay_s == 2.0  # up 59.9 s: not yet stable
        backoff.started(65.0)
        verdict = backoff.crashed(125.0)  # up 60 s: healthy again, the next crash is the first
        assert verdict.crashes_in_a_row == 1 and verdict.delay_s == 0.5

    def test_limit_zero_never_restarts(self):
        backoff = Backoff(RestartPolicy(max_crashes_in_a_row=0))
        backoff.started(0.0)
        assert backoff.crashed(100.0).give_up


def test_exit_codes_name_the_signal():
    assert describe_exit(-9) == "code -9 (SIGKILL)"
    assert describe_exit(1) == "code 1"
    assert describe_exit(-200) == "code -200"


class FakeCluster:
    """Processes are names with an exit code (None: running); restarts succeed unless told to fail."""

    def __init__(self, names):
        self.codes: dict[str, int | None] = dict.fromkeys(names)
        self.restarted: list[str] = []
        self.fail_restart = False
        self.next_pid = 1000

    def running_processes(self):
        return [n for n, c in self.codes.items() if c is None]

    def exited_processes(self):
        return {n: c for n, c in self.codes.items() if c is not None}

    def restart_process(self, name, *, cancel: threading.Event | None = None):
        if name not in self.codes or self.codes[name] is None:
            return None
        if self.fail_restart:
            self.codes[name] = 1
            raise RuntimeError(f"{name} exited with code 1 during start-up")
        self.codes[name] = None
        self.restarted.append(name)
        self.next_pid += 1
        return self.next_pid


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class TestSupervisor:
    def make(self, **policy):
        cluster = FakeCluster(["generator", "grader", "episode"])
        clock = Clock()
        messages: list[str] = []
        supervisor = Supervisor(cluster, RestartPolicy(**policy), report=messages.append, clock=clock)
        for name in cluster.running_processes():
            supervisor._backoff_of(name).started(clock.now)
        return cluster, clock, messages, supervisor

    def test_a_crash_is_reported_and_restarted_after_the_delay(self):
        cluster, clock, messages, supervisor = self.make()
        cluster.codes["generator"] = -9
        assert supervisor.check()
        assert messages == ["generator exited with code -9 (SIGKILL); restarting in 0.5s (crash 1 in a row, limit 10)"]
        assert cluster.restarted == []  # not before the delay
        clock.now = 0.4
        supervisor.check()
        assert cluster.restarted == []
        clock.now = 0.5
        supervisor.check()
        assert cluster.restarted == ["generator"] and supervisor.restarts("generator") == 1
        assert messages[-1] == "generator restarted (pid 1001, restart 1)"
        assert cluster.codes == {"generator": None, "grader": None, "episode": None}

    def test_only_the_crashed_process_is_touched(self):
        cluster, clock, _, supervisor = self.make()
        cluster.codes["grader"] = 3
        supervisor.check()
        clock.now = 1.0
        supervisor.check()
        assert cluster.restarted == ["grader"] and supervisor.restarts("episode") == 0

    def test_a_crash_loop_gives_up_past_the_limit(self):
        cluster, clock, messages, supervisor = self.make(max_crashes_in_a_row=2)
        for _ in range(2):
            cluster.codes["episode"] = 1
            assert supervisor.check()
            clock.now += 10
            assert supervisor.check()
        assert cluster.restarted == ["episode", "episode"]
        cluster.codes["episode"] = 1
        assert not supervisor.check()
        assert supervisor.gave_up.is_set()
        assert supervisor.failure == (
            "episode exited with code 1: 3 crashes in a row, none after a run of 60s; giving up (limit 2)"
        )
        assert messages[-1] == supervisor.failure

    def test_a_failed_restart_counts_as_a_crash(self):
        cluster, clock, messages, supervisor = self.make()
        cluster.codes["generator"] = 1
        cluster.fail_restart = True
        supervisor.check()
        clock.now = 0.5
        supervisor.check()
        assert messages[-1] == "generator did not come back: generator exited with code 1 during start-up"
        supervisor.check()  # the failed start is seen as the next crash: a longer wait
        assert messages[-1].endswith("restarting in 1s (crash 2 in a row, limit 10)")
