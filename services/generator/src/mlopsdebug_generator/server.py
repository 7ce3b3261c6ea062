"""The generator's gRPC servicer and server: convert, validate, call the pure core."""

from __future__ import annotations

import asyncio
import logging

import grpc

from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as gen_grpc
from mlopsdebug_common import eventloop, rpc
from mlopsdebug_common.convert import scenario_to_pb, split_from_pb, task_to_pb
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_generator import core
from mlopsdebug_generator.config import PUBLIC_WARNING, GeneratorConfig

DOMAIN = "generator.mlopsdebug"
SERVICE_NAME = gen_pb.DESCRIPTOR.services_by_name["GeneratorService"].full_name
log = logging.getLogger("mlopsdebug.generator")

class GeneratorServicer(gen_grpc.GeneratorServiceServicer):
    """Generates scenarios; validation and errors as everywhere (mlopsdebug_common)."""
    def __init__(self, config: GeneratorConfig) -> None:
        self._sealer = Sealer(config.secret)
        self._salt = config.salt
        if not config.salt:
            log.warning(PUBLIC_WARNING)

    async def GenerateScenario(  # noqa: N802
        self, request: gen_pb.GenerateScenarioRequest, context: grpc.aio.ServicerContext
    ) -> gen_pb.GenerateScenarioResponse:
        scenario = core.generate_scenario(
            request.task_id, request.seed, sealer=self._sealer, salt=self._salt, split=split_from_pb(request.split)
        )
        return gen_pb.GenerateScenarioResponse(scenario=scenario_to_pb(scenario))

    async def ListTasks(  # noqa: N802
        self, request: gen_pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> gen_pb.ListTasksResponse:
        return gen_pb.ListTasksResponse(
            tasks=[task_to_pb(t) for t in core.list_tasks()], generator_version=core.GENERATOR_VERSION
        )


async def build_server(config: GeneratorConfig) -> tuple[grpc.aio.Server, int, rpc.HealthServicer]:
    """Starts a generator server; returns (server, bound port, health servicer)."""
    servicer = GeneratorServicer(config)
    server, port, health = await rpc.start_server(
        lambda s: gen_grpc.add_GeneratorServiceServicer_to_server(servicer, s),
        [SERVICE_NAME],
        host=config.host,
        port=config.port,
        domain=DOMAIN,
        credentials=config.mtls.server_credentials() if config.mtls else None,
        allowed_peers=frozenset({rpc.EPISODE_IDENTITY}) if config.mtls else None,
    )
    if config.mtls is None:
        rpc.warn_plaintext("generator", port)
    return server, port, health


async def serve(config: GeneratorConfig, *, ready: asyncio.Event | None = None) -> None:
    """Serves until SIGTERM or SIGINT, then drains; sets `ready` once listening."""
    server, port, health = await build_server(config)
    print(f"generator listening on {config.host}:{port}", flush=True)
    if ready is not None:
        ready.set()
    await rpc.serve_until_signal(server, health, grace_s=config.grace_s)


def main() -> None:
    """Entry point of `mlopsdebug serve generator`."""
    rpc.configure_logging("generator")
    eventloop.run(serve(GeneratorConfig.from_env()))
