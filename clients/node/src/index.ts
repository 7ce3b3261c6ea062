/** A typed Node.js client of mlops-debug-env's episode service. */

export * as actions from "./actions";
export type { ArtifactFileName, DiagnosisInput, FailureCategoryName, SanityCheckName } from "./actions";
export { BatchingSession, EpisodeBook, EpisodeClient, EpisodeSession, STEP_BATCH_MAX_STEPS } from "./client";
export type { BatchingOptions, ClientOptions, ResetOptions, StepBatchOutcome } from "./client";
export { EpisodeLostError, MLOpsDebugError, ResponseLostError, STATUS_CODE_NAMES } from "./errors";
export type { FieldViolation, StatusCodeName } from "./errors";
export type { Action } from "./generated/mlopsdebug/common/v1/Action";
export type { Grade__Output as Grade } from "./generated/mlopsdebug/common/v1/Grade";
export type { Observation__Output as Observation } from "./generated/mlopsdebug/common/v1/Observation";
export type { TaskInfo__Output as TaskInfo } from "./generated/mlopsdebug/common/v1/TaskInfo";
export type { EpisodeStateInfo__Output as EpisodeState } from "./generated/mlopsdebug/episode/v1/EpisodeStateInfo";
export type { ResetResponse__Output as ResetResponse } from "./generated/mlopsdebug/episode/v1/ResetResponse";
export type { StepResponse__Output as StepResponse } from "./generated/mlopsdebug/episode/v1/StepResponse";
