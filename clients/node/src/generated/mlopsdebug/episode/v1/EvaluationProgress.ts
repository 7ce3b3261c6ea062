// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationState as _mlopsdebug_episode_v1_EvaluationState, EvaluationState__Output as _mlopsdebug_episode_v1_EvaluationState__Output } from '../../../mlopsdebug/episode/v1/EvaluationState';
import type { EvaluationTaskProgress as _mlopsdebug_episode_v1_EvaluationTaskProgress, EvaluationTaskProgress__Output as _mlopsdebug_episode_v1_EvaluationTaskProgress__Output } from '../../../mlopsdebug/episode/v1/EvaluationTaskProgress';

export interface EvaluationProgress {
  'evaluationId'?: (string);
  'state'?: (_mlopsdebug_episode_v1_EvaluationState);
  'tasks'?: (_mlopsdebug_episode_v1_EvaluationTaskProgress)[];
}

export interface EvaluationProgress__Output {
  'evaluationId': (string);
  'state': (_mlopsdebug_episode_v1_EvaluationState__Output);
  'tasks': (_mlopsdebug_episode_v1_EvaluationTaskProgress__Output)[];
}
