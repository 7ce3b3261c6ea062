// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationProgress as _mlopsdebug_episode_v1_EvaluationProgress, EvaluationProgress__Output as _mlopsdebug_episode_v1_EvaluationProgress__Output } from '../../../mlopsdebug/episode/v1/EvaluationProgress';

export interface GetEvaluationResponse {
  'progress'?: (_mlopsdebug_episode_v1_EvaluationProgress | null);
}

export interface GetEvaluationResponse__Output {
  'progress': (_mlopsdebug_episode_v1_EvaluationProgress__Output | null);
}
