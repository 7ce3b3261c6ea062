// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { Observation as _mlopsdebug_common_v1_Observation, Observation__Output as _mlopsdebug_common_v1_Observation__Output } from '../../../mlopsdebug/common/v1/Observation';
import type { Long } from '@grpc/proto-loader';

export interface ResetResponse {
  'episodeId'?: (string);
  'seed'?: (number | string | Long);
  'observation'?: (_mlopsdebug_common_v1_Observation | null);
  'sealed'?: (boolean);
}

export interface ResetResponse__Output {
  'episodeId': (string);
  'seed': (number);
  'observation': (_mlopsdebug_common_v1_Observation__Output | null);
  'sealed': (boolean);
}
