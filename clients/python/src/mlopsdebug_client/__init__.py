"""Typed Python client of mlops-debug-env: sync and asyncio clients for the episode, generator and
grader services, the project's own error types, action builders, and Gymnasium-style wrappers.

Depends only on the generated contract (`mlopsdebug.*`), grpcio and protobuf; never on service code.
"""

from .actions import (
    ActionLike,
    build_diagnosis,
    check_dataset_stats,
    from_dict,
    inspect_preprocessing,
    query_artifact,
    read_config,
    read_eval_results,
    read_logs,
    run_sanity_check,
    submit_diagnosis,
)
from .config import EPISODE_TARGET, GENERATOR_TARGET, GRADER_TARGET, ClientConfig
from .convert import action_result_to_dict, grade_to_dict, message_to_dict, observation_to_dict
from .episode import (
    AsyncBatchingSession,
    AsyncEpisodeClient,
    AsyncEpisodeSession,
    EpisodeClient,
    EpisodeSession,
    StepOutcome,
)
from .errors import (
    AlreadyExistsError,
    EpisodeLostError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    MLOpsDebugError,
    NotFoundError,
    PreconditionViolation,
    ResourceExhaustedError,
    ResponseLostError,
    StatusCode,
    UnauthenticatedError,
    UnavailableError,
)
from .generator import AsyncGeneratorClient, GeneratorClient
from .grader import AsyncGraderClient, GraderClient
from .gym import AsyncMLOpsDebugGymEnv, MLOpsDebugGymEnv

__all__ = [
    "EPISODE_TARGET",
    "GENERATOR_TARGET",
    "GRADER_TARGET",
    "ActionLike",
    "AlreadyExistsError",
    "AsyncBatchingSession",
    "AsyncEpisodeClient",
    "AsyncEpisodeSession",
    "AsyncGeneratorClient",
    "AsyncGraderClient",
    "AsyncMLOpsDebugGymEnv",
    "ClientConfig",
    "EpisodeClient",
    "EpisodeLostError",
    "EpisodeSession",
    "FailedPreconditionError",
    "FieldViolation",
    "GeneratorClient",
    "GraderClient",
    "InvalidArgumentError",
    "MLOpsDebugError",
    "MLOpsDebugGymEnv",
    "NotFoundError",
    "PreconditionViolation",
    "ResourceExhaustedError",
    "ResponseLostError",
    "StatusCode",
    "StepOutcome",
    "UnauthenticatedError",
    "UnavailableError",
    "action_result_to_dict",
    "build_diagnosis",
    "check_dataset_stats",
    "from_dict",
    "grade_to_dict",
    "inspect_preprocessing",
    "message_to_dict",
    "observation_to_dict",
    "query_artifact",
    "read_config",
    "read_eval_results",
    "read_logs",
    "run_sanity_check",
    "submit_diagnosis",
]
