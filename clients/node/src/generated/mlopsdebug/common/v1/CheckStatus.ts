// Original file: ../../protos/mlopsdebug/common/v1/common.proto

export const CheckStatus = {
  CHECK_STATUS_UNSPECIFIED: 'CHECK_STATUS_UNSPECIFIED',
  CHECK_STATUS_PASS: 'CHECK_STATUS_PASS',
  CHECK_STATUS_WARN: 'CHECK_STATUS_WARN',
  CHECK_STATUS_FAIL: 'CHECK_STATUS_FAIL',
  CHECK_STATUS_NOT_APPLICABLE: 'CHECK_STATUS_NOT_APPLICABLE',
} as const;

export type CheckStatus =
  | 'CHECK_STATUS_UNSPECIFIED'
  | 0
  | 'CHECK_STATUS_PASS'
  | 1
  | 'CHECK_STATUS_WARN'
  | 2
  | 'CHECK_STATUS_FAIL'
  | 3
  | 'CHECK_STATUS_NOT_APPLICABLE'
  | 4

export type CheckStatus__Output = typeof CheckStatus[keyof typeof CheckStatus]
