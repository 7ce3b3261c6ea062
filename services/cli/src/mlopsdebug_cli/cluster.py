"""The local cluster as real processes: the docker-compose topology without Docker.

Generator and grader start first and receive a fresh shared answer-key secret (nobody else does);
the episode service gets their addresses; the gateway gets the episode service's address. Every
process is health-checked before the cluster counts as up, and stopped with SIGTERM (then SIGKILL).
Each cluster makes its own certificates (a private CA, one certificate per service identity) in a
private temporary directory, so generator and grader serve only this cluster's episode service
(mutual TLS); the directory is removed when the cluster stops.
The stateless services can run several replicas (as `docker compose up --scale generator=N`): the
episode service then reaches them all, round-robin, through one `ipv4:` target.

The scaled cluster (`episodes=N` > 1, `mlopsdebug up --episodes N`) adds Redis (a `redis-server` on a
free port with its data in a temporary directory, unless `redis_url` names one) holding the episodes'
state (MLOPSDEBUG_REDIS_URL), N episode processes on free ports, and Envoy on the episode port in front
of them, ring-hashing on the `x-episode-id` header (see mlopsdebug_cli.envoy): the episode address
everybody uses, the gateway included, is Envoy's. Envoy's access log (`envoy_access_log`) records which
replica served each call.

Every cluster draws a fresh random salt unless given one, so that nobody can compute its answers
offline from the public code; an unsalted (public, reproducible) cluster is an explicit choice
(`public=True`). Once up, a supervisor (mlopsdebug_cli.supervise) restarts a crashed process with
backoff while the others keep serving.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlopsdebug_cli.envoy import EnvoyConfig, envoy_binary, render, write_endpoints
from mlopsdebug_cli.supervise import RestartPolicy, Supervisor, report_to_stderr
from mlopsdebug_common.certs import generate_cluster_certs

SERVICES = ("generator", "grader", "episode", "gateway")
DEFAULT_PORTS = {"generator": 50051, "episode": 50052, "grader": 50053, "gateway": 7860}
# Services any replica of which can answer any call; the others hold state (episodes, sessions).
STATELESS = ("generator", "grader")
# What the scaled cluster adds, in start order around the services: Redis first, Envoy before the gateway.
STORE, PROXY = "redis", "envoy"


def new_salt() -> str:
    """A fresh random deployment salt (128 bits, hex)."""
    return secrets.token_hex(16)


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
    # The deployment salt; None draws a fresh random one (new_salt). Every generator replica, and a
    # restarted generator, gets the same salt.
    salt: str | None = None
    # An unsalted cluster: anyone with the public code computes its answers offline. Only on purpose.
    public: bool = False
    reveal_answers: bool = False  # the grader's setting (MLOPSDEBUG_REVEAL_ANSWERS): grades show the answer
    # Mutual TLS between the services, on certificates made for this cluster (False: plaintext, with
    # generator and grader open to any local process; for comparisons only).
    mtls: bool = True
    # Reveal held-out faults' answers too (a local evaluation's own cluster; never a training cluster's).
    reveal_heldout: bool = False
    max_episodes: int = 10_000
    idle_timeout_s: float = 900.0
    log_dir: str | None = None
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    # Processes per stateless service (default 1); replicas after the first listen on free ports.
    replicas: dict[str, int] = dataclasses.field(default_factory=dict)
    # Restarts of crashed processes once the cluster is up; None: nothing restarts them.
    restart: RestartPolicy | None = dataclasses.field(default_factory=RestartPolicy)
    # Episode processes; more than one puts Envoy on the episode port in front of them and their
    # state in Redis (the scaled cluster).
    episodes: int = 1
    # A Redis the episode service keeps its episodes in (redis://host:port/db); None: with more than
    # one episode process the cluster starts its own, with one the episodes stay in memory.
    redis_url: str | None = None
    # Envoy (and Redis) in front of the episode processes even when there is one: the proxy's own cost
    # in benchmarks.
    envoy: bool = False
    # Episodes in a Redis the cluster starts even with one episode process and no Envoy (benchmarks:
    # the store's own cost).
    redis: bool = False

    def __post_init__(self) -> None:
        if self.public and self.salt:
            raise ValueError("a public cluster has no salt: pass either a salt or public, not both")
        if not self.public and self.salt == "":
            raise ValueError("an empty salt makes answers computable offline: ask for a public cluster (--public) instead")
        if self.salt is None:
            self.salt = "" if self.public else new_salt()
        for service, count in self.replicas.items():
            if service not in STATELESS:
                raise ValueError(f"only {' and '.join(STATELESS)} can have replicas, not {service}")
            if count < 1:
                raise ValueError(f"{service} needs at least 1 replica, got {count}")
        if self.episodes < 1:
            raise ValueError(f"the cluster needs at least 1 episode process, got {self.episodes}")
        if self.episodes > 1 and "episode" not in self.services:
            raise ValueError("episode processes need the episode service in the cluster")
        if any(count > 1 for count in self.replicas.values()):
            try:
                ipaddress.IPv4Address(self.host)
            except ValueError:
                raise ValueError(f"replicas need an IPv4 host (an ipv4: target), not {self.host!r}") from None

    @property
    def scaled(self) -> bool:
        """Whether Envoy fronts the episode processes (several, or one with `envoy`), which keep their
        episodes in Redis."""
        return self.episodes > 1 or self.envoy

    @classmethod
    def ephemeral(cls, **kwargs) -> ClusterOptions:
        """Free ports for every service, for tests and side-by-side clusters."""
        return cls(ports={name: free_port() for name in SERVICES}, **kwargs)


class LocalCluster:
    def __init__(
        self, options: ClusterOptions | None = None, *, report: Callable[[str], None] = report_to_stderr
    ) -> None:
        """`report` receives the supervisor's lines (exits, restarts, giving up); stderr by default."""
        self.options = options or ClusterOptions()
        self.processes: dict[str, subprocess.Popen] = {}
        """Running processes by name: the service's name, then `<service>-2`, `-3`... for replicas."""
        self._logs: dict[str, object] = {}
        self.certs_dir: str | None = None
        """The cluster's certificates (MLOPSDEBUG_MTLS_DIR's layout) while it runs with mutual TLS."""
        # Guards `processes` between the caller's thread and the supervisor's.
        self._lock = threading.RLock()
        self._report = report
        self.supervisor: Supervisor | None = None
        """Restarts crashed processes while the cluster is up (None before start, or without a policy)."""
        self.replica_ports: dict[str, list[int]] = {
            service: [self.options.ports[service]]
            + [free_port() for _ in range(self.options.replicas.get(service, 1) - 1)]
            for service in SERVICES
        }
        """Ports of each service's processes; in a scaled cluster also `redis` and `envoy`, and the
        episode processes listen on free ports while Envoy takes the episode port."""
        self.runtime_dir: str | None = None
        """Envoy's config and Redis's data in a scaled cluster (removed when the cluster stops)."""
        self.envoy_admin_port: int | None = None
        self.redis_url: str | None = self.options.redis_url
        """The Redis the episode processes keep their episodes in (None: in memory)."""
        if self.options.scaled:
            self.replica_ports["episode"] = [free_port() for _ in range(self.options.episodes)]
            self.replica_ports[PROXY] = [self.options.ports["episode"]]
            self.envoy_admin_port = free_port()
        if self.redis_url is None and (self.options.scaled or self.options.redis):
            self.replica_ports[STORE] = [free_port()]
            self.redis_url = f"redis://127.0.0.1:{self.replica_ports[STORE][0]}/0"

    @property
    def start_order(self) -> list[str]:
        """Every service and helper process of this cluster, in start order (stopped in reverse)."""
        order = [STORE] if STORE in self.replica_ports else []
        for service in SERVICES:
            if service == "gateway" and PROXY in self.replica_ports:
                order.append(PROXY)
            order.append(service)
        return order

    @property
    def envoy_access_log(self) -> str | None:
        """Envoy's access log in a scaled cluster: one line per call, `<x-episode-id or -> <replica>
        <method> <grpc status> <ms>`, written when the call ends."""
        if not self.options.scaled:
            return None
        folder = self.options.log_dir or self._runtime()
        return os.path.join(folder, "envoy-access.log")

    def _runtime(self) -> str:
        """A private temporary directory (Envoy's config and endpoints, Redis's data)."""
        if self.runtime_dir is None:
            self.runtime_dir = tempfile.mkdtemp(prefix="mlopsdebug-cluster-")
        return self.runtime_dir

    def address(self, service: str) -> str:
        """host:port of the service (its first replica; for a scaled cluster's episode service, Envoy)."""
        return f"{self.options.host}:{self.options.ports[service]}"

    def peer_target(self, service: str) -> str:
        """The gRPC target by which peers reach every replica of the service."""
        ports = self.replica_ports[service]
        if len(ports) == 1:
            return self.address(service)
        return "ipv4:" + ",".join(f"{self.options.host}:{port}" for port in ports)

    def episode_replica_of(self, upstream: str) -> str:
        """The process name (`episode-1`, `episode-2`, ...) of an Envoy upstream address `host:port`."""
        port = int(upstream.rsplit(":", 1)[1])
        for name, candidate in zip(self.process_names("episode"), self.replica_ports["episode"], strict=True):
            if candidate == port:
                return name
        raise KeyError(upstream)

    def process_names(self, service: str) -> list[str]:
        """`generator`, `generator-2`, ...; in a scaled cluster the episode processes are `episode-1` to
        `episode-N` (`episode`, the address everybody uses, is Envoy's)."""
        count = len(self.replica_ports[service])
        if service == "episode" and self.options.scaled:
            return [f"episode-{i + 1}" for i in range(count)]
        return [service if i == 0 else f"{service}-{i + 1}" for i in range(count)]

    def tls_files(self, identity: str = "episode") -> dict[str, str]:
        """The CA, certificate and key files of one identity (`episode`, `operator`, ...), as the keyword
        arguments of mlopsdebug_client.ClientConfig: how tests and tools reach generator or grader."""
        certs = self._ensure_certs()
        if certs is None:
            return {}
        return {
            "tls_ca_file": os.path.join(certs, "ca.crt"),
            "tls_cert_file": os.path.join(certs, f"{identity}.crt"),
            "tls_key_file": os.path.join(certs, f"{identity}.key"),
        }

    def _ensure_certs(self) -> str | None:
        if self.options.mtls and self.certs_dir is None:
            self.certs_dir = tempfile.mkdtemp(prefix="mlopsdebug-certs-")
            generate_cluster_certs(self.certs_dir)
        return self.certs_dir

    def _env(self, service: str, port: int) -> dict[str, str]:
        o = self.options
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")}
        env.update(o.extra_env)
        env["MLOPSDEBUG_GRACE_S"] = "2"
        certs = self._ensure_certs()
        if certs is not None and service != "gateway":
            env["MLOPSDEBUG_MTLS_DIR"] = certs
        bind = "127.0.0.1" if o.host in {"127.0.0.1", "localhost"} else "[::]"
        if service in ("generator", "grader"):
            env["MLOPSDEBUG_ANSWER_KEY_SECRET"] = o.secret
        if service == "generator":
            env["MLOPSDEBUG_GENERATOR_HOST"] = bind
            env["MLOPSDEBUG_GENERATOR_PORT"] = str(port)
            env["MLOPSDEBUG_SALT"] = o.salt or ""
            env["MLOPSDEBUG_SALT_PUBLIC"] = "true" if o.public else "false"
        elif service == "grader":
            env["MLOPSDEBUG_GRADER_HOST"] = bind
            env["MLOPSDEBUG_GRADER_PORT"] = str(port)
            env["MLOPSDEBUG_REVEAL_ANSWERS"] = "true" if o.reveal_answers else "false"
            env["MLOPSDEBUG_REVEAL_HELDOUT"] = "true" if o.reveal_heldout else "false"
        elif service == "episode":
            if self.redis_url is not None:
                env["MLOPSDEBUG_REDIS_URL"] = self.redis_url
            # Behind Envoy, anonymous callers without a token are told apart by Envoy's x-mlopsdebug-peer.
            env["MLOPSDEBUG_TRUST_PROXY_PEER"] = "true" if self.options.scaled else "false"
            env["MLOPSDEBUG_EPISODE_HOST"] = bind
            env["MLOPSDEBUG_EPISODE_PORT"] = str(port)
            env["MLOPSDEBUG_GENERATOR_ADDR"] = self.peer_target("generator")
            env["MLOPSDEBUG_GRADER_ADDR"] = self.peer_target("grader")
            env["MLOPSDEBUG_MAX_EPISODES"] = str(o.max_episodes)
            env["MLOPSDEBUG_IDLE_TIMEOUT_S"] = str(o.idle_timeout_s)
        elif service == "gateway":
            env["MLOPSDEBUG_GATEWAY_HOST"] = o.host
            env["MLOPSDEBUG_GATEWAY_PORT"] = str(port)
            env["MLOPSDEBUG_EPISODE_ADDR"] = self.address("episode")
        return env

    def start_service(self, service: str, *, timeout_s: float = 30.0) -> None:
        """Starts the service's processes (one per replica) and waits until each reports healthy."""
        for name, port in zip(self.process_names(service), self.replica_ports[service], strict=True):
            self._start_process(service, name, port, timeout_s)

    def _start_process(self, service: str, name: str, port: int, timeout_s: float) -> None:
        with self._lock:
            if name in self.processes and self.processes[name].poll() is None:
                raise RuntimeError(f"{name} is already running")
            process = self._spawn(service, name, port)
        self._wait_healthy(service, name, port, process, timeout_s)

    def _spawn(self, service: str, name: str, port: int) -> subprocess.Popen:
        """Starts the process and registers it under `name` (the caller holds the lock)."""
        previous_log = self._logs.pop(name, None)
        if previous_log is not None:
            previous_log.close()  # type: ignore[attr-defined]
        if self.options.log_dir:
            os.makedirs(self.options.log_dir, exist_ok=True)
            out = open(os.path.join(self.options.log_dir, f"{name}.log"), "ab")  # noqa: SIM115
            self._logs[name] = out
        else:
            out = subprocess.DEVNULL
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, redis-server, envoy
            self._command(service, port),
            env=self._env(service, port),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def _command(self, service: str, port: int) -> list[str]:
        if service == STORE:
            data = os.path.join(self._runtime(), "redis")
            os.makedirs(data, exist_ok=True)
            # Redis's defaults for durability (AOF, fsync every second), private to this cluster.
            return [
                _redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", data,
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
            ]  # fmt: skip
        if service == PROXY:
            return [envoy_binary(), "-c", self._envoy_config(port), "--concurrency", "1",
                    "--disable-hot-restart", "--log-level", "warn", "--file-flush-interval-msec", "200"]  # fmt: skip
        return [sys.executable, "-m", "mlopsdebug_cli.main", "serve", service]

    def _envoy_config(self, port: int) -> str:
        assert self.envoy_admin_port is not None and self.envoy_access_log is not None
        config = EnvoyConfig(
            listen_address="127.0.0.1" if self.options.host in {"127.0.0.1", "localhost"} else "0.0.0.0",  # noqa: S104
            listen_port=port,
            admin_port=self.envoy_admin_port,
            upstreams=[],
            access_log_path=self.envoy_access_log,
            health_interval_s=0.5,  # a killed replica leaves the ring within about a second
            endpoints_path=self._endpoints_path,
        )
        self._publish_endpoints()
        path = os.path.join(self._runtime(), "envoy.yaml")
        pathlib.Path(path).write_text(render(config), encoding="utf-8")
        return path

    @property
    def _endpoints_path(self) -> str:
        folder = os.path.join(self._runtime(), "endpoints")  # Envoy watches this folder
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, "episode.yaml")

    def _publish_endpoints(self) -> None:
        """Tells Envoy the episode replicas it balances over now (it re-reads the file when replaced)."""
        write_endpoints(self._endpoints_path, [(self.options.host, p) for p in self.replica_ports["episode"]])

    def envoy_hosts(self) -> dict[int, bool]:
        """The episode replicas in Envoy's ring now, by port: whether each passes its health check."""
        url = f"http://127.0.0.1:{self.envoy_admin_port}/clusters"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                text = resp.read().decode()
        except OSError:
            return {}
        hosts: dict[int, bool] = {}
        for line in text.splitlines():
            parts = line.split("::")
            if len(parts) == 4 and parts[0] == "episode" and parts[2] == "health_flags":
                hosts[int(parts[1].rsplit(":", 1)[1])] = parts[3] == "healthy"
        return hosts

    def _wait_for_ring(self, ports: list[int], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            hosts = self.envoy_hosts()
            if sorted(hosts) == sorted(ports) and all(hosts.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Envoy's ring is {hosts}, not the replicas on {ports}")
            time.sleep(0.05)

    def add_episode_replica(self, *, timeout_s: float = 30.0) -> str:
        """Starts one more episode process and returns its name once Envoy routes to it. About 1/N of
        the episodes now hash to it; it loads them from Redis on their next call."""
        if not self.options.scaled:
            raise RuntimeError("only a scaled cluster (episodes > 1 or envoy) adds episode replicas")
        with self._lock:
            port = free_port()
            self.replica_ports["episode"].append(port)
            name = self.process_names("episode")[-1]
        self._start_process("episode", name, port, timeout_s)
        self._publish_endpoints()
        self._wait_for_ring(self.replica_ports["episode"], timeout_s)
        return name

    def remove_episode_replica(self, *, timeout_s: float = 30.0, grace_s: float = 5.0) -> str:
        """Takes the newest episode replica out of Envoy's ring, then stops it (SIGTERM: its calls in
        flight finish; its Session streams end and their clients reopen them on another replica)."""
        with self._lock:
            if len(self.replica_ports["episode"]) < 2:
                raise RuntimeError("the last episode replica stays")
            name = self.process_names("episode")[-1]
            self.replica_ports["episode"].pop()
        self._publish_endpoints()
        self._wait_for_ring(self.replica_ports["episode"], timeout_s)
        self.stop_process(name, grace_s=grace_s)
        return name

    def _wait_healthy(
        self,
        service: str,
        name: str,
        port: int,
        process: subprocess.Popen,
        timeout_s: float,
        cancel: threading.Event | None = None,
    ) -> bool:
        """Waits until the process reports healthy (True); False if cancelled or stopped meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                return False
            if self.processes.get(name) is not process:
                return False  # stopped on purpose (stop_process) while starting
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode} during start-up")
            if self._healthy(service, port):
                return True
            time.sleep(0.05)
        raise TimeoutError(f"{name} not healthy after {timeout_s:.0f}s")

    def _locate(self, name: str) -> tuple[str, int]:
        """(service, port) of a process name such as `generator-2`."""
        for service in self.replica_ports:
            for candidate, port in zip(self.process_names(service), self.replica_ports[service], strict=True):
                if candidate == name:
                    return service, port
        raise KeyError(name)

    def running_processes(self) -> list[str]:
        with self._lock:
            return [name for name, process in self.processes.items() if process.poll() is None]

    def exited_processes(self) -> dict[str, int]:
        """Processes that exited without being stopped (still registered), with their exit codes."""
        with self._lock:
            return {
                name: process.returncode for name, process in self.processes.items() if process.poll() is not None
            }

    def restart_process(
        self, name: str, *, timeout_s: float = 30.0, cancel: threading.Event | None = None
    ) -> int | None:
        """Starts an exited process again, on its port with its environment; returns its new pid once
        healthy, or None if it was stopped on purpose meanwhile (or `cancel` was set). A process that
        does not become healthy in time is killed and raises TimeoutError."""
        with self._lock:
            old = self.processes.get(name)
            if old is None or old.poll() is None:
                return None
            service, port = self._locate(name)
            process = self._spawn(service, name, port)
        try:
            healthy = self._wait_healthy(service, name, port, process, timeout_s, cancel)
        except TimeoutError:
            process.kill()
            process.wait()
            raise
        return process.pid if healthy else None

    def is_healthy(self, service: str) -> bool:
        """Whether every replica of the service reports healthy."""
        return all(self._healthy(service, port) for port in self.replica_ports[service])

    def _healthy(self, service: str, port: int) -> bool:
        address = f"{self.options.host}:{port}"
        if service == STORE:
            return _redis_pong(port)
        if service == PROXY:
            # LIVE once Envoy's cluster finished its first round of health checks on the replicas.
            try:
                url = f"http://127.0.0.1:{self.envoy_admin_port}/ready"
                with urllib.request.urlopen(url, timeout=1) as resp:
                    return resp.status == 200
            except OSError:
                return False
        if service == "gateway":
            try:
                with urllib.request.urlopen(f"http://{address}/health", timeout=1) as resp:
                    return resp.status == 200
            except OSError:
                return False
        if self.certs_dir is not None and service in STATELESS:
            # Health is open to every certificate of the cluster's CA; the launcher's is `operator`'s.
            files = {name: pathlib.Path(path).read_bytes() for name, path in self.tls_files("operator").items()}
            credentials = grpc.ssl_channel_credentials(files["tls_ca_file"], files["tls_key_file"], files["tls_cert_file"])
            channel = grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", service)])
        else:
            channel = grpc.insecure_channel(address)
        with channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)  # pyright: ignore[reportAttributeAccessIssue] - typeshed's HealthStub has no methods
            except grpc.RpcError:
                return False
            return reply.status == health_pb2.HealthCheckResponse.SERVING

    def stop_service(self, service: str, *, grace_s: float = 5.0) -> None:
        """Stops every replica of the service."""
        for name in reversed(self.process_names(service)):
            self.stop_process(name, grace_s=grace_s)

    def stop_process(self, name: str, *, grace_s: float = 5.0) -> None:
        """Stops one process by name (e.g. one replica, `generator-2`): SIGTERM, then SIGKILL. The
        supervisor does not restart it."""
        with self._lock:
            process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with self._lock:
            log = self._logs.pop(name, None) if name not in self.processes else None
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def start(self) -> LocalCluster:
        try:
            for service in self.start_order:
                if service in self.options.services or service in (STORE, PROXY):
                    self.start_service(service)
            if self.options.restart is not None:
                self.supervisor = Supervisor(self, self.options.restart, report=self._report).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        for service in reversed(self.start_order):
            self.stop_service(service)
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None
        if self.certs_dir is not None:
            shutil.rmtree(self.certs_dir, ignore_errors=True)
            self.certs_dir = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise FileNotFoundError("no redis-server on PATH: install Debian's redis-server (./dev setup does), or pass a Redis URL")
    return found


def _redis_pong(port: int) -> bool:
    """Whether a Redis answers PING on the port (the inline command, no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False

