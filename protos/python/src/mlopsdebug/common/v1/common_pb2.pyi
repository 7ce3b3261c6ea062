from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Difficulty(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIFFICULTY_UNSPECIFIED: _ClassVar[Difficulty]
    DIFFICULTY_EASY: _ClassVar[Difficulty]
    DIFFICULTY_MEDIUM: _ClassVar[Difficulty]
    DIFFICULTY_HARD: _ClassVar[Difficulty]

class FaultSplit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_SPLIT_UNSPECIFIED: _ClassVar[FaultSplit]
    FAULT_SPLIT_ALL: _ClassVar[FaultSplit]
    FAULT_SPLIT_TRAIN: _ClassVar[FaultSplit]
    FAULT_SPLIT_HELDOUT: _ClassVar[FaultSplit]

class ArtifactName(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_NAME_UNSPECIFIED: _ClassVar[ArtifactName]
    ARTIFACT_NAME_CONFIG_YAML: _ClassVar[ArtifactName]
    ARTIFACT_NAME_TRAIN_LOG: _ClassVar[ArtifactName]
    ARTIFACT_NAME_DATASET_STATS_JSON: _ClassVar[ArtifactName]
    ARTIFACT_NAME_PREPROCESSING_PY: _ClassVar[ArtifactName]
    ARTIFACT_NAME_EVAL_RESULTS_JSON: _ClassVar[ArtifactName]
    ARTIFACT_NAME_MODEL_CARD_JSON: _ClassVar[ArtifactName]

class SanityCheckType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SANITY_CHECK_TYPE_UNSPECIFIED: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_LABEL_CONSISTENCY: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_DATA_LEAKAGE: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_GRADIENT_NORMS: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_CLASS_BALANCE: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_FEATURE_STATISTICS: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_ENCODER_VERSION_MATCH: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_LOSS_TRAJECTORY: _ClassVar[SanityCheckType]
    SANITY_CHECK_TYPE_METRIC_GAP_ANALYSIS: _ClassVar[SanityCheckType]

class CheckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_STATUS_UNSPECIFIED: _ClassVar[CheckStatus]
    CHECK_STATUS_PASS: _ClassVar[CheckStatus]
    CHECK_STATUS_WARN: _ClassVar[CheckStatus]
    CHECK_STATUS_FAIL: _ClassVar[CheckStatus]
    CHECK_STATUS_NOT_APPLICABLE: _ClassVar[CheckStatus]

class FailureCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_CATEGORY_UNSPECIFIED: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_CONFIG_ERROR: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_DATA_LEAKAGE: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_EVALUATION_BUG: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_PREPROCESSING_BUG: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_LABEL_MISMATCH: _ClassVar[FailureCategory]
    FAILURE_CATEGORY_ARCHITECTURE_BUG: _ClassVar[FailureCategory]

class TrainingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_STATUS_UNSPECIFIED: _ClassVar[TrainingStatus]
    TRAINING_STATUS_COMPLETED: _ClassVar[TrainingStatus]
    TRAINING_STATUS_EARLY_STOPPED: _ClassVar[TrainingStatus]
    TRAINING_STATUS_DIVERGED: _ClassVar[TrainingStatus]
    TRAINING_STATUS_FAILED: _ClassVar[TrainingStatus]

class EpisodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EPISODE_STATE_UNSPECIFIED: _ClassVar[EpisodeState]
    EPISODE_STATE_RUNNING: _ClassVar[EpisodeState]
    EPISODE_STATE_TERMINATED: _ClassVar[EpisodeState]
    EPISODE_STATE_TRUNCATED: _ClassVar[EpisodeState]

class GradeComponentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRADE_COMPONENT_KIND_UNSPECIFIED: _ClassVar[GradeComponentKind]
    GRADE_COMPONENT_KIND_CATEGORY: _ClassVar[GradeComponentKind]
    GRADE_COMPONENT_KIND_FILE: _ClassVar[GradeComponentKind]
    GRADE_COMPONENT_KIND_FIELD: _ClassVar[GradeComponentKind]
    GRADE_COMPONENT_KIND_FIX: _ClassVar[GradeComponentKind]
DIFFICULTY_UNSPECIFIED: Difficulty
DIFFICULTY_EASY: Difficulty
DIFFICULTY_MEDIUM: Difficulty
DIFFICULTY_HARD: Difficulty
FAULT_SPLIT_UNSPECIFIED: FaultSplit
FAULT_SPLIT_ALL: FaultSplit
FAULT_SPLIT_TRAIN: FaultSplit
FAULT_SPLIT_HELDOUT: FaultSplit
ARTIFACT_NAME_UNSPECIFIED: ArtifactName
ARTIFACT_NAME_CONFIG_YAML: ArtifactName
ARTIFACT_NAME_TRAIN_LOG: ArtifactName
ARTIFACT_NAME_DATASET_STATS_JSON: ArtifactName
ARTIFACT_NAME_PREPROCESSING_PY: ArtifactName
ARTIFACT_NAME_EVAL_RESULTS_JSON: ArtifactName
ARTIFACT_NAME_MODEL_CARD_JSON: ArtifactName
SANITY_CHECK_TYPE_UNSPECIFIED: SanityCheckType
SANITY_CHECK_TYPE_LABEL_CONSISTENCY: SanityCheckType
SANITY_CHECK_TYPE_DATA_LEAKAGE: SanityCheckType
SANITY_CHECK_TYPE_GRADIENT_NORMS: SanityCheckType
SANITY_CHECK_TYPE_CLASS_BALANCE: SanityCheckType
SANITY_CHECK_TYPE_FEATURE_STATISTICS: SanityCheckType
SANITY_CHECK_TYPE_ENCODER_VERSION_MATCH: SanityCheckType
SANITY_CHECK_TYPE_LOSS_TRAJECTORY: SanityCheckType
SANITY_CHECK_TYPE_METRIC_GAP_ANALYSIS: SanityCheckType
CHECK_STATUS_UNSPECIFIED: CheckStatus
CHECK_STATUS_PASS: CheckStatus
CHECK_STATUS_WARN: CheckStatus
CHECK_STATUS_FAIL: CheckStatus
CHECK_STATUS_NOT_APPLICABLE: CheckStatus
FAILURE_CATEGORY_UNSPECIFIED: FailureCategory
FAILURE_CATEGORY_CONFIG_ERROR: FailureCategory
FAILURE_CATEGORY_DATA_LEAKAGE: FailureCategory
FAILURE_CATEGORY_EVALUATION_BUG: FailureCategory
FAILURE_CATEGORY_PREPROCESSING_BUG: FailureCategory
FAILURE_CATEGORY_LABEL_MISMATCH: FailureCategory
FAILURE_CATEGORY_ARCHITECTURE_BUG: FailureCategory
TRAINING_STATUS_UNSPECIFIED: TrainingStatus
TRAINING_STATUS_COMPLETED: TrainingStatus
TRAINING_STATUS_EARLY_STOPPED: TrainingStatus
TRAINING_STATUS_DIVERGED: TrainingStatus
TRAINING_STATUS_FAILED: TrainingStatus
EPISODE_STATE_UNSPECIFIED: EpisodeState
EPISODE_STATE_RUNNING: EpisodeState
EPISODE_STATE_TERMINATED: EpisodeState
EPISODE_STATE_TRUNCATED: EpisodeState
GRADE_COMPONENT_KIND_UNSPECIFIED: GradeComponentKind
GRADE_COMPONENT_KIND_CATEGORY: GradeComponentKind
GRADE_COMPONENT_KIND_FILE: GradeComponentKind
GRADE_COMPONENT_KIND_FIELD: GradeComponentKind
GRADE_COMPONENT_KIND_FIX: GradeComponentKind

class TaskInfo(_message.Message):
    __slots__ = ("task_id", "name", "description", "difficulty", "max_steps", "asymmetric_penalty", "reward_min", "reward_max", "version", "has_heldout_split")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DIFFICULTY_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    ASYMMETRIC_PENALTY_FIELD_NUMBER: _ClassVar[int]
    REWARD_MIN_FIELD_NUMBER: _ClassVar[int]
    REWARD_MAX_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HAS_HELDOUT_SPLIT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    name: str
    description: str
    difficulty: Difficulty
    max_steps: int
    asymmetric_penalty: bool
    reward_min: float
    reward_max: float
    version: int
    has_heldout_split: bool
    def __init__(self, task_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., difficulty: _Optional[_Union[Difficulty, str]] = ..., max_steps: _Optional[int] = ..., asymmetric_penalty: _Optional[bool] = ..., reward_min: _Optional[float] = ..., reward_max: _Optional[float] = ..., version: _Optional[int] = ..., has_heldout_split: _Optional[bool] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("read_config", "read_logs", "check_dataset_stats", "inspect_preprocessing", "read_eval_results", "run_sanity_check", "query_artifact", "submit_diagnosis")
    READ_CONFIG_FIELD_NUMBER: _ClassVar[int]
    READ_LOGS_FIELD_NUMBER: _ClassVar[int]
    CHECK_DATASET_STATS_FIELD_NUMBER: _ClassVar[int]
    INSPECT_PREPROCESSING_FIELD_NUMBER: _ClassVar[int]
    READ_EVAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    RUN_SANITY_CHECK_FIELD_NUMBER: _ClassVar[int]
    QUERY_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    read_config: ReadConfig
    read_logs: ReadLogs
    check_dataset_stats: CheckDatasetStats
    inspect_preprocessing: InspectPreprocessing
    read_eval_results: ReadEvalResults
    run_sanity_check: RunSanityCheck
    query_artifact: QueryArtifact
    submit_diagnosis: SubmitDiagnosis
    def __init__(self, read_config: _Optional[_Union[ReadConfig, _Mapping]] = ..., read_logs: _Optional[_Union[ReadLogs, _Mapping]] = ..., check_dataset_stats: _Optional[_Union[CheckDatasetStats, _Mapping]] = ..., inspect_preprocessing: _Optional[_Union[InspectPreprocessing, _Mapping]] = ..., read_eval_results: _Optional[_Union[ReadEvalResults, _Mapping]] = ..., run_sanity_check: _Optional[_Union[RunSanityCheck, _Mapping]] = ..., query_artifact: _Optional[_Union[QueryArtifact, _Mapping]] = ..., submit_diagnosis: _Optional[_Union[SubmitDiagnosis, _Mapping]] = ...) -> None: ...

class ReadConfig(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadLogs(_message.Message):
    __slots__ = ("log_filter",)
    LOG_FILTER_FIELD_NUMBER: _ClassVar[int]
    log_filter: str
    def __init__(self, log_filter: _Optional[str] = ...) -> None: ...

class CheckDatasetStats(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InspectPreprocessing(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadEvalResults(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunSanityCheck(_message.Message):
    __slots__ = ("check",)
    CHECK_FIELD_NUMBER: _ClassVar[int]
    check: SanityCheckType
    def __init__(self, check: _Optional[_Union[SanityCheckType, str]] = ...) -> None: ...

class QueryArtifact(_message.Message):
    __slots__ = ("artifact", "field_path")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FIELD_PATH_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactName
    field_path: str
    def __init__(self, artifact: _Optional[_Union[ArtifactName, str]] = ..., field_path: _Optional[str] = ...) -> None: ...

class SubmitDiagnosis(_message.Message):
    __slots__ = ("diagnosis",)
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    diagnosis: Diagnosis
    def __init__(self, diagnosis: _Optional[_Union[Diagnosis, _Mapping]] = ...) -> None: ...

class Diagnosis(_message.Message):
    __slots__ = ("failure_category", "root_cause_file", "root_cause_field", "diagnosis", "proposed_fix")
    FAILURE_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ROOT_CAUSE_FILE_FIELD_NUMBER: _ClassVar[int]
    ROOT_CAUSE_FIELD_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_FIX_FIELD_NUMBER: _ClassVar[int]
    failure_category: FailureCategory
    root_cause_file: str
    root_cause_field: str
    diagnosis: str
    proposed_fix: str
    def __init__(self, failure_category: _Optional[_Union[FailureCategory, str]] = ..., root_cause_file: _Optional[str] = ..., root_cause_field: _Optional[str] = ..., diagnosis: _Optional[str] = ..., proposed_fix: _Optional[str] = ...) -> None: ...

class ArtifactMeta(_message.Message):
    __slots__ = ("name", "file_name", "description", "size_hint", "last_modified")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SIZE_HINT_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    name: ArtifactName
    file_name: str
    description: str
    size_hint: str
    last_modified: str
    def __init__(self, name: _Optional[_Union[ArtifactName, str]] = ..., file_name: _Optional[str] = ..., description: _Optional[str] = ..., size_hint: _Optional[str] = ..., last_modified: _Optional[str] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "content", "description", "last_modified")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    name: ArtifactName
    content: str
    description: str
    last_modified: str
    def __init__(self, name: _Optional[_Union[ArtifactName, str]] = ..., content: _Optional[str] = ..., description: _Optional[str] = ..., last_modified: _Optional[str] = ...) -> None: ...

class RunSummary(_message.Message):
    __slots__ = ("run_id", "model", "dataset", "modality", "training_status", "epochs_planned", "epochs_completed", "final_train_loss", "final_val_loss", "primary_metric", "val_metric", "test_metric", "wall_clock_seconds", "started_at")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    TRAINING_STATUS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_PLANNED_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FINAL_TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    FINAL_VAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_METRIC_FIELD_NUMBER: _ClassVar[int]
    VAL_METRIC_FIELD_NUMBER: _ClassVar[int]
    TEST_METRIC_FIELD_NUMBER: _ClassVar[int]
    WALL_CLOCK_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    model: str
    dataset: str
    modality: str
    training_status: TrainingStatus
    epochs_planned: int
    epochs_completed: int
    final_train_loss: float
    final_val_loss: float
    primary_metric: str
    val_metric: float
    test_metric: float
    wall_clock_seconds: float
    started_at: str
    def __init__(self, run_id: _Optional[str] = ..., model: _Optional[str] = ..., dataset: _Optional[str] = ..., modality: _Optional[str] = ..., training_status: _Optional[_Union[TrainingStatus, str]] = ..., epochs_planned: _Optional[int] = ..., epochs_completed: _Optional[int] = ..., final_train_loss: _Optional[float] = ..., final_val_loss: _Optional[float] = ..., primary_metric: _Optional[str] = ..., val_metric: _Optional[float] = ..., test_metric: _Optional[float] = ..., wall_clock_seconds: _Optional[float] = ..., started_at: _Optional[str] = ...) -> None: ...

class SanityCheckResult(_message.Message):
    __slots__ = ("check", "status", "summary", "metrics", "details")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CHECK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    check: SanityCheckType
    status: CheckStatus
    summary: str
    metrics: _containers.ScalarMap[str, float]
    details: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, check: _Optional[_Union[SanityCheckType, str]] = ..., status: _Optional[_Union[CheckStatus, str]] = ..., summary: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., details: _Optional[_Iterable[str]] = ...) -> None: ...

class SealedAnswerKey(_message.Message):
    __slots__ = ("key_id", "nonce", "ciphertext", "scenario_id")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    nonce: bytes
    ciphertext: bytes
    scenario_id: str
    def __init__(self, key_id: _Optional[str] = ..., nonce: _Optional[bytes] = ..., ciphertext: _Optional[bytes] = ..., scenario_id: _Optional[str] = ...) -> None: ...

class Scenario(_message.Message):
    __slots__ = ("scenario_id", "task_id", "seed", "generator_version", "run_summary", "artifacts", "sanity_checks", "answer_key")
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    RUN_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    SANITY_CHECKS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_KEY_FIELD_NUMBER: _ClassVar[int]
    scenario_id: str
    task_id: str
    seed: int
    generator_version: str
    run_summary: RunSummary
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    sanity_checks: _containers.RepeatedCompositeFieldContainer[SanityCheckResult]
    answer_key: SealedAnswerKey
    def __init__(self, scenario_id: _Optional[str] = ..., task_id: _Optional[str] = ..., seed: _Optional[int] = ..., generator_version: _Optional[str] = ..., run_summary: _Optional[_Union[RunSummary, _Mapping]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., sanity_checks: _Optional[_Iterable[_Union[SanityCheckResult, _Mapping]]] = ..., answer_key: _Optional[_Union[SealedAnswerKey, _Mapping]] = ...) -> None: ...

class ActionResult(_message.Message):
    __slots__ = ("artifact", "logs", "sanity_check", "field", "grade")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    SANITY_CHECK_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactContent
    logs: LogExcerpt
    sanity_check: SanityCheckResult
    field: FieldValue
    grade: Grade
    def __init__(self, artifact: _Optional[_Union[ArtifactContent, _Mapping]] = ..., logs: _Optional[_Union[LogExcerpt, _Mapping]] = ..., sanity_check: _Optional[_Union[SanityCheckResult, _Mapping]] = ..., field: _Optional[_Union[FieldValue, _Mapping]] = ..., grade: _Optional[_Union[Grade, _Mapping]] = ...) -> None: ...

class ArtifactContent(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: ArtifactName
    content: str
    def __init__(self, name: _Optional[_Union[ArtifactName, str]] = ..., content: _Optional[str] = ...) -> None: ...

class LogExcerpt(_message.Message):
    __slots__ = ("log_filter", "content", "matched_lines", "total_lines")
    LOG_FILTER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MATCHED_LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LINES_FIELD_NUMBER: _ClassVar[int]
    log_filter: str
    content: str
    matched_lines: int
    total_lines: int
    def __init__(self, log_filter: _Optional[str] = ..., content: _Optional[str] = ..., matched_lines: _Optional[int] = ..., total_lines: _Optional[int] = ...) -> None: ...

class FieldValue(_message.Message):
    __slots__ = ("artifact", "field_path", "found", "value_json", "available_keys")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FIELD_PATH_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactName
    field_path: str
    found: bool
    value_json: str
    available_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, artifact: _Optional[_Union[ArtifactName, str]] = ..., field_path: _Optional[str] = ..., found: _Optional[bool] = ..., value_json: _Optional[str] = ..., available_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("task_id", "task_description", "run_id", "run_summary", "available_artifacts", "artifacts_read", "last_action_result", "step_count", "max_steps", "done", "terminated", "truncated", "reward", "cumulative_reward", "messages")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_READ_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTION_RESULT_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TERMINATED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_REWARD_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    task_description: str
    run_id: str
    run_summary: RunSummary
    available_artifacts: _containers.RepeatedCompositeFieldContainer[ArtifactMeta]
    artifacts_read: _containers.RepeatedScalarFieldContainer[str]
    last_action_result: ActionResult
    step_count: int
    max_steps: int
    done: bool
    terminated: bool
    truncated: bool
    reward: float
    cumulative_reward: float
    messages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., task_description: _Optional[str] = ..., run_id: _Optional[str] = ..., run_summary: _Optional[_Union[RunSummary, _Mapping]] = ..., available_artifacts: _Optional[_Iterable[_Union[ArtifactMeta, _Mapping]]] = ..., artifacts_read: _Optional[_Iterable[str]] = ..., last_action_result: _Optional[_Union[ActionResult, _Mapping]] = ..., step_count: _Optional[int] = ..., max_steps: _Optional[int] = ..., done: _Optional[bool] = ..., terminated: _Optional[bool] = ..., truncated: _Optional[bool] = ..., reward: _Optional[float] = ..., cumulative_reward: _Optional[float] = ..., messages: _Optional[_Iterable[str]] = ...) -> None: ...

class Grade(_message.Message):
    __slots__ = ("score", "raw_score", "asymmetric_penalty", "components", "answer", "grader_version")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RAW_SCORE_FIELD_NUMBER: _ClassVar[int]
    ASYMMETRIC_PENALTY_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    GRADER_VERSION_FIELD_NUMBER: _ClassVar[int]
    score: float
    raw_score: float
    asymmetric_penalty: bool
    components: _containers.RepeatedCompositeFieldContainer[GradeComponent]
    answer: RevealedAnswer
    grader_version: str
    def __init__(self, score: _Optional[float] = ..., raw_score: _Optional[float] = ..., asymmetric_penalty: _Optional[bool] = ..., components: _Optional[_Iterable[_Union[GradeComponent, _Mapping]]] = ..., answer: _Optional[_Union[RevealedAnswer, _Mapping]] = ..., grader_version: _Optional[str] = ...) -> None: ...

class GradeComponent(_message.Message):
    __slots__ = ("kind", "weight", "credit", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: GradeComponentKind
    weight: float
    credit: float
    reason: str
    def __init__(self, kind: _Optional[_Union[GradeComponentKind, str]] = ..., weight: _Optional[float] = ..., credit: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class RevealedAnswer(_message.Message):
    __slots__ = ("fault_id", "category", "file", "field", "field_aliases", "fix_rule")
    FAULT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FIELD_ALIASES_FIELD_NUMBER: _ClassVar[int]
    FIX_RULE_FIELD_NUMBER: _ClassVar[int]
    fault_id: str
    category: FailureCategory
    file: str
    field: str
    field_aliases: _containers.RepeatedScalarFieldContainer[str]
    fix_rule: str
    def __init__(self, fault_id: _Optional[str] = ..., category: _Optional[_Union[FailureCategory, str]] = ..., file: _Optional[str] = ..., field: _Optional[str] = ..., field_aliases: _Optional[_Iterable[str]] = ..., fix_rule: _Optional[str] = ...) -> None: ...
