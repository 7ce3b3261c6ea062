// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { StepBatchResult as _mlopsdebug_episode_v1_StepBatchResult, StepBatchResult__Output as _mlopsdebug_episode_v1_StepBatchResult__Output } from '../../../mlopsdebug/episode/v1/StepBatchResult';

export interface StepBatchResponse {
  'results'?: (_mlopsdebug_episode_v1_StepBatchResult)[];
}

export interface StepBatchResponse__Output {
  'results': (_mlopsdebug_episode_v1_StepBatchResult__Output)[];
}
