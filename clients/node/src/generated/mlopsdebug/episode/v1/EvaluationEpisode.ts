// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EvaluationEpisodeStatus as _mlopsdebug_episode_v1_EvaluationEpisodeStatus, EvaluationEpisodeStatus__Output as _mlopsdebug_episode_v1_EvaluationEpisodeStatus__Output } from '../../../mlopsdebug/episode/v1/EvaluationEpisodeStatus';
import type { Grade as _mlopsdebug_common_v1_Grade, Grade__Output as _mlopsdebug_common_v1_Grade__Output } from '../../../mlopsdebug/common/v1/Grade';
import type { Long } from '@grpc/proto-loader';

export interface EvaluationEpisode {
  'taskId'?: (string);
  'index'?: (number);
  'seed'?: (number | string | Long);
  'scenarioId'?: (string);
  'episodeId'?: (string);
  'status'?: (_mlopsdebug_episode_v1_EvaluationEpisodeStatus);
  'stepCount'?: (number);
  'score'?: (number | string);
  'grade'?: (_mlopsdebug_common_v1_Grade | null);
}

export interface EvaluationEpisode__Output {
  'taskId': (string);
  'index': (number);
  'seed': (number);
  'scenarioId': (string);
  'episodeId': (string);
  'status': (_mlopsdebug_episode_v1_EvaluationEpisodeStatus__Output);
  'stepCount': (number);
  'score': (number);
  'grade': (_mlopsdebug_common_v1_Grade__Output | null);
}
