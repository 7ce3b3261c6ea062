"""The gateway's HTTP limits over real sockets: body cap (413), body and header deadlines (408 / close),
keep-alive, WebSocket message cap (1009), and flat memory under a 100 MB upload (a real gateway process).

Raw sockets, not httpx: httpx writes a whole body before reading, so it cannot show that the gateway
answers before the body arrives. No assertion is on wall-clock speed; deadlines only bound the waits.
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator

import httpx
import pytest
import websockets.exceptions
import websockets.sync.client
from compat.gateway_support import running_gateway

from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.limits import HeaderTimeoutH11Protocol
from mlopsdebug_gateway.server import uvicorn_config

MIB = 1 << 20


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunked(total_bytes: int, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body of `total_bytes` (JSON-ish filler), one HTTP chunk per item."""
    sent = 0
    while sent < total_bytes:
        size = min(chunk_bytes, total_bytes - sent)
        yield b"%x\r\n%s\r\n" % (size, b"7" * size)
        sent += size
    yield b"0\r\n\r\n"


def _declared(total_bytes: int, chunk_bytes: int = 256 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total_bytes:
        size = min(chunk_bytes, total_bytes - sent)
        yield b"7" * size
        sent += size


class Exchange:
    """What one raw request came to: the bytes of the body the client got to send, and the reply."""

    def __init__(self, sent: int, reply: bytes) -> None:
        self.sent = sent
        self.reply = reply

    @property
    def status(self) -> int | None:
        if not self.reply.startswith(b"HTTP/1.1 "):
            return None
        return int(self.reply.split(b" ", 2)[1])

    @property
    def headers(self) -> dict[str, str]:
        head = self.reply.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        return {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in head)}


def raw_request(port: int, head: bytes, body: Iterable[bytes] = (), *, wait_s: float = 30.0) -> Exchange:
    """Sends the head, then the body piece by piece until the gateway answers or drops the connection."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(head)
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the gateway has answered (or closed) before the body was complete
            try:
                sock.sendall(piece)
            except OSError:  # it closed while we were still sending
                break
            sent += len(piece)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass  # the reply, if any, arrived before the reset
    return Exchange(sent, reply)


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as running:
        yield running


class TestBodyCap:
    def test_declared_oversize_body_is_413_before_it_is_sent(self, gateway):
        """Content-Length over 1 MiB: 413 with Connection: close while most of the body is still unsent."""
        exchange = raw_request(gateway.port, _head("/step", f"Content-Length: {100 * MIB}"), _declared(100 * MIB))
        assert exchange.status == 413, exchange.reply[:200]
        assert exchange.headers["connection"] == "close"
        assert "1048576" in json.loads(exchange.reply.split(b"\r\n\r\n", 1)[1])["detail"]
        assert exchange.sent < 100 * MIB

    def test_chunked_oversize_body_is_413_while_streaming(self, gateway):
        """A chunked body (no Content-Length) is counted as it arrives and refused once past the cap."""
        exchange = raw_request(gateway.port, _head("/step", "Transfer-Encoding: chunked"), _chunked(100 * MIB))
        assert exchange.status == 413, exchange.reply[:200]
        assert exchange.sent < 100 * MIB

    @pytest.mark.parametrize("path", ["/reset", "/step", "/close", "/mcp"])
    def test_every_post_route_is_capped(self, gateway, path):
        """The cap is the app's outermost middleware, so every route (MCP included) has it."""
        response = httpx.post(f"{gateway.url}{path}", content=b" " * (MIB + 1),
                              headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 413

    def test_a_body_at_the_cap_is_read(self, gateway):
        """Exactly 1 MiB is allowed: it reaches the route (and is refused there for its content, 422)."""
        body = json.dumps({"episode_id": "x", "action": {"action_type": "read_config"}, "request_id": ""}).encode()
        padded = body[:-1] + b" " * (MIB - len(body)) + b"}"
        assert len(padded) == MIB
        response = httpx.post(f"{gateway.url}/step", content=padded,
                              headers={"content-type": "application/json"}, timeout=30)
        assert response.status_code == 404  # parsed and forwarded: no such episode

    def test_gateway_serves_after_refusals(self, gateway):
        raw_request(gateway.port, _head("/step", "Transfer-Encoding: chunked"), _chunked(8 * MIB))
        assert httpx.get(f"{gateway.url}/health", timeout=10).json() == {"status": "healthy"}

    def test_configured_cap(self, cluster):
        """MLOPSDEBUG_GATEWAY_MAX_BODY_BYTES (max_body_bytes) sets the cap."""
        with running_gateway(cluster.episode_addr, max_body_bytes=100) as small:
            too_big = httpx.post(f"{small.url}/reset", content=b" " * 101, timeout=10,
                                 headers={"content-type": "application/json"})
            fits = httpx.post(f"{small.url}/reset", json={"task_id": "easy", "seed": 1}, timeout=10)
        assert (too_big.status_code, fits.status_code) == (413, 200)


class TestDeadlines:
    def test_slow_body_is_408(self, cluster):
        """A body still incomplete after the body deadline is refused with 408 and the connection closed."""
        with running_gateway(cluster.episode_addr, body_timeout_s=0.5) as gw:
            exchange = raw_request(gw.port, _head("/step", "Content-Length: 100"), [b"{"])
        assert exchange.status == 408 and exchange.headers["connection"] == "close"

    def test_slowloris_headers_are_cut_off(self, cluster):
        """A client that keeps trickling header bytes is disconnected (with 408) after the header deadline.

        uvicorn alone never cuts it off: its keep-alive timer stops at the first byte received."""
        with running_gateway(cluster.episode_addr, header_timeout_s=0.5) as gw, \
                socket.create_connection(("127.0.0.1", gw.port), timeout=30) as sock:
            sock.sendall(b"POST /step HTTP/1.1\r\nHost: gateway\r\n")
            reply = b""
            give_up = time.monotonic() + 30
            while time.monotonic() < give_up:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    break
                if select.select([sock], [], [], 0.1)[0]:
                    try:
                        chunk = sock.recv(65536)
                    except ConnectionResetError:
                        break
                    if not chunk:
                        break
                    reply += chunk
            else:
                pytest.fail("a client trickling its headers was never disconnected")
        assert reply.startswith(b"HTTP/1.1 408 ")

    def test_silent_connection_is_closed(self, cluster):
        """A connection that never sends a byte is closed after the header deadline."""
        with running_gateway(cluster.episode_addr, header_timeout_s=0.5) as gw:
            assert raw_request(gw.port, b"").reply == b""

    def test_kept_alive_connection_is_closed_when_idle(self, cluster):
        """After a response, an idle kept-alive connection is closed (by the keep-alive timeout alone here)."""
        with running_gateway(cluster.episode_addr, keep_alive_timeout_s=0.5, header_timeout_s=0) as gw:
            exchange = raw_request(gw.port, b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        assert exchange.status == 200 and exchange.reply.endswith(b'{"status":"healthy"}')

    def test_requests_on_a_kept_alive_connection_still_work(self, gateway):
        """The header deadline restarts for each request; normal keep-alive use is unaffected."""
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            for _ in range(3):
                assert client.get("/health").status_code == 200


    def test_oversize_headers_are_400(self, gateway):
        """A request head still incomplete past 16 KiB is refused (h11 buffers no more of it)."""
        exchange = raw_request(gateway.port, b"GET /health HTTP/1.1\r\nHost: gateway\r\nX-Big: "
                               + b"b" * (32 << 10))
        assert exchange.status == 400


class TestWebSocketCap:
    @pytest.mark.parametrize("path", ["/ws", "/mcp"])
    def test_oversize_message_closes_with_1009(self, gateway, path):
        """A WebSocket message over max_message_bytes (1 MiB) closes the socket with 1009 (message too big)."""
        url = gateway.url.replace("http://", "ws://") + path
        with websockets.sync.client.connect(url, max_size=None) as ws:
            ws.send(json.dumps({"type": "reset", "data": {"pad": "x" * (MIB + 1)}}))
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        with websockets.sync.client.connect(url) as ws:  # and the next connection is served
            ws.send(json.dumps({"type": "state"} if path == "/ws" else {"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            assert json.loads(ws.recv(timeout=30))


def test_limits_reach_uvicorn():
    """Each limit is handed to uvicorn (the timeouts are not timed in tests, so this checks the wiring)."""
    config = uvicorn_config(GatewayConfig(keep_alive_timeout_s=7, header_timeout_s=3, max_header_bytes=4096,
                                          max_connections=99, max_message_bytes=12345))
    assert (config.timeout_keep_alive, config.h11_max_incomplete_event_size, config.limit_concurrency,
            config.ws_max_size) == (7, 4096, 99, 12345)
    assert issubclass(config.http, HeaderTimeoutH11Protocol) and config.http.header_timeout_s == 3
    assert uvicorn_config(GatewayConfig(max_connections=0)).limit_concurrency is None


def test_config_from_env_reads_the_limits():
    from mlopsdebug_gateway.config import from_env

    config = from_env({
        "MLOPSDEBUG_GATEWAY_MAX_BODY_BYTES": "2048", "MLOPSDEBUG_GATEWAY_MAX_HEADER_BYTES": "4096",
        "MLOPSDEBUG_GATEWAY_HEADER_TIMEOUT_S": "3", "MLOPSDEBUG_GATEWAY_BODY_TIMEOUT_S": "4",
        "MLOPSDEBUG_GATEWAY_KEEP_ALIVE_S": "6", "MLOPSDEBUG_GATEWAY_MAX_CONNECTIONS": "0",
    })
    assert (config.max_body_bytes, config.max_header_bytes, config.header_timeout_s, config.body_timeout_s,
            config.keep_alive_timeout_s, config.max_connections) == (2048, 4096, 3.0, 4.0, 6.0, 0)
    defaults = GatewayConfig()
    assert (defaults.max_body_bytes, defaults.header_timeout_s, defaults.body_timeout_s) == (MIB, 10.0, 30.0)
    with pytest.raises(ValueError):
        GatewayConfig(max_body_bytes=0)


def _rss_bytes(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_100_mb_bodies_get_413_with_flat_gateway_memory(cluster):
    """The done-when check of issue 15: a 100 MB POST /step (declared, then chunked) gets 413, and a real
    gateway process's RSS stays flat (before the fix, 100 MB took it from 78 to 485 MB)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MLOPSDEBUG_GATEWAY_HOST": "127.0.0.1", "MLOPSDEBUG_GATEWAY_PORT": str(port),
           "MLOPSDEBUG_EPISODE_ADDR": cluster.episode_addr, "MLOPSDEBUG_LOG_LEVEL": "warning"}
    cli = pathlib.Path(sys.executable).with_name("mlopsdebug")
    process = subprocess.Popen([str(cli), "serve", "gateway"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "gateway did not come up"
            time.sleep(0.1)
        # Warm up the paths the uploads take, so the baseline includes what any request allocates.
        raw_request(port, _head("/step", "Content-Length: 10"), [b"7" * 10])
        before = _rss_bytes(process.pid)
        declared = raw_request(port, _head("/step", f"Content-Length: {100 * MIB}"), _declared(100 * MIB))
        chunked = raw_request(port, _head("/step", "Transfer-Encoding: chunked"), _chunked(100 * MIB))
        after = _rss_bytes(process.pid)
        assert (declared.status, chunked.status) == (413, 413)
        growth_mib = (after - before) / MIB
        assert growth_mib < 20, f"gateway RSS grew by {growth_mib:.0f} MiB"
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
