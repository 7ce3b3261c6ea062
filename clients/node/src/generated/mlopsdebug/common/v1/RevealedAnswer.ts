// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { FailureCategory as _mlopsdebug_common_v1_FailureCategory, FailureCategory__Output as _mlopsdebug_common_v1_FailureCategory__Output } from '../../../mlopsdebug/common/v1/FailureCategory';

export interface RevealedAnswer {
  'faultId'?: (string);
  'category'?: (_mlopsdebug_common_v1_FailureCategory);
  'file'?: (string);
  'field'?: (string);
  'fieldAliases'?: (string)[];
  'fixRule'?: (string);
}

export interface RevealedAnswer__Output {
  'faultId': (string);
  'category': (_mlopsdebug_common_v1_FailureCategory__Output);
  'file': (string);
  'field': (string);
  'fieldAliases': (string)[];
  'fixRule': (string);
}
