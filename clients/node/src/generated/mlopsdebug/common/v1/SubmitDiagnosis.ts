// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { Diagnosis as _mlopsdebug_common_v1_Diagnosis, Diagnosis__Output as _mlopsdebug_common_v1_Diagnosis__Output } from '../../../mlopsdebug/common/v1/Diagnosis';

export interface SubmitDiagnosis {
  'diagnosis'?: (_mlopsdebug_common_v1_Diagnosis | null);
}

export interface SubmitDiagnosis__Output {
  'diagnosis': (_mlopsdebug_common_v1_Diagnosis__Output | null);
}
