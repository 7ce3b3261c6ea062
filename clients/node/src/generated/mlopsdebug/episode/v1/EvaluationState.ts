// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

export const EvaluationState = {
  EVALUATION_STATE_UNSPECIFIED: 'EVALUATION_STATE_UNSPECIFIED',
  EVALUATION_STATE_OPEN: 'EVALUATION_STATE_OPEN',
  EVALUATION_STATE_CLOSED: 'EVALUATION_STATE_CLOSED',
} as const;

export type EvaluationState =
  | 'EVALUATION_STATE_UNSPECIFIED'
  | 0
  | 'EVALUATION_STATE_OPEN'
  | 1
  | 'EVALUATION_STATE_CLOSED'
  | 2

export type EvaluationState__Output = typeof EvaluationState[keyof typeof EvaluationState]
