// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { TaskInfo as _mlopsdebug_common_v1_TaskInfo, TaskInfo__Output as _mlopsdebug_common_v1_TaskInfo__Output } from '../../../mlopsdebug/common/v1/TaskInfo';

export interface ListTasksResponse {
  'tasks'?: (_mlopsdebug_common_v1_TaskInfo)[];
}

export interface ListTasksResponse__Output {
  'tasks': (_mlopsdebug_common_v1_TaskInfo__Output)[];
}
