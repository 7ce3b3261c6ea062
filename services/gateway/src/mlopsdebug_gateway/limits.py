"""HTTP limits of the gateway: a body cap and a body deadline (ASGI), and a header deadline (uvicorn protocol).

Without them one client can take the gateway down: a 100 MB POST /step was read whole into memory
(RSS 78 -> 485 MB), and a client trickling its headers a byte at a time held its connection forever,
because uvicorn's keep-alive timer stops at the first byte and nothing times the request head.

- `BodyLimit` (pure ASGI, so it sees the request before FastAPI reads it) answers 413 at once when the
  declared Content-Length is over the cap, and counts the bytes of a chunked body as they arrive,
  refusing it (413) as soon as it passes the cap. A body still incomplete after the body deadline is
  refused with 408. Refusals carry `Connection: close`, so uvicorn drops the connection instead of
  reading and discarding the rest of the upload.
- `HeaderTimeoutH11Protocol` (uvicorn's h11 protocol) closes a connection whose request line and
  headers are not complete within the header deadline, counted from the connection's start or the end
  of its previous response (a partial request gets a 408 first). WebSocket handshakes are requests too,
  so the deadline covers them; the WebSocket that follows has its own idle timeout in the app.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

_CLOSE = {"connection": "close"}


class RequestRefused(HTTPException):
    """A request the limits refuse; an HTTPException so that FastAPI passes it through body reading."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code, detail, headers=dict(_CLOSE))


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when absent (h11 has already refused a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, error: RequestRefused) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Caps request bodies at `max_body_bytes` and their arrival at `body_timeout_s` (0 disables it)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    def too_large(self) -> RequestRefused:
        return RequestRefused(413, f"request body over {self.max_body_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await _refuse(send, self.too_large())  # before reading a single byte of it
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s if self.body_timeout_s > 0 else None
        received = 0
        body_done = False
        refused: RequestRefused | None = None
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, refused
            if refused is not None:
                raise refused
            if body_done:
                return await receive()  # e.g. waiting for the disconnect: no deadline
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = RequestRefused(408, f"request body not received within {self.body_timeout_s:g} s")
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    refused = self.too_large()
                    raise refused
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestRefused as error:
            if response_started:
                raise
            await _refuse(send, error)


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's head (request line and headers).

    The deadline runs while h11 waits for a request (`their_state` IDLE), from the connection's start
    or the previous response's end; it stops once the head is parsed. Set `header_timeout_s` on a
    subclass (see `with_header_timeout`).
    """

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()  # the head is in (or the connection is ending or upgraded)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()  # waiting for the next request on a kept-alive connection

    def _arm_head_timer(self) -> None:
        if self.header_timeout_s > 0 and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        partial, _ = self.conn.trailing_data
        if partial:  # a request was started: say why it is dropped (h11 cannot send a response before a request)
            body = b"request headers not received in time"
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
            )
        self.logger.info("closing a connection whose request headers did not arrive within %g s", self.header_timeout_s)
        self.transport.close()


def with_header_timeout(header_timeout_s: float) -> type[HeaderTimeoutH11Protocol]:
    """The protocol class for uvicorn.Config(http=...) with the given header deadline (0 disables it)."""
    return type("GatewayH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout_s": header_timeout_s})
