// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationReport as _mlopsdebug_episode_v1_EvaluationReport, EvaluationReport__Output as _mlopsdebug_episode_v1_EvaluationReport__Output } from '../../../mlopsdebug/episode/v1/EvaluationReport';

export interface CloseEvaluationResponse {
  'report'?: (_mlopsdebug_episode_v1_EvaluationReport | null);
}

export interface CloseEvaluationResponse__Output {
  'report': (_mlopsdebug_episode_v1_EvaluationReport__Output | null);
}
