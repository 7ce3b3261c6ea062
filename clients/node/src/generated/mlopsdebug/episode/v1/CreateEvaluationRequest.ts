// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationTask as _mlopsdebug_episode_v1_EvaluationTask, EvaluationTask__Output as _mlopsdebug_episode_v1_EvaluationTask__Output } from '../../../mlopsdebug/episode/v1/EvaluationTask';

export interface CreateEvaluationRequest {
  'tasks'?: (_mlopsdebug_episode_v1_EvaluationTask)[];
  'scenarioStreamKey'?: (Buffer | Uint8Array | string);
}

export interface CreateEvaluationRequest__Output {
  'tasks': (_mlopsdebug_episode_v1_EvaluationTask__Output)[];
  'scenarioStreamKey': (Buffer);
}
