// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { ResetRequest as _mlopsdebug_episode_v1_ResetRequest, ResetRequest__Output as _mlopsdebug_episode_v1_ResetRequest__Output } from '../../../mlopsdebug/episode/v1/ResetRequest';
import type { StepRequest as _mlopsdebug_episode_v1_StepRequest, StepRequest__Output as _mlopsdebug_episode_v1_StepRequest__Output } from '../../../mlopsdebug/episode/v1/StepRequest';
import type { GetStateRequest as _mlopsdebug_episode_v1_GetStateRequest, GetStateRequest__Output as _mlopsdebug_episode_v1_GetStateRequest__Output } from '../../../mlopsdebug/episode/v1/GetStateRequest';
import type { CloseEpisodeRequest as _mlopsdebug_episode_v1_CloseEpisodeRequest, CloseEpisodeRequest__Output as _mlopsdebug_episode_v1_CloseEpisodeRequest__Output } from '../../../mlopsdebug/episode/v1/CloseEpisodeRequest';
import type { StepBatchRequest as _mlopsdebug_episode_v1_StepBatchRequest, StepBatchRequest__Output as _mlopsdebug_episode_v1_StepBatchRequest__Output } from '../../../mlopsdebug/episode/v1/StepBatchRequest';

export interface SessionRequest {
  'requestId'?: (string);
  'reset'?: (_mlopsdebug_episode_v1_ResetRequest | null);
  'step'?: (_mlopsdebug_episode_v1_StepRequest | null);
  'getState'?: (_mlopsdebug_episode_v1_GetStateRequest | null);
  'close'?: (_mlopsdebug_episode_v1_CloseEpisodeRequest | null);
  'stepBatch'?: (_mlopsdebug_episode_v1_StepBatchRequest | null);
  'request'?: "reset"|"step"|"getState"|"close"|"stepBatch";
}

export interface SessionRequest__Output {
  'requestId': (string);
  'reset'?: (_mlopsdebug_episode_v1_ResetRequest__Output | null);
  'step'?: (_mlopsdebug_episode_v1_StepRequest__Output | null);
  'getState'?: (_mlopsdebug_episode_v1_GetStateRequest__Output | null);
  'close'?: (_mlopsdebug_episode_v1_CloseEpisodeRequest__Output | null);
  'stepBatch'?: (_mlopsdebug_episode_v1_StepBatchRequest__Output | null);
  'request'?: "reset"|"step"|"getState"|"close"|"stepBatch";
}
