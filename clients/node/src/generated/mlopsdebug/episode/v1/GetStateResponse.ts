// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { EpisodeStateInfo as _mlopsdebug_episode_v1_EpisodeStateInfo, EpisodeStateInfo__Output as _mlopsdebug_episode_v1_EpisodeStateInfo__Output } from '../../../mlopsdebug/episode/v1/EpisodeStateInfo';

export interface GetStateResponse {
  'state'?: (_mlopsdebug_episode_v1_EpisodeStateInfo | null);
}

export interface GetStateResponse__Output {
  'state': (_mlopsdebug_episode_v1_EpisodeStateInfo__Output | null);
}
