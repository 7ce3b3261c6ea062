// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { FailureCategory as _mlopsdebug_common_v1_FailureCategory, FailureCategory__Output as _mlopsdebug_common_v1_FailureCategory__Output } from '../../../mlopsdebug/common/v1/FailureCategory';

export interface Diagnosis {
  'failureCategory'?: (_mlopsdebug_common_v1_FailureCategory);
  'rootCauseFile'?: (string);
  'rootCauseField'?: (string);
  'diagnosis'?: (string);
  'proposedFix'?: (string);
}

export interface Diagnosis__Output {
  'failureCategory': (_mlopsdebug_common_v1_FailureCategory__Output);
  'rootCauseFile': (string);
  'rootCauseField': (string);
  'diagnosis': (string);
  'proposedFix': (string);
}
