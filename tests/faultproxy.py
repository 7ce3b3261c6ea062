"""A TCP proxy in front of a server, for fault-injection tests: it can hold the bytes flowing one way
and cut every connection, so that a test decides exactly where a stream breaks (before a request
reaches the server, or after the server applied it but before its answer reached the client).

It runs on its own event loop in a background thread, forwards real sockets, and knows nothing of
gRPC: the client and the server see an ordinary connection that stalls or drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FaultProxy:
    """Listens on 127.0.0.1:`port` (a free one) and forwards each connection to `target_port`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Future[None]] = set()
        self._requests_flow = asyncio.Event()  # created outside the loop: only set/clear/wait are used
        self._responses_flow = asyncio.Event()
        self._requests_flow.set()
        self._responses_flow.set()
        self._server: asyncio.base_events.Server | None = None
        self.held = 0
        """Chunks waiting in the proxy right now (held, not yet forwarded)."""
        self.port = self._run(self._start())

    def _run(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, server_writer))
        pumps = (
            asyncio.ensure_future(self._pump(client_reader, server_writer, self._requests_flow)),
            asyncio.ensure_future(self._pump(server_reader, client_writer, self._responses_flow)),
        )
        self._pumps.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)
        self._pumps.difference_update(pumps)
        for writer in (client_writer, server_writer):
            self._writers.discard(writer)
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flow: asyncio.Event) -> None:
        try:
            while chunk := await reader.read(65536):
                if not flow.is_set():  # held: the chunk waits here, and is dropped if the connection is cut
                    self.held += 1
                    try:
                        await flow.wait()
                    finally:
                        self.held -= 1
                if writer.is_closing():
                    return
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    def hold_requests(self) -> None:
        """Bytes from clients stop reaching the server (they wait in the proxy)."""
        self._loop.call_soon_threadsafe(self._requests_flow.clear)

    def hold_responses(self) -> None:
        """Bytes from the server stop reaching clients (they wait in the proxy)."""
        self._loop.call_soon_threadsafe(self._responses_flow.clear)

    def cut(self) -> None:
        """Drops every open connection, and whatever bytes were held; new connections flow freely."""

        async def cut() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            await asyncio.sleep(0)
            self._requests_flow.set()
            self._responses_flow.set()

        self._run(cut())

    def close(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            for pump in list(self._pumps):
                pump.cancel()
            await asyncio.gather(*self._pumps, return_exceptions=True)
            if self._server is not None:
                await self._server.wait_closed()

        with contextlib.suppress(Exception):
            self._run(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
