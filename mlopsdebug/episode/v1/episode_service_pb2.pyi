from google.rpc import status_pb2 as _status_pb2
from mlopsdebug.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskInfo]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_common_pb2.TaskInfo, _Mapping]]] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("task_id", "seed", "episode_id", "split")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    seed: int
    episode_id: str
    split: _common_pb2.FaultSplit
    def __init__(self, task_id: _Optional[str] = ..., seed: _Optional[int] = ..., episode_id: _Optional[str] = ..., split: _Optional[_Union[_common_pb2.FaultSplit, str]] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("episode_id", "seed", "observation")
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    seed: int
    observation: _common_pb2.Observation
    def __init__(self, episode_id: _Optional[str] = ..., seed: _Optional[int] = ..., observation: _Optional[_Union[_common_pb2.Observation, _Mapping]] = ...) -> None: ...

class StepRequest(_message.Message):
    __slots__ = ("episode_id", "action")
    EPISODE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    episode_id: str
    action: _common_pb2.Action
    def __init__(self, episode_id: _Optional[str] = ..., action: _Optional[_Union[_common_pb2.Action, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("episode_id", "task_id", "seed", "state", "step_count", "max_steps", "artifacts_read", "sanity_checks_run", "duplicate_reads", "cumulative_reward", "grade", "scenario_id", "created_at")
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
    def __init__(self, episode_id: _Optional[str] = ..., task_id: _Optional[str] = ..., seed: _Optional[int] = ..., state: _Optional[_Union[_common_pb2.EpisodeState, str]] = ..., step_count: _Optional[int] = ..., max_steps: _Optional[int] = ..., artifacts_read: _Optional[_Iterable[str]] = ..., sanity_checks_run: _Optional[_Iterable[_Union[_common_pb2.SanityCheckType, str]]] = ..., duplicate_reads: _Optional[int] = ..., cumulative_reward: _Optional[float] = ..., grade: _Optional[_Union[_common_pb2.Grade, _Mapping]] = ..., scenario_id: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

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
