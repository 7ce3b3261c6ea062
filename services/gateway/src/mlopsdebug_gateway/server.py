"""Runs the gateway with uvicorn: `main()` for `mlopsdebug serve gateway`, `start_in_thread` for tests.

uvicorn stops gracefully on SIGTERM/SIGINT: it stops accepting, closes WebSockets, waits up to the
grace period for in-flight requests, then runs the app's shutdown (MCP sessions, the gRPC channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from mlopsdebug_common import eventloop
from mlopsdebug_gateway.app import create_app
from mlopsdebug_gateway.config import GatewayConfig, from_env
from mlopsdebug_gateway.limits import with_header_timeout

log = logging.getLogger("mlopsdebug.gateway")


def uvicorn_config(config: GatewayConfig) -> uvicorn.Config:
    """The uvicorn settings that serve the gateway app with this config."""
    return uvicorn.Config(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        ws_max_size=config.max_message_bytes,  # a larger WebSocket message closes the socket with 1009
        # h11 explicitly (not "auto"): its protocol carries the header deadline, and it bounds the head's size.
        http=with_header_timeout(config.header_timeout_s),
        h11_max_incomplete_event_size=config.max_header_bytes,
        timeout_keep_alive=config.keep_alive_timeout_s,  # type: ignore[arg-type] - call_later takes a float
        limit_concurrency=config.max_connections or None,
        timeout_graceful_shutdown=config.grace_s,  # pyright: ignore[reportArgumentType] - uvicorn waits with asyncio, which takes a float
        lifespan="on",
        access_log=False,
        loop=eventloop.chosen_loop(),  # what start_in_thread runs on; main() runs its own via eventloop.run
        ssl_certfile=config.tls_cert or None,
        ssl_keyfile=config.tls_key or None,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (read it back with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # every HTTP response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, with SIGTERM/SIGINT handled on the event loop so that a graceful stop exits 0
    (uvicorn's own handling re-raises the signal after shutting down, so the process dies by it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)


async def serve(config: GatewayConfig) -> None:
    """Serves until SIGTERM or SIGINT, then drains for up to the grace period and returns."""
    server = _Server(uvicorn_config(config))
    print(f"gateway listening on {config.host}:{config.port} -> episode {config.episode_addr}", flush=True)
    await server.serve()


def main() -> None:
    """Entry point of `mlopsdebug serve gateway` (configuration from MLOPSDEBUG_* variables)."""
    config = from_env()
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s gateway %(levelname)s %(name)s: %(message)s"
    )
    eventloop.run(serve(config))


@dataclasses.dataclass
class RunningGateway:
    """A gateway serving from a background thread (tests, benchmarks, the in-process cluster)."""

    server: uvicorn.Server
    thread: threading.Thread
    port: int
    host: str
    tls: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


def start_in_thread(config: GatewayConfig, *, startup_timeout_s: float = 10.0) -> RunningGateway:
    """Starts a real gateway on `config.host` and `config.port` (0 = a free port); returns once it serves."""
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(dataclasses.replace(config, port=port)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"gateway-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    return RunningGateway(server, thread, port, config.host, tls=bool(config.tls_cert))


if __name__ == "__main__":
    main()
