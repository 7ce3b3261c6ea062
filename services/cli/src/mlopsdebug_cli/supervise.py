"""Supervision of the local cluster's processes: a crashed service restarts, the others keep serving.

`mlopsdebug up` and the cluster `mlopsdebug eval` starts run one `Supervisor` each. It watches every
process of the cluster; when one exits without being asked to, it reports the exit code and starts
the process again, on the same port with the same environment (so a restarted generator keeps the
cluster's salt and secret), after a delay that grows exponentially with the crashes in a row:
0.5 s, 1 s, 2 s, ... up to 30 s. A process that then stays up for `stable_after_s` (60 s) counts as
healthy again, and its next crash waits 0.5 s. After `max_crashes_in_a_row` (10) crashes with no
stable run between them, about two and a half minutes of trying, the supervisor gives up: it reports
the crash loop and stops supervising, and `up` stops the cluster.

A process stopped on purpose (`LocalCluster.stop_process`, `stop`) is never restarted. What lives in
a process dies with it: a restarted episode service has lost its open episodes when they live in its
memory (one episode process, no Redis), a restarted gateway its MCP sessions; generator and grader
hold nothing. The scaled cluster's Redis and Envoy are supervised the same way.
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlopsdebug_cli.cluster import LocalCluster


@dataclasses.dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When to restart a crashed process, and when to give up on it."""

    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0
    factor: float = 2.0
    # A process up this long counts as healthy again: its crashes-in-a-row count starts over.
    stable_after_s: float = 60.0
    # Crashes in a row (none after a stable run) after which the supervisor gives up; 0: never restart.
    max_crashes_in_a_row: int = 10

    def __post_init__(self) -> None:
        if self.initial_delay_s <= 0 or self.max_delay_s < self.initial_delay_s or self.factor < 1:
            raise ValueError("need 0 < initial_delay_s <= max_delay_s and factor >= 1")
        if self.stable_after_s <= 0:
            raise ValueError("stable_after_s must be positive")
        if self.max_crashes_in_a_row < 0:
            raise ValueError(f"the crash limit must be >= 0, got {self.max_crashes_in_a_row}")

    def delay_s(self, crashes_in_a_row: int) -> float:
        """The wait before restarting after the n-th crash in a row (n >= 1)."""
        if crashes_in_a_row < 1:
            raise ValueError("crashes_in_a_row starts at 1")
        # Capped before exponentiation, so a long count never overflows a float.
        exponent = min(crashes_in_a_row - 1, 64)
        return min(self.max_delay_s, self.initial_delay_s * self.factor**exponent)


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """What to do about one crash: restart after `delay_s`, or give up (`delay_s` is None)."""

    crashes_in_a_row: int
    delay_s: float | None

    @property
    def give_up(self) -> bool:
        return self.delay_s is None


class Backoff:
    """One process's crash history under a policy; pure (the caller passes the clock's readings)."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.crashes_in_a_row = 0
        self.restarts = 0
        self._started_at: float | None = None

    def started(self, now: float) -> None:
        """The process was (re)started at `now`."""
        self._started_at = now

    def crashed(self, now: float) -> Verdict:
        """The process exited at `now` without being asked to."""
        if self._started_at is not None and now - self._started_at >= self.policy.stable_after_s:
            self.crashes_in_a_row = 0
        self.crashes_in_a_row += 1
        if self.crashes_in_a_row > self.policy.max_crashes_in_a_row:
            return Verdict(self.crashes_in_a_row, None)
        return Verdict(self.crashes_in_a_row, self.policy.delay_s(self.crashes_in_a_row))


def describe_exit(code: int) -> str:
    """`code 1`, or `code -9 (SIGKILL)` for a process killed by a signal."""
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


def report_to_stderr(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} supervisor: {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Restarts the cluster's crashed processes with backoff, on a thread of its own."""

    def __init__(
        self,
        cluster: LocalCluster,
        policy: RestartPolicy,
        *,
        report: Callable[[str], None] = report_to_stderr,
        poll_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cluster = cluster
        self.policy = policy
        self.report = report
        self.poll_s = poll_s
        self.clock = clock
        self.gave_up = threading.Event()
        """Set when a crash loop went past the limit; `failure` then says which process."""
        self.failure: str | None = None
        self._backoff: dict[str, Backoff] = {}
        self._due: dict[str, float] = {}  # process name -> when to restart it
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def restarts(self, name: str) -> int:
        """How many times the process has been restarted so far."""
        backoff = self._backoff.get(name)
        return backoff.restarts if backoff else 0

    def start(self) -> Supervisor:
        now = self.clock()
        for name in self.cluster.running_processes():
            self._backoff_of(name).started(now)
        self._thread = threading.Thread(target=self._run, name="mlopsdebug-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops supervising (before the cluster stops its processes); waits for a restart under way."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _backoff_of(self, name: str) -> Backoff:
        if name not in self._backoff:
            self._backoff[name] = Backoff(self.policy)
        return self._backoff[name]

    def _run(self) -> None:
        while not self._stopping.wait(self.poll_s):
            if not self.check():
                return

    def check(self) -> bool:
        """One round: notices exits and restarts the processes that are due. False once given up."""
        for name, code in self.cluster.exited_processes().items():
            if name in self._due:
                continue
            now = self.clock()
            verdict = self._backoff_of(name).crashed(now)
            exited = f"{name} exited with {describe_exit(code)}"
            if verdict.give_up:
                limit = self.policy.max_crashes_in_a_row
                self.failure = (
                    f"{exited}; not restarting (restart limit 0)"
                    if limit == 0
                    else f"{exited}: {verdict.crashes_in_a_row} crashes in a row, none after a run of"
                    f" {self.policy.stable_after_s:g}s; giving up (limit {limit})"
                )
                self.report(self.failure)
                self.gave_up.set()
                return False
            self.report(
                f"{exited}; restarting in {verdict.delay_s:g}s"
                f" (crash {verdict.crashes_in_a_row} in a row, limit {self.policy.max_crashes_in_a_row})"
            )
            self._due[name] = now + verdict.delay_s  # type: ignore[operator]
        for name, due in sorted(self._due.items(), key=lambda item: item[1]):
            if self._stopping.is_set():
                break
            if self.clock() < due:
                continue
            del self._due[name]
            backoff = self._backoff_of(name)
            backoff.started(self.clock())
            try:
                pid = self.cluster.restart_process(name, cancel=self._stopping)
            except (RuntimeError, TimeoutError) as exc:  # seen as an exit in the next round
                self.report(f"{name} did not come back: {exc}")
                continue
            if pid is None:  # stopped on purpose meanwhile, or the cluster is stopping
                continue
            backoff.restarts += 1
            self.report(f"{name} restarted (pid {pid}, restart {backoff.restarts})")
        return True
