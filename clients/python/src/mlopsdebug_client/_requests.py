"""Request builders, constants and client-side errors shared by the episode clients and sessions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb

from ._resume import CLIENT_DOMAIN
from .actions import ActionLike, as_action
from .errors import MLOpsDebugError, StatusCode, error_from_status, make_error

# One step of a batch: what Step would have returned, or the error it would have raised.
StepOutcome = pb.StepResponse | MLOpsDebugError

# Most steps one StepBatch may carry (the service refuses more).
BATCH_MAX_STEPS: Final[int] = 64

# The fault splits a reset may ask for (see FaultSplit in the contracts): all faults by default.
FAULT_SPLITS: Final[dict[str, common_pb2.FaultSplit]] = {
    "all": common_pb2.FAULT_SPLIT_ALL,
    "train": common_pb2.FAULT_SPLIT_TRAIN,
    "heldout": common_pb2.FAULT_SPLIT_HELDOUT,
}


def reset_request(
    task_id: str, seed: int | None, episode_id: str, evaluation_id: str = "", split: str = "all"
) -> pb.ResetRequest:
    if split not in FAULT_SPLITS:
        raise ValueError(f"split must be one of {', '.join(FAULT_SPLITS)}, got {split!r}")
    request = pb.ResetRequest(
        task_id=task_id, episode_id=episode_id, evaluation_id=evaluation_id, split=FAULT_SPLITS[split]
    )
    if seed is not None:
        request.seed = seed
    return request


def create_evaluation_request(
    tasks: Mapping[str, int] | Sequence[tuple[str, int]], scenario_stream_key: bytes
) -> pb.CreateEvaluationRequest:
    pairs = tasks.items() if isinstance(tasks, Mapping) else tasks
    return pb.CreateEvaluationRequest(
        tasks=[pb.EvaluationTask(task_id=task_id, episodes=episodes) for task_id, episodes in pairs],
        scenario_stream_key=scenario_stream_key,
    )


def batch_request(steps: Sequence[tuple[str, ActionLike]]) -> pb.StepBatchRequest:
    return pb.StepBatchRequest(
        steps=[pb.StepRequest(episode_id=episode_id, action=as_action(action)) for episode_id, action in steps]
    )


def batch_outcomes(response: pb.StepBatchResponse) -> list[StepOutcome]:
    return [
        error_from_status(result.error) if result.WhichOneof("result") == "error" else result.step
        for result in response.results
    ]


def client_error(code: StatusCode, message: str, reason: str) -> MLOpsDebugError:
    return make_error(code, message, reason=reason, domain=CLIENT_DOMAIN)


def closed_session_error() -> MLOpsDebugError:
    return client_error(StatusCode.FAILED_PRECONDITION, "the session is closed", "SESSION_CLOSED")

