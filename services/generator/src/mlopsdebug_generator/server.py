"""The generator's gRPC servicer and server: convert, validate, call the pure core."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import grpc

from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as gen_grpc
from mlopsdebug_common import eventloop, rpc
from mlopsdebug_common.convert import scenario_to_pb, split_from_pb, task_to_pb
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.validation import validate_seed, validate_split, validate_task_id
from mlopsdebug_generator import core

DOMAIN = "generator.mlopsdebug"
SERVICE_NAME = gen_pb.DESCRIPTOR.services_by_name["GeneratorService"].full_name
log = logging.getLogger("mlopsdebug.generator")

NO_SALT = (
    "MLOPSDEBUG_SALT is not set: without a secret salt anyone with the public code computes every"
    " (task, seed)'s answer offline. Set MLOPSDEBUG_SALT=$(openssl rand -hex 16) (the same for every"
    " generator replica), or MLOPSDEBUG_SALT_PUBLIC=true for a public, reproducible deployment."
)
PUBLIC_WARNING = (
    "PUBLIC DEPLOYMENT: no salt, so every answer is computable offline from the public code; fine for"
    " reproducible training and demos, never for an evaluation that must not be gamed"
)


def salt_from_env() -> bytes:
    """The deployment salt: MLOPSDEBUG_SALT, or empty only when MLOPSDEBUG_SALT_PUBLIC=true says so.

    A generator never runs unsalted by accident: with neither set it refuses to start.
    """
    salt = rpc.env_str("MLOPSDEBUG_SALT", "")
    public = rpc.env_bool("MLOPSDEBUG_SALT_PUBLIC", False)
    if salt and public:
        raise SystemExit("MLOPSDEBUG_SALT and MLOPSDEBUG_SALT_PUBLIC=true contradict each other: choose one")
    if not salt and not public:
        raise SystemExit(NO_SALT)
    return salt.encode()


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratorConfig:
    secret: bytes
    salt: bytes = b""  # empty: a public deployment (logged as a WARNING); from_env never defaults to it
    host: str = "[::]"
    port: int = 50051
    grace_s: float = 5.0
    # Mutual TLS (MLOPSDEBUG_MTLS_DIR): then only the episode service's identity may call; None: plaintext.
    mtls: rpc.MutualTls | None = None

    @classmethod
    def from_env(cls) -> GeneratorConfig:
        return cls(
            secret=rpc.secret_from_env(),
            salt=salt_from_env(),
            host=rpc.env_str("MLOPSDEBUG_GENERATOR_HOST", "[::]"),
            port=rpc.env_int("MLOPSDEBUG_GENERATOR_PORT", 50051),
            grace_s=rpc.env_float("MLOPSDEBUG_GRACE_S", 5.0),
            mtls=rpc.mtls_from_env("generator"),
        )


class GeneratorServicer(gen_grpc.GeneratorServiceServicer):
    def __init__(self, config: GeneratorConfig) -> None:
        self._sealer = Sealer(config.secret)
        self._salt = config.salt
        if not config.salt:
            log.warning(PUBLIC_WARNING)

    @rpc.guard(DOMAIN)
    async def GenerateScenario(self, request: gen_pb.GenerateScenarioRequest, context: grpc.aio.ServicerContext):  # noqa: N802
        task_id = validate_task_id(request.task_id)
        seed = validate_seed(request.seed)
        split = validate_split(task_id, split_from_pb(request.split))
        scenario = core.generate_scenario(task_id, seed, sealer=self._sealer, salt=self._salt, split=split)
        return gen_pb.GenerateScenarioResponse(scenario=scenario_to_pb(scenario))

    @rpc.guard(DOMAIN)
    async def ListTasks(self, request: gen_pb.ListTasksRequest, context: grpc.aio.ServicerContext):  # noqa: N802
        return gen_pb.ListTasksResponse(
            tasks=[task_to_pb(t) for t in core.list_tasks()], generator_version=core.GENERATOR_VERSION
        )


async def build_server(config: GeneratorConfig):
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
    server, port, health = await build_server(config)
    print(f"generator listening on {config.host}:{port}", flush=True)
    if ready is not None:
        ready.set()
    await rpc.serve_until_signal(server, health, grace_s=config.grace_s)


def main() -> None:
    rpc.configure_logging("generator")
    eventloop.run(serve(GeneratorConfig.from_env()))
