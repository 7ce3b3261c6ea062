from mlopsdebug.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenerateScenarioRequest(_message.Message):
    __slots__ = ("task_id", "seed", "split")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    seed: int
    split: _common_pb2.FaultSplit
    def __init__(self, task_id: _Optional[str] = ..., seed: _Optional[int] = ..., split: _Optional[_Union[_common_pb2.FaultSplit, str]] = ...) -> None: ...

class GenerateScenarioResponse(_message.Message):
    __slots__ = ("scenario",)
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    scenario: _common_pb2.Scenario
    def __init__(self, scenario: _Optional[_Union[_common_pb2.Scenario, _Mapping]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "generator_version")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_common_pb2.TaskInfo]
    generator_version: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[_common_pb2.TaskInfo, _Mapping]]] = ..., generator_version: _Optional[str] = ...) -> None: ...
