// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { Action as _mlopsdebug_common_v1_Action, Action__Output as _mlopsdebug_common_v1_Action__Output } from '../../../mlopsdebug/common/v1/Action';

export interface StepRequest {
  'episodeId'?: (string);
  'action'?: (_mlopsdebug_common_v1_Action | null);
  'clientToken'?: (string);
}

export interface StepRequest__Output {
  'episodeId': (string);
  'action': (_mlopsdebug_common_v1_Action__Output | null);
  'clientToken': (string);
}
