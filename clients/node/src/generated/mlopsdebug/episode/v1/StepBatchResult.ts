// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { StepResponse as _mlopsdebug_episode_v1_StepResponse, StepResponse__Output as _mlopsdebug_episode_v1_StepResponse__Output } from '../../../mlopsdebug/episode/v1/StepResponse';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from '../../../google/rpc/Status';

export interface StepBatchResult {
  'step'?: (_mlopsdebug_episode_v1_StepResponse | null);
  'error'?: (_google_rpc_Status | null);
  'result'?: "step"|"error";
}

export interface StepBatchResult__Output {
  'step'?: (_mlopsdebug_episode_v1_StepResponse__Output | null);
  'error'?: (_google_rpc_Status__Output | null);
  'result'?: "step"|"error";
}
