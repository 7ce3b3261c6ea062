"""A gRPC proxy that holds one method's calls on demand: makes a peer slow exactly when a test says.

Start it on an in-process cluster's loop (`cluster.run(GatedProxy.start(...))`) and point a service
at `proxy.address` instead of the real peer. Every unary call is forwarded as bytes; while the gate
is armed, calls of the gated method wait until `release()`. The other methods always pass. Under
mutual TLS, give it the peer's server credentials and the caller's channel credentials: it then
stands in for the peer (the caller checks the peer's certificate name, the peer the caller's).
"""

from __future__ import annotations

import asyncio
import concurrent.futures

import grpc


class GatedProxy:
    def __init__(self, loop: asyncio.AbstractEventLoop, gated_method: str) -> None:
        self.loop = loop
        self.gated_method = gated_method
        self.address = ""
        self.server: grpc.aio.Server | None = None
        self._arrived = asyncio.Event()
        self._released = asyncio.Event()
        self.held = 0  # calls waiting at the gate right now
        self._held_changed = asyncio.Condition()

    @classmethod
    async def start(
        cls,
        upstream: str,
        gated_method: str,
        *,
        armed: bool = True,
        server_credentials: grpc.ServerCredentials | None = None,
        upstream_credentials: grpc.ChannelCredentials | None = None,
        upstream_server_name: str | None = None,
    ) -> GatedProxy:
        """`gated_method` is a full method name, e.g. "/mlopsdebug.grader.v1.GraderService/Grade"."""
        proxy = cls(asyncio.get_running_loop(), gated_method)
        if not armed:
            proxy._released.set()
        if upstream_credentials is None:
            channel = grpc.aio.insecure_channel(upstream)
        else:
            options = [("grpc.ssl_target_name_override", upstream_server_name)] if upstream_server_name else []
            channel = grpc.aio.secure_channel(upstream, upstream_credentials, options=options)

        def handler_for(method: str) -> grpc.RpcMethodHandler:
            forward = channel.unary_unary(method)  # no (de)serializers: bytes in, bytes out

            async def call(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
                if method == proxy.gated_method and not proxy._released.is_set():
                    proxy._arrived.set()
                    await proxy._count_held(+1)
                    try:
                        await proxy._released.wait()
                    finally:
                        await proxy._count_held(-1)
                try:
                    return await forward(request, timeout=context.time_remaining())
                except grpc.aio.AioRpcError as err:
                    await context.abort(err.code(), err.details() or "")
                    raise

            return grpc.unary_unary_rpc_method_handler(call)

        class Forwarder(grpc.GenericRpcHandler):
            def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
                return handler_for(handler_call_details.method)

        proxy.server = grpc.aio.server()
        proxy.server.add_generic_rpc_handlers((Forwarder(),))
        if server_credentials is None:
            port = proxy.server.add_insecure_port("127.0.0.1:0")
        else:
            port = proxy.server.add_secure_port("127.0.0.1:0", server_credentials)
        proxy.address = f"127.0.0.1:{port}"
        await proxy.server.start()
        return proxy

    async def _count_held(self, change: int) -> None:
        async with self._held_changed:
            self.held += change
            self._held_changed.notify_all()

    async def _until_held(self, count: int) -> None:
        async with self._held_changed:
            await self._held_changed.wait_for(lambda: self.held >= count)

    def wait_until_held(self, count: int, timeout_s: float = 60.0) -> None:
        """Blocks until `count` calls of the gated method wait at the gate. Safe from any thread."""
        asyncio.run_coroutine_threadsafe(self._until_held(count), self.loop).result(timeout_s)

    def arm(self) -> None:
        """From now on, calls of the gated method wait for `release()`."""
        asyncio.run_coroutine_threadsafe(self._arm(), self.loop).result(10)

    async def _arm(self) -> None:
        self._arrived.clear()
        self._released.clear()

    def release(self) -> None:
        """Lets every held call through, and later ones, until armed again. Safe from any thread."""
        self.loop.call_soon_threadsafe(self._released.set)

    def arrived_future(self) -> concurrent.futures.Future[bool]:
        """Completes once a call of the gated method has arrived since the gate was last armed."""
        return asyncio.run_coroutine_threadsafe(self._arrived.wait(), self.loop)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(None)
