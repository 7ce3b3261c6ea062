// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { SanityCheckType as _mlopsdebug_common_v1_SanityCheckType, SanityCheckType__Output as _mlopsdebug_common_v1_SanityCheckType__Output } from '../../../mlopsdebug/common/v1/SanityCheckType';
import type { CheckStatus as _mlopsdebug_common_v1_CheckStatus, CheckStatus__Output as _mlopsdebug_common_v1_CheckStatus__Output } from '../../../mlopsdebug/common/v1/CheckStatus';

export interface SanityCheckResult {
  'check'?: (_mlopsdebug_common_v1_SanityCheckType);
  'status'?: (_mlopsdebug_common_v1_CheckStatus);
  'summary'?: (string);
  'metrics'?: ({[key: string]: number | string});
  'details'?: (string)[];
}

export interface SanityCheckResult__Output {
  'check': (_mlopsdebug_common_v1_SanityCheckType__Output);
  'status': (_mlopsdebug_common_v1_CheckStatus__Output);
  'summary': (string);
  'metrics': ({[key: string]: number});
  'details': (string)[];
}
