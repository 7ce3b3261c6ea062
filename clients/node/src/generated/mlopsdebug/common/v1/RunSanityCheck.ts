// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { SanityCheckType as _mlopsdebug_common_v1_SanityCheckType, SanityCheckType__Output as _mlopsdebug_common_v1_SanityCheckType__Output } from '../../../mlopsdebug/common/v1/SanityCheckType';

export interface RunSanityCheck {
  'check'?: (_mlopsdebug_common_v1_SanityCheckType);
}

export interface RunSanityCheck__Output {
  'check': (_mlopsdebug_common_v1_SanityCheckType__Output);
}
