from mlopsdebug.common.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GradeRequest(_message.Message):
    __slots__ = ("answer_key", "diagnosis", "reveal_answer")
    ANSWER_KEY_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    REVEAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    answer_key: _common_pb2.SealedAnswerKey
    diagnosis: _common_pb2.Diagnosis
    reveal_answer: bool
    def __init__(self, answer_key: _Optional[_Union[_common_pb2.SealedAnswerKey, _Mapping]] = ..., diagnosis: _Optional[_Union[_common_pb2.Diagnosis, _Mapping]] = ..., reveal_answer: _Optional[bool] = ...) -> None: ...

class GradeResponse(_message.Message):
    __slots__ = ("grade",)
    GRADE_FIELD_NUMBER: _ClassVar[int]
    grade: _common_pb2.Grade
    def __init__(self, grade: _Optional[_Union[_common_pb2.Grade, _Mapping]] = ...) -> None: ...
