// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationEpisode as _mlopsdebug_episode_v1_EvaluationEpisode, EvaluationEpisode__Output as _mlopsdebug_episode_v1_EvaluationEpisode__Output } from '../../../mlopsdebug/episode/v1/EvaluationEpisode';
import type { EvaluationTaskScore as _mlopsdebug_episode_v1_EvaluationTaskScore, EvaluationTaskScore__Output as _mlopsdebug_episode_v1_EvaluationTaskScore__Output } from '../../../mlopsdebug/episode/v1/EvaluationTaskScore';

export interface EvaluationReport {
  'evaluationId'?: (string);
  'episodes'?: (_mlopsdebug_episode_v1_EvaluationEpisode)[];
  'tasks'?: (_mlopsdebug_episode_v1_EvaluationTaskScore)[];
  'scenarioStreamKey'?: (Buffer | Uint8Array | string);
}

export interface EvaluationReport__Output {
  'evaluationId': (string);
  'episodes': (_mlopsdebug_episode_v1_EvaluationEpisode__Output)[];
  'tasks': (_mlopsdebug_episode_v1_EvaluationTaskScore__Output)[];
  'scenarioStreamKey': (Buffer);
}
