// Original file: ../../protos/mlopsdebug/common/v1/common.proto

export const Difficulty = {
  DIFFICULTY_UNSPECIFIED: 'DIFFICULTY_UNSPECIFIED',
  DIFFICULTY_EASY: 'DIFFICULTY_EASY',
  DIFFICULTY_MEDIUM: 'DIFFICULTY_MEDIUM',
  DIFFICULTY_HARD: 'DIFFICULTY_HARD',
} as const;

export type Difficulty =
  | 'DIFFICULTY_UNSPECIFIED'
  | 0
  | 'DIFFICULTY_EASY'
  | 1
  | 'DIFFICULTY_MEDIUM'
  | 2
  | 'DIFFICULTY_HARD'
  | 3

export type Difficulty__Output = typeof Difficulty[keyof typeof Difficulty]
