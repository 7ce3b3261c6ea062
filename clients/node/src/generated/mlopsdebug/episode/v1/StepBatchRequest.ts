// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { StepRequest as _mlopsdebug_episode_v1_StepRequest, StepRequest__Output as _mlopsdebug_episode_v1_StepRequest__Output } from '../../../mlopsdebug/episode/v1/StepRequest';

export interface StepBatchRequest {
  'steps'?: (_mlopsdebug_episode_v1_StepRequest)[];
}

export interface StepBatchRequest__Output {
  'steps': (_mlopsdebug_episode_v1_StepRequest__Output)[];
}
