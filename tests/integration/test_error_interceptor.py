"""The one error path: whatever a servicer method raises, ServerGuard (the interceptor every server runs)
turns into its status, for unary and streaming methods alike, over a real socket."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mlopsdebug_common import rpc
from mlopsdebug_common.errors import FailedPrecondition, InvalidArgument, NotFound

DOMAIN = "test.mlopsdebug"
SERVICE = "test.Raiser"
ERRORS = {
    b"not-found": NotFound("no episode 'x'", reason="EPISODE_NOT_FOUND"),
    b"invalid": InvalidArgument.for_field("seed", "too big", reason="INVALID_SEED"),
    b"ended": FailedPrecondition("the episode has ended", reason="EPISODE_ENDED"),
    b"bug": RuntimeError("secret internal detail /etc/key"),
}


async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    if request in ERRORS:
        raise ERRORS[request]
    return b"ok:" + request


async def stream(request: bytes, context: grpc.aio.ServicerContext):
    """Raises before any response for `early-<name>`, after one for `late-<name>`."""
    when, _, name = request.partition(b"-")
    if when == b"early":
        raise ERRORS[name]
    yield b"first"
    raise ERRORS[name]


@pytest.fixture
async def channel():
    def register(server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Stream": grpc.unary_stream_rpc_method_handler(stream),
        })])

    server, port, _ = await rpc.start_server(register, [SERVICE], host="127.0.0.1", port=0, domain=DOMAIN)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(None)


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(err)
    info = error_details_pb2.ErrorInfo()
    assert status is not None and status.details[0].Unpack(info)
    return info


@pytest.mark.parametrize(("name", "code", "reason"), [
    (b"not-found", grpc.StatusCode.NOT_FOUND, "EPISODE_NOT_FOUND"),
    (b"invalid", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SEED"),
    (b"ended", grpc.StatusCode.FAILED_PRECONDITION, "EPISODE_ENDED"),
])
async def test_domain_errors_become_their_status_in_unary_methods(channel, name, code, reason):
    """A domain error raised by a unary method: its code, its message, ErrorInfo with reason and domain."""
    assert await channel.unary_unary(f"/{SERVICE}/Unary")(b"fine") == b"ok:fine"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary(f"/{SERVICE}/Unary")(name)
    assert caught.value.code() == code
    assert caught.value.details() == ERRORS[name].message
    info = error_info(caught.value)
    assert (info.reason, info.domain) == (reason, DOMAIN)


async def test_field_violations_travel_as_bad_request(channel):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary(f"/{SERVICE}/Unary")(b"invalid")
    bad = error_details_pb2.BadRequest()
    assert rpc_status.from_call(caught.value).details[1].Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [("seed", "too big")]


async def test_unexpected_errors_are_internal_generic_and_logged(channel, caplog):
    """A bug answers INTERNAL 'internal error' (no text of the exception on the wire); the server logs it."""
    with caplog.at_level(logging.ERROR, logger="mlopsdebug.rpc"), pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary(f"/{SERVICE}/Unary")(b"bug")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error" and "secret" not in str(caught.value)
    assert error_info(caught.value).reason == "INTERNAL"
    logged = [r for r in caplog.records if r.exc_info and "secret internal detail" in str(r.exc_info[1])]
    assert logged


@pytest.mark.parametrize("when", [b"early", b"late"])
async def test_streaming_methods_map_errors_alike(channel, when):
    """A stream that raises before or after its first response ends with the error's status."""
    call = channel.unary_stream(f"/{SERVICE}/Stream")(when + b"-not-found")
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for response in call:
            received.append(response)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert received == ([] if when == b"early" else [b"first"])
    call = channel.unary_stream(f"/{SERVICE}/Stream")(when + b"-bug")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    assert caught.value.code() == grpc.StatusCode.INTERNAL and caught.value.details() == "internal error"
