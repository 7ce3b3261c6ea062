// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { RunSummary as _mlopsdebug_common_v1_RunSummary, RunSummary__Output as _mlopsdebug_common_v1_RunSummary__Output } from '../../../mlopsdebug/common/v1/RunSummary';
import type { ArtifactMeta as _mlopsdebug_common_v1_ArtifactMeta, ArtifactMeta__Output as _mlopsdebug_common_v1_ArtifactMeta__Output } from '../../../mlopsdebug/common/v1/ArtifactMeta';
import type { ActionResult as _mlopsdebug_common_v1_ActionResult, ActionResult__Output as _mlopsdebug_common_v1_ActionResult__Output } from '../../../mlopsdebug/common/v1/ActionResult';

export interface Observation {
  'taskId'?: (string);
  'taskDescription'?: (string);
  'runId'?: (string);
  'runSummary'?: (_mlopsdebug_common_v1_RunSummary | null);
  'availableArtifacts'?: (_mlopsdebug_common_v1_ArtifactMeta)[];
  'artifactsRead'?: (string)[];
  'lastActionResult'?: (_mlopsdebug_common_v1_ActionResult | null);
  'stepCount'?: (number);
  'maxSteps'?: (number);
  'done'?: (boolean);
  'terminated'?: (boolean);
  'truncated'?: (boolean);
  'reward'?: (number | string);
  'cumulativeReward'?: (number | string);
  'messages'?: (string)[];
}

export interface Observation__Output {
  'taskId': (string);
  'taskDescription': (string);
  'runId': (string);
  'runSummary': (_mlopsdebug_common_v1_RunSummary__Output | null);
  'availableArtifacts': (_mlopsdebug_common_v1_ArtifactMeta__Output)[];
  'artifactsRead': (string)[];
  'lastActionResult': (_mlopsdebug_common_v1_ActionResult__Output | null);
  'stepCount': (number);
  'maxSteps': (number);
  'done': (boolean);
  'terminated': (boolean);
  'truncated': (boolean);
  'reward': (number);
  'cumulativeReward': (number);
  'messages': (string)[];
}
