from google.rpc import status_pb2 as _status_pb2
from mlopsdebug.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_STATE_UNSPECIFIED: _ClassVar[EvaluationState]
    EVALUATION_STATE_OPEN: _ClassVar[EvaluationState]
    EVALUATION_STATE_CLOSED: _ClassVar[EvaluationState]

class EvaluationEpisodeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_EPISODE_STATUS_UNSPECIFIED: _ClassVar[EvaluationEpisodeStatus]
    EVALUATION_EPISODE_STATUS_NOT_STARTED: _ClassVar[EvaluationEpisodeStatus]
    EVALUATION_EPISODE_STATUS_UNFINISHED: _ClassVar[EvaluationEpisodeStatus]
    EVALUATION_EPISODE_STATUS_GRADED: _ClassVar[EvaluationEpisodeStatus]
    EVALUATION_EPISODE_STATUS_TRUNCATED: _ClassVar[EvaluationEpisodeStatus]
EVALUATION_STATE_UNSPECIFIED: EvaluationState
EVALUATION_STATE_OPEN: EvaluationState
EVALUATION_STATE_CLOSED: EvaluationState
EVALUATION_EPISODE_STATUS_UNSPECIFIED: EvaluationEpisodeStatus
EVALUATION_EPISODE_STATUS_NOT_STARTED: EvaluationEpisodeStatus
EVALUATION_EPISODE_STATUS_UNFINISHED: EvaluationEpisodeStatus
EVALUATION_EPISODE_STATUS_GRADED: EvaluationEpisodeStatus
EVALUATION_EPISODE_STATUS_TRUNCATED: EvaluationEpisodeStatus

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskInfo]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_common_pb2.TaskInfo, _Mapping]]] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("task_id", "seed", "episode_id", "split", "evaluation_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    seed: int
    episode_id: str
    split: _common_pb2.FaultSplit
    evaluation_id: str
    def __init__(self, task_id: _Optional[str] = ..., seed: _Optional[int] = ..., episode_id: _Optional[str] = ..., split: _Optional[_Union[_common_pb2.FaultSplit, str]] = ..., evaluation_id: _Optional[str] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("episode_id", "seed", "observation", "sealed")
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    seed: int
    observation: _common_pb2.Observation
    sealed: bool
    def __init__(self, episode_id: _Optional[str] = ..., seed: _Optional[int] = ..., observation: _Optional[_Union[_common_pb2.Observation, _Mapping]] = ..., sealed: _Optional[bool] = ...) -> None: ...

class StepRequest(_message.Message):
    __slots__ = ("episode_id", "action", "client_token")
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    action: _common_pb2.Action
    client_token: str
    def __init__(self, episode_id: _Optional[str] = ..., action: _Optional[_Union[_common_pb2.Action, _Mapping]] = ..., client_token: _Optional[str] = ...) -> None: ...

class StepResponse(_message.Message):
    __slots__ = ("observation",)
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    observation: _common_pb2.Observation
    def __init__(self, observation: _Optional[_Union[_common_pb2.Observation, _Mapping]] = ...) -> None: ...

class StepBatchRequest(_message.Message):
    __slots__ = ("steps",)
    STEPS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[StepRequest]
    def __init__(self, steps: _Optional[_Iterable[_Union[StepRequest, _Mapping]]] = ...) -> None: ...

class StepBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StepBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[StepBatchResult, _Mapping]]] = ...) -> None: ...

class StepBatchResult(_message.Message):
    __slots__ = ("step", "error")
    STEP_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    step: StepResponse
    error: _status_pb2.Status
    def __init__(self, step: _Optional[_Union[StepResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ("episode_id",)
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    def __init__(self, episode_id: _Optional[str] = ...) -> None: ...

class GetStateResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: EpisodeStateInfo
    def __init__(self, state: _Optional[_Union[EpisodeStateInfo, _Mapping]] = ...) -> None: ...

class CloseEpisodeRequest(_message.Message):
    __slots__ = ("episode_id",)
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    def __init__(self, episode_id: _Optional[str] = ...) -> None: ...

class CloseEpisodeResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: EpisodeStateInfo
    def __init__(self, state: _Optional[_Union[EpisodeStateInfo, _Mapping]] = ...) -> None: ...

class EpisodeStateInfo(_message.Message):
    __slots__ = ("episode_id", "task_id", "seed", "state", "step_count", "max_steps", "artifacts_read", "sanity_checks_run", "duplicate_reads", "cumulative_reward", "grade", "scenario_id", "created_at", "sealed", "evaluation_id")
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_READ_FIELD_NUMBER: _ClassVar[int]
    SANITY_CHECKS_RUN_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_READS_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_REWARD_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    task_id: str
    seed: int
    state: _common_pb2.EpisodeState
    step_count: int
    max_steps: int
    artifacts_read: _containers.RepeatedScalarFieldContainer[str]
    sanity_checks_run: _containers.RepeatedScalarFieldContainer[_common_pb2.SanityCheckType]
    duplicate_reads: int
    cumulative_reward: float
    grade: _common_pb2.Grade
    scenario_id: str
    created_at: str
    sealed: bool
    evaluation_id: str
    def __init__(self, episode_id: _Optional[str] = ..., task_id: _Optional[str] = ..., seed: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.EpisodeState, str]] = ..., step_count: _Optional[int] = ..., max_steps: _Optional[int] = ..., artifacts_read: _Optional[_Iterable[str]] = ..., sanity_checks_run: _Optional[_Iterable[_Union[_common_pb2.SanityCheckType, str]]] = ..., duplicate_reads: _Optional[int] = ..., cumulative_reward: _Optional[float] = ..., grade: _Optional[_Union[_common_pb2.Grade, _Mapping]] = ..., scenario_id: _Optional[str] = ..., created_at: _Optional[str] = ..., sealed: _Optional[bool] = ..., evaluation_id: _Optional[str] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ("request_id", "reset", "step", "get_state", "close", "step_batch")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    GET_STATE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    STEP_BATCH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reset: ResetRequest
    step: StepRequest
    get_state: GetStateRequest
    close: CloseEpisodeRequest
    step_batch: StepBatchRequest
    def __init__(self, request_id: _Optional[str] = ..., reset: _Optional[_Union[ResetRequest, _Mapping]] = ..., step: _Optional[_Union[StepRequest, _Mapping]] = ..., get_state: _Optional[_Union[GetStateRequest, _Mapping]] = ..., close: _Optional[_Union[CloseEpisodeRequest, _Mapping]] = ..., step_batch: _Optional[_Union[StepBatchRequest, _Mapping]] = ...) -> None: ...

class SessionResponse(_message.Message):
    __slots__ = ("request_id", "reset", "step", "get_state", "close", "error", "step_batch")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    GET_STATE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STEP_BATCH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reset: ResetResponse
    step: StepResponse
    get_state: GetStateResponse
    close: CloseEpisodeResponse
    error: _status_pb2.Status
    step_batch: StepBatchResponse
    def __init__(self, request_id: _Optional[str] = ..., reset: _Optional[_Union[ResetResponse, _Mapping]] = ..., step: _Optional[_Union[StepResponse, _Mapping]] = ..., get_state: _Optional[_Union[GetStateResponse, _Mapping]] = ..., close: _Optional[_Union[CloseEpisodeResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., step_batch: _Optional[_Union[StepBatchResponse, _Mapping]] = ...) -> None: ...

class CreateEvaluationRequest(_message.Message):
    __slots__ = ("tasks", "scenario_stream_key")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[EvaluationTask]
    scenario_stream_key: bytes
    def __init__(self, tasks: _Optional[_Iterable[_Union[EvaluationTask, _Mapping]]] = ..., scenario_stream_key: _Optional[bytes] = ...) -> None: ...

class EvaluationTask(_message.Message):
    __slots__ = ("task_id", "episodes")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    episodes: int
    def __init__(self, task_id: _Optional[str] = ..., episodes: _Optional[int] = ...) -> None: ...

class CreateEvaluationResponse(_message.Message):
    __slots__ = ("evaluation_id", "operator_token", "progress")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    operator_token: str
    progress: EvaluationProgress
    def __init__(self, evaluation_id: _Optional[str] = ..., operator_token: _Optional[str] = ..., progress: _Optional[_Union[EvaluationProgress, _Mapping]] = ...) -> None: ...

class GetEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id",)
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    def __init__(self, evaluation_id: _Optional[str] = ...) -> None: ...

class GetEvaluationResponse(_message.Message):
    __slots__ = ("progress",)
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: EvaluationProgress
    def __init__(self, progress: _Optional[_Union[EvaluationProgress, _Mapping]] = ...) -> None: ...

class EvaluationProgress(_message.Message):
    __slots__ = ("evaluation_id", "state", "tasks")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    state: EvaluationState
    tasks: _containers.RepeatedCompositeFieldContainer[EvaluationTaskProgress]
    def __init__(self, evaluation_id: _Optional[str] = ..., state: _Optional[_Union[EvaluationState, str]] = ..., tasks: _Optional[_Iterable[_Union[EvaluationTaskProgress, _Mapping]]] = ...) -> None: ...

class EvaluationTaskProgress(_message.Message):
    __slots__ = ("task_id", "episodes", "started", "ended")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    episodes: int
    started: int
    ended: int
    def __init__(self, task_id: _Optional[str] = ..., episodes: _Optional[int] = ..., started: _Optional[int] = ..., ended: _Optional[int] = ...) -> None: ...

class CloseEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id", "operator_token")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_TOKEN_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    operator_token: str
    def __init__(self, evaluation_id: _Optional[str] = ..., operator_token: _Optional[str] = ...) -> None: ...

class CloseEvaluationResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: EvaluationReport
    def __init__(self, report: _Optional[_Union[EvaluationReport, _Mapping]] = ...) -> None: ...

class EvaluationReport(_message.Message):
    __slots__ = ("evaluation_id", "episodes", "tasks", "scenario_stream_key")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_STREAM_KEY_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    episodes: _containers.RepeatedCompositeFieldContainer[EvaluationEpisode]
    tasks: _containers.RepeatedCompositeFieldContainer[EvaluationTaskScore]
    scenario_stream_key: bytes
    def __init__(self, evaluation_id: _Optional[str] = ..., episodes: _Optional[_Iterable[_Union[EvaluationEpisode, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[EvaluationTaskScore, _Mapping]]] = ..., scenario_stream_key: _Optional[bytes] = ...) -> None: ...

class EvaluationEpisode(_message.Message):
    __slots__ = ("task_id", "index", "seed", "scenario_id", "episode_id", "status", "step_count", "score", "grade")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    index: int
    seed: int
    scenario_id: str
    episode_id: str
    status: EvaluationEpisodeStatus
    step_count: int
    score: float
    grade: _common_pb2.Grade
    def __init__(self, task_id: _Optional[str] = ..., index: _Optional[int] = ..., seed: _Optional[int] = ..., scenario_id: _Optional[str] = ..., episode_id: _Optional[str] = ..., status: _Optional[_Union[EvaluationEpisodeStatus, str]] = ..., step_count: _Optional[int] = ..., score: _Optional[float] = ..., grade: _Optional[_Union[_common_pb2.Grade, _Mapping]] = ...) -> None: ...

class EvaluationTaskScore(_message.Message):
    __slots__ = ("task_id", "episodes", "graded", "mean_score")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    GRADED_FIELD_NUMBER: _ClassVar[int]
    MEAN_SCORE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    episodes: int
    graded: int
    mean_score: float
    def __init__(self, task_id: _Optional[str] = ..., episodes: _Optional[int] = ..., graded: _Optional[int] = ..., mean_score: _Optional[float] = ...) -> None: ...
