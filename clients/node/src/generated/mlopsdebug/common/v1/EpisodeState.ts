// Original file: ../../protos/mlopsdebug/common/v1/common.proto

export const EpisodeState = {
  EPISODE_STATE_UNSPECIFIED: 'EPISODE_STATE_UNSPECIFIED',
  EPISODE_STATE_RUNNING: 'EPISODE_STATE_RUNNING',
  EPISODE_STATE_TERMINATED: 'EPISODE_STATE_TERMINATED',
  EPISODE_STATE_TRUNCATED: 'EPISODE_STATE_TRUNCATED',
} as const;

export type EpisodeState =
  | 'EPISODE_STATE_UNSPECIFIED'
  | 0
  | 'EPISODE_STATE_RUNNING'
  | 1
  | 'EPISODE_STATE_TERMINATED'
  | 2
  | 'EPISODE_STATE_TRUNCATED'
  | 3

export type EpisodeState__Output = typeof EpisodeState[keyof typeof EpisodeState]
