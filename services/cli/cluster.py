"""The local cluster as real processes: the docker-compose topology without Docker.

Generator and grader start first and receive a fresh shared answer-key secret (nobody else does);
the episode service gets their addresses; the gateway gets the episode service's address. Every
process is health-checked before the cluster counts as up, and stopped with SIGTERM (then SIGKILL).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("generator", "grader", "episode", "gateway")
DEFAULT_PORTS = {"generator": 50051, "episode": 50052, "grader": 50053, "gateway": 7860}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class ClusterOptions:
    ports: dict[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    services: tuple[str, ...] = SERVICES
    secret: str = dataclasses.field(default_factory=lambda: secrets.token_hex(32))
    salt: str = ""
    reveal_answers: bool = False
    max_episodes: int = 10_000
    idle_timeout_s: float = 900.0
    log_dir: str | None = None
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def ephemeral(cls, **kwargs) -> ClusterOptions:
        """Free ports for every service, for tests and side-by-side clusters."""
        return cls(ports={name: free_port() for name in SERVICES}, **kwargs)


class LocalCluster:
    def __init__(self, options: ClusterOptions | None = None) -> None:
        self.options = options or ClusterOptions()
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, object] = {}

    def address(self, service: str) -> str:
        return f"{self.options.host}:{self.options.ports[service]}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.address('gateway')}"

    def _env(self, service: str) -> dict[str, str]:
        o = self.options
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")}
        env.update(o.extra_env)
        env["MLOPSDEBUG_GRACE_S"] = "2"
        bind = "127.0.0.1" if o.host in {"127.0.0.1", "localhost"} else "[::]"
        if service in ("generator", "grader"):
            env["MLOPSDEBUG_ANSWER_KEY_SECRET"] = o.secret
        if service == "generator":
            env["MLOPSDEBUG_GENERATOR_HOST"] = bind
            env["MLOPSDEBUG_GENERATOR_PORT"] = str(o.ports["generator"])
            env["MLOPSDEBUG_SALT"] = o.salt
        elif service == "grader":
            env["MLOPSDEBUG_GRADER_HOST"] = bind
            env["MLOPSDEBUG_GRADER_PORT"] = str(o.ports["grader"])
        elif service == "episode":
            env["MLOPSDEBUG_EPISODE_HOST"] = bind
            env["MLOPSDEBUG_EPISODE_PORT"] = str(o.ports["episode"])
            env["MLOPSDEBUG_GENERATOR_ADDR"] = self.address("generator")
            env["MLOPSDEBUG_GRADER_ADDR"] = self.address("grader")
            env["MLOPSDEBUG_REVEAL_ANSWERS"] = "true" if o.reveal_answers else "false"
            env["MLOPSDEBUG_MAX_EPISODES"] = str(o.max_episodes)
            env["MLOPSDEBUG_IDLE_TIMEOUT_S"] = str(o.idle_timeout_s)
        elif service == "gateway":
            env["MLOPSDEBUG_GATEWAY_HOST"] = o.host
            env["MLOPSDEBUG_GATEWAY_PORT"] = str(o.ports["gateway"])
            env["MLOPSDEBUG_EPISODE_ADDR"] = self.address("episode")
        return env

    def start_service(self, service: str, *, timeout_s: float = 30.0) -> None:
        """Starts one service process and waits until it reports healthy."""
        if service in self.processes and self.processes[service].poll() is None:
            raise RuntimeError(f"{service} is already running")
        if self.options.log_dir:
            os.makedirs(self.options.log_dir, exist_ok=True)
            out = open(os.path.join(self.options.log_dir, f"{service}.log"), "ab")  # noqa: SIM115
            self._logs[service] = out
        else:
            out = subprocess.DEVNULL
        self.processes[service] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "mlopsdebug_cli.main", "serve", service],
            env=self._env(service),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_healthy(service, timeout_s)

    def _wait_healthy(self, service: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        process = self.processes[service]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{service} exited with code {process.returncode} during start-up")
            if self.is_healthy(service):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{service} not healthy after {timeout_s:.0f}s")

    def is_healthy(self, service: str) -> bool:
        if service == "gateway":
            try:
                with urllib.request.urlopen(f"{self.gateway_url}/health", timeout=1) as resp:  # noqa: S310
                    return resp.status == 200
            except OSError:
                return False
        with grpc.insecure_channel(self.address(service)) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return False
            return reply.status == health_pb2.HealthCheckResponse.SERVING

    def stop_service(self, service: str, *, grace_s: float = 5.0) -> None:
        process = self.processes.pop(service, None)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log = self._logs.pop(service, None)
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def start(self) -> LocalCluster:
        try:
            for service in SERVICES:
                if service in self.options.services:
                    self.start_service(service)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(SERVICES):
            self.stop_service(service)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_cluster(options: ClusterOptions | None = None) -> Iterator[LocalCluster]:
    cluster = LocalCluster(options)
    with cluster:
        yield cluster
