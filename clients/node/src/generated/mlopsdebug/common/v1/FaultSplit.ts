// Original file: ../../protos/mlopsdebug/common/v1/common.proto

export const FaultSplit = {
  FAULT_SPLIT_UNSPECIFIED: 'FAULT_SPLIT_UNSPECIFIED',
  FAULT_SPLIT_ALL: 'FAULT_SPLIT_ALL',
  FAULT_SPLIT_TRAIN: 'FAULT_SPLIT_TRAIN',
  FAULT_SPLIT_HELDOUT: 'FAULT_SPLIT_HELDOUT',
} as const;

export type FaultSplit =
  | 'FAULT_SPLIT_UNSPECIFIED'
  | 0
  | 'FAULT_SPLIT_ALL'
  | 1
  | 'FAULT_SPLIT_TRAIN'
  | 2
  | 'FAULT_SPLIT_HELDOUT'
  | 3

export type FaultSplit__Output = typeof FaultSplit[keyof typeof FaultSplit]
