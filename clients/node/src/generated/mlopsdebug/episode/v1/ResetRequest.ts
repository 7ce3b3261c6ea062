// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { FaultSplit as _mlopsdebug_common_v1_FaultSplit, FaultSplit__Output as _mlopsdebug_common_v1_FaultSplit__Output } from '../../../mlopsdebug/common/v1/FaultSplit';
import type { Long } from '@grpc/proto-loader';

export interface ResetRequest {
  'taskId'?: (string);
  'seed'?: (number | string | Long);
  'episodeId'?: (string);
  'evaluationId'?: (string);
  'split'?: (_mlopsdebug_common_v1_FaultSplit);
  '_seed'?: "seed";
}

export interface ResetRequest__Output {
  'taskId': (string);
  'seed'?: (number);
  'episodeId': (string);
  'evaluationId': (string);
  'split': (_mlopsdebug_common_v1_FaultSplit__Output);
  '_seed'?: "seed";
}
