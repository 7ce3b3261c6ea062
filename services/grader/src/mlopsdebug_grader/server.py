"""The grader's gRPC servicer and server: open the sealed key, validate, call the pure core."""

from __future__ import annotations

import dataclasses

import grpc

from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc
from mlopsdebug_common import eventloop, rpc
from mlopsdebug_common.answer_key import AnswerKeyError
from mlopsdebug_common.convert import diagnosis_from_pb, grade_to_pb, sealed_key_from_pb
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.sealing import SealError, Sealer
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_grader import core

DOMAIN = "grader.mlopsdebug"
SERVICE_NAME = grader_pb.DESCRIPTOR.services_by_name["GraderService"].full_name


@dataclasses.dataclass(frozen=True, slots=True)
class GraderConfig:
    secret: bytes
    host: str = "[::]"
    port: int = 50053
    grace_s: float = 5.0
    # Whether grades reveal the answer (training); the grader's own setting, never the caller's.
    reveal_answers: bool = False
    # Reveal the answers of held-out faults too (off: training on them would defeat the held-out split).
    reveal_heldout: bool = False
    # Mutual TLS (MLOPSDEBUG_MTLS_DIR): then only the episode service's identity may call; None: plaintext.
    mtls: rpc.MutualTls | None = None

    @classmethod
    def from_env(cls) -> GraderConfig:
        return cls(
            secret=rpc.secret_from_env(),
            reveal_heldout=rpc.env_bool("MLOPSDEBUG_REVEAL_HELDOUT", False),
            host=rpc.env_str("MLOPSDEBUG_GRADER_HOST", "[::]"),
            port=rpc.env_int("MLOPSDEBUG_GRADER_PORT", 50053),
            grace_s=rpc.env_float("MLOPSDEBUG_GRACE_S", 5.0),
            reveal_answers=rpc.env_bool("MLOPSDEBUG_REVEAL_ANSWERS", False),
            mtls=rpc.mtls_from_env("grader"),
        )


class GraderServicer(grader_grpc.GraderServiceServicer):
    """Grades with the deployment's reveal setting; GradeRequest.reveal_answer (deprecated) is ignored."""

    def __init__(self, config: GraderConfig) -> None:
        self._sealer = Sealer(config.secret)
        self._reveal_answers = config.reveal_answers
        self._reveal_heldout = config.reveal_heldout

    @rpc.guard(DOMAIN)
    async def Grade(self, request: grader_pb.GradeRequest, context: grpc.aio.ServicerContext):  # noqa: N802
        if not request.HasField("answer_key"):
            raise InvalidArgument.for_field("answer_key", "required", reason="ANSWER_KEY_MISSING")
        if not request.HasField("diagnosis"):
            raise InvalidArgument.for_field("diagnosis", "required", reason="DIAGNOSIS_MISSING")
        try:
            key = self._sealer.open(sealed_key_from_pb(request.answer_key))
        except (SealError, AnswerKeyError) as exc:
            raise InvalidArgument.for_field("answer_key", str(exc), reason="ANSWER_KEY_INVALID") from exc
        diagnosis = diagnosis_from_pb(request.diagnosis)
        try:
            core.validate_diagnosis(diagnosis)
        except core.DiagnosisTooLongError as exc:
            raise InvalidArgument.for_field(
                f"diagnosis.{exc.field}", f"longer than {exc.limit} characters", reason="DIAGNOSIS_TOO_LONG"
            ) from exc
        except ValueError as exc:
            raise InvalidArgument.for_field("diagnosis", str(exc), reason="INVALID_DIAGNOSIS") from exc
        grade = core.grade(
            key,
            diagnosis,
            asymmetric_penalty=TASKS[key.task_id].asymmetric_penalty,
            reveal_answer=self._reveal_answers,
            reveal_heldout=self._reveal_heldout,
        )
        return grader_pb.GradeResponse(grade=grade_to_pb(grade))


async def build_server(config: GraderConfig):
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
    server, port, health = await build_server(config)
    print(f"grader listening on {config.host}:{port}", flush=True)
    await rpc.serve_until_signal(server, health, grace_s=config.grace_s)


def main() -> None:
    rpc.configure_logging("grader")
    eventloop.run(serve(GraderConfig.from_env()))
