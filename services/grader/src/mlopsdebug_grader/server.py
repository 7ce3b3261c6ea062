"""The grader's gRPC servicer and server: open the sealed key, validate, call the pure core."""

from __future__ import annotations

import grpc

from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc
from mlopsdebug_common import eventloop, rpc
from mlopsdebug_common.convert import diagnosis_from_pb, grade_to_pb, sealed_key_from_pb
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_grader import core
from mlopsdebug_grader.config import GraderConfig

DOMAIN = "grader.mlopsdebug"
SERVICE_NAME = grader_pb.DESCRIPTOR.services_by_name["GraderService"].full_name


class GraderServicer(grader_grpc.GraderServiceServicer):
    """Grades with the deployment's reveal setting; GradeRequest.reveal_answer (deprecated) is ignored."""

    def __init__(self, config: GraderConfig) -> None:
        self._sealer = Sealer(config.secret)
        self._reveal_answers = config.reveal_answers
        self._reveal_heldout = config.reveal_heldout

    async def Grade(  # noqa: N802
        self, request: grader_pb.GradeRequest, context: grpc.aio.ServicerContext
    ) -> grader_pb.GradeResponse:
        if not request.HasField("answer_key"):
            raise InvalidArgument.for_field("answer_key", "required", reason="ANSWER_KEY_MISSING")
        if not request.HasField("diagnosis"):
            raise InvalidArgument.for_field("diagnosis", "required", reason="DIAGNOSIS_MISSING")
        key = self._sealer.open(sealed_key_from_pb(request.answer_key))
        diagnosis = diagnosis_from_pb(request.diagnosis)
        grade = core.grade(
            key,
            diagnosis,
            asymmetric_penalty=TASKS[key.task_id].asymmetric_penalty,
            reveal_answer=self._reveal_answers,
            reveal_heldout=self._reveal_heldout,
        )
        return grader_pb.GradeResponse(grade=grade_to_pb(grade))


async def build_server(config: GraderConfig) -> tuple[grpc.aio.Server, int, rpc.HealthServicer]:
    """Starts a grader server; returns (server, bound port, health servicer)."""
    servicer = GraderServicer(config)
    server, port, health = await rpc.start_server(
        lambda s: grader_grpc.add_GraderServiceServicer_to_server(servicer, s),
        [SERVICE_NAME],
        host=config.host,
        port=config.port,
        domain=DOMAIN,
        credentials=config.mtls.server_credentials() if config.mtls else None,
        allowed_peers=frozenset({rpc.EPISODE_IDENTITY}) if config.mtls else None,
    )
    if config.mtls is None:
        rpc.warn_plaintext("grader", port)
    return server, port, health


async def serve(config: GraderConfig) -> None:
    """Serves until SIGTERM or SIGINT, then drains."""
    server, port, health = await build_server(config)
    print(f"grader listening on {config.host}:{port}", flush=True)
    await rpc.serve_until_signal(server, health, grace_s=config.grace_s)


def main() -> None:
    """Entry point of `mlopsdebug serve grader`."""
    rpc.configure_logging("grader")
    eventloop.run(serve(GraderConfig.from_env()))
