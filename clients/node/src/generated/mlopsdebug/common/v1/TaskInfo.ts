// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { Difficulty as _mlopsdebug_common_v1_Difficulty, Difficulty__Output as _mlopsdebug_common_v1_Difficulty__Output } from '../../../mlopsdebug/common/v1/Difficulty';

export interface TaskInfo {
  'taskId'?: (string);
  'name'?: (string);
  'description'?: (string);
  'difficulty'?: (_mlopsdebug_common_v1_Difficulty);
  'maxSteps'?: (number);
  'asymmetricPenalty'?: (boolean);
  'rewardMin'?: (number | string);
  'rewardMax'?: (number | string);
  'version'?: (number);
  'hasHeldoutSplit'?: (boolean);
}

export interface TaskInfo__Output {
  'taskId': (string);
  'name': (string);
  'description': (string);
  'difficulty': (_mlopsdebug_common_v1_Difficulty__Output);
  'maxSteps': (number);
  'asymmetricPenalty': (boolean);
  'rewardMin': (number);
  'rewardMax': (number);
  'version': (number);
  'hasHeldoutSplit': (boolean);
}
