"""An in-process cluster for integration tests: real gRPC servers on port 0, real sockets.

The servers run on their own event loop in a background thread, so tests may use sync or async
clients from any loop. Individual services can be stopped and restarted on the same port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import threading
from collections.abc import Coroutine
from typing import Any

from mlopsdebug_common import eventloop, rpc
from mlopsdebug_common.rpc import MutualTls
from mlopsdebug_episode.config import EpisodeServerConfig
from mlopsdebug_episode.server import DOMAIN as EPISODE_DOMAIN
from mlopsdebug_episode.server import SERVICE_NAME as EPISODE_SERVICE_NAME
from mlopsdebug_episode.server import build_server as build_episode
from mlopsdebug_episode.server import register as register_episode
from mlopsdebug_generator.config import GeneratorConfig
from mlopsdebug_generator.server import build_server as build_generator
from mlopsdebug_grader.config import GraderConfig
from mlopsdebug_grader.server import build_server as build_grader


@dataclasses.dataclass
class InProcessCluster:
    secret: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(32))
    # A fresh salt per cluster, as every cluster the project starts; b"" would be a public deployment.
    salt: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(16))
    episode_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    grader_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    reap_interval_s: float | None = None
    reveal_answers: bool = False  # the grader's setting: grades reveal the answer (training)
    # A directory of cluster certificates (mlopsdebug_common.certs): mutual TLS between the services.
    mtls_dir: str | None = None

    def __post_init__(self) -> None:
        self._loop = eventloop.new_loop()  # the loop the services run on in production
        self._thread = threading.Thread(target=self._loop.run_forever, name="inprocess-cluster", daemon=True)
        self._servers: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        self.episode_servicer = None
        self._episode_stop = None
        self._replicas: dict[int, tuple[Any, Any]] = {}

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    @property
    def episode_addr(self) -> str:
        return self.address("episode")

    def start(self) -> InProcessCluster:
        self._thread.start()
        self.start_service("generator")
        self.start_service("grader")
        self.start_service("episode")
        return self

    def start_service(self, service: str) -> None:
        self.run(self._start(service))

    async def _start(self, service: str) -> None:
        port = self.ports.get(service, 0)
        mtls = MutualTls.from_dir(self.mtls_dir, service) if self.mtls_dir else None
        if service == "generator":
            server, bound, _ = await build_generator(
                GeneratorConfig(secret=self.secret, salt=self.salt, host="127.0.0.1", port=port, mtls=mtls)
            )
        elif service == "grader":
            server, bound, _ = await build_grader(GraderConfig(
                secret=self.secret, host="127.0.0.1", port=port, reveal_answers=self.reveal_answers, mtls=mtls,
                **self.grader_overrides,
            ))
        elif service == "episode":
            settings = {
                "generator_addr": self.address("generator"),
                "grader_addr": self.address("grader"),
                "host": "127.0.0.1",
                "port": port,
                "peer_timeout_s": 3.0,
                "mtls": mtls,
            }
            config = EpisodeServerConfig(**{**settings, **self.episode_overrides})  # overrides may redirect peers
            server, bound, _, self.episode_servicer, self._episode_stop = await build_episode(
                config, reap_interval_s=self.reap_interval_s
            )
        else:
            raise ValueError(service)
        self._servers[service] = server
        self.ports[service] = bound

    def start_episode_replica(self, **overrides: Any) -> int:
        """Another episode server on the same generator and grader (a replica: give it a shared store
        with redis_url=...); returns its port. Stopped by `stop_episode_replica` or `stop`."""
        return self.run(self._start_replica(overrides))

    async def _start_replica(self, overrides: dict[str, Any]) -> int:
        config = EpisodeServerConfig(**{
            "generator_addr": self.address("generator"), "grader_addr": self.address("grader"),
            "host": "127.0.0.1", "port": 0, "peer_timeout_s": 3.0, **self.episode_overrides, **overrides,
        })
        server, bound, _, _, stop = await build_episode(config, reap_interval_s=self.reap_interval_s)
        self._replicas[bound] = (server, stop)
        return bound

    def stop_episode_replica(self, port: int) -> None:
        self.run(self._stop_replica(port))

    async def _stop_replica(self, port: int) -> None:
        server, stop = self._replicas.pop(port)
        await server.stop(0)
        await stop()

    def stop_service(self, service: str) -> None:
        self.run(self._stop(service))

    async def _stop(self, service: str) -> None:
        server = self._servers.pop(service, None)
        if server is None:
            return
        await server.stop(0)
        if service == "episode" and self._episode_stop is not None:
            await self._episode_stop()  # after the server: it closes the channels its calls use

    def restart_episode_server(self) -> None:
        """Stops the episode gRPC server (cutting every stream) and starts a new one on the same port
        around the same servicer, so the same episodes: a replica restart whose episodes survive, as
        with a shared episode store."""
        self.run(self._restart_episode_server())

    async def _restart_episode_server(self) -> None:
        await self._servers.pop("episode").stop(0)
        servicer = self.episode_servicer
        server, _, _ = await rpc.start_server(
            lambda s: register_episode(servicer, s),
            [EPISODE_SERVICE_NAME],
            host="127.0.0.1",
            port=self.ports["episode"],
            domain=EPISODE_DOMAIN,
        )
        self._servers["episode"] = server

    def stop(self) -> None:
        for port in list(self._replicas):
            self.stop_episode_replica(port)
        for service in ("episode", "grader", "generator"):
            self.stop_service(service)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
