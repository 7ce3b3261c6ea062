// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { GradeComponentKind as _mlopsdebug_common_v1_GradeComponentKind, GradeComponentKind__Output as _mlopsdebug_common_v1_GradeComponentKind__Output } from '../../../mlopsdebug/common/v1/GradeComponentKind';

export interface GradeComponent {
  'kind'?: (_mlopsdebug_common_v1_GradeComponentKind);
  'weight'?: (number | string);
  'credit'?: (number | string);
  'reason'?: (string);
}

export interface GradeComponent__Output {
  'kind': (_mlopsdebug_common_v1_GradeComponentKind__Output);
  'weight': (number);
  'credit': (number);
  'reason': (string);
}
