// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { ResetResponse as _mlopsdebug_episode_v1_ResetResponse, ResetResponse__Output as _mlopsdebug_episode_v1_ResetResponse__Output } from '../../../mlopsdebug/episode/v1/ResetResponse';
import type { StepResponse as _mlopsdebug_episode_v1_StepResponse, StepResponse__Output as _mlopsdebug_episode_v1_StepResponse__Output } from '../../../mlopsdebug/episode/v1/StepResponse';
import type { GetStateResponse as _mlopsdebug_episode_v1_GetStateResponse, GetStateResponse__Output as _mlopsdebug_episode_v1_GetStateResponse__Output } from '../../../mlopsdebug/episode/v1/GetStateResponse';
import type { CloseEpisodeResponse as _mlopsdebug_episode_v1_CloseEpisodeResponse, CloseEpisodeResponse__Output as _mlopsdebug_episode_v1_CloseEpisodeResponse__Output } from '../../../mlopsdebug/episode/v1/CloseEpisodeResponse';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from '../../../google/rpc/Status';
import type { StepBatchResponse as _mlopsdebug_episode_v1_StepBatchResponse, StepBatchResponse__Output as _mlopsdebug_episode_v1_StepBatchResponse__Output } from '../../../mlopsdebug/episode/v1/StepBatchResponse';

export interface SessionResponse {
  'requestId'?: (string);
  'reset'?: (_mlopsdebug_episode_v1_ResetResponse | null);
  'step'?: (_mlopsdebug_episode_v1_StepResponse | null);
  'getState'?: (_mlopsdebug_episode_v1_GetStateResponse | null);
  'close'?: (_mlopsdebug_episode_v1_CloseEpisodeResponse | null);
  'error'?: (_google_rpc_Status | null);
  'stepBatch'?: (_mlopsdebug_episode_v1_StepBatchResponse | null);
  'response'?: "reset"|"step"|"getState"|"close"|"error"|"stepBatch";
}

export interface SessionResponse__Output {
  'requestId': (string);
  'reset'?: (_mlopsdebug_episode_v1_ResetResponse__Output | null);
  'step'?: (_mlopsdebug_episode_v1_StepResponse__Output | null);
  'getState'?: (_mlopsdebug_episode_v1_GetStateResponse__Output | null);
  'close'?: (_mlopsdebug_episode_v1_CloseEpisodeResponse__Output | null);
  'error'?: (_google_rpc_Status__Output | null);
  'stepBatch'?: (_mlopsdebug_episode_v1_StepBatchResponse__Output | null);
  'response'?: "reset"|"step"|"getState"|"close"|"error"|"stepBatch";
}
