// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { Observation as _mlopsdebug_common_v1_Observation, Observation__Output as _mlopsdebug_common_v1_Observation__Output } from '../../../mlopsdebug/common/v1/Observation';

export interface StepResponse {
  'observation'?: (_mlopsdebug_common_v1_Observation | null);
}

export interface StepResponse__Output {
  'observation': (_mlopsdebug_common_v1_Observation__Output | null);
}
