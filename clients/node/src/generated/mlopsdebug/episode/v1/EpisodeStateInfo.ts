// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EpisodeState as _mlopsdebug_common_v1_EpisodeState, EpisodeState__Output as _mlopsdebug_common_v1_EpisodeState__Output } from '../../../mlopsdebug/common/v1/EpisodeState';
import type { SanityCheckType as _mlopsdebug_common_v1_SanityCheckType, SanityCheckType__Output as _mlopsdebug_common_v1_SanityCheckType__Output } from '../../../mlopsdebug/common/v1/SanityCheckType';
import type { Grade as _mlopsdebug_common_v1_Grade, Grade__Output as _mlopsdebug_common_v1_Grade__Output } from '../../../mlopsdebug/common/v1/Grade';
import type { Long } from '@grpc/proto-loader';

export interface EpisodeStateInfo {
  'episodeId'?: (string);
  'taskId'?: (string);
  'seed'?: (number | string | Long);
  'state'?: (_mlopsdebug_common_v1_EpisodeState);
  'stepCount'?: (number);
  'maxSteps'?: (number);
  'artifactsRead'?: (string)[];
  'sanityChecksRun'?: (_mlopsdebug_common_v1_SanityCheckType)[];
  'duplicateReads'?: (number);
  'cumulativeReward'?: (number | string);
  'grade'?: (_mlopsdebug_common_v1_Grade | null);
  'scenarioId'?: (string);
  'createdAt'?: (string);
  'sealed'?: (boolean);
  'evaluationId'?: (string);
}

export interface EpisodeStateInfo__Output {
  'episodeId': (string);
  'taskId': (string);
  'seed': (number);
  'state': (_mlopsdebug_common_v1_EpisodeState__Output);
  'stepCount': (number);
  'maxSteps': (number);
  'artifactsRead': (string)[];
  'sanityChecksRun': (_mlopsdebug_common_v1_SanityCheckType__Output)[];
  'duplicateReads': (number);
  'cumulativeReward': (number);
  'grade': (_mlopsdebug_common_v1_Grade__Output | null);
  'scenarioId': (string);
  'createdAt': (string);
  'sealed': (boolean);
  'evaluationId': (string);
}
