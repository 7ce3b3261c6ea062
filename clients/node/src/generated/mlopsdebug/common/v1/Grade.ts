// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { GradeComponent as _mlopsdebug_common_v1_GradeComponent, GradeComponent__Output as _mlopsdebug_common_v1_GradeComponent__Output } from '../../../mlopsdebug/common/v1/GradeComponent';
import type { RevealedAnswer as _mlopsdebug_common_v1_RevealedAnswer, RevealedAnswer__Output as _mlopsdebug_common_v1_RevealedAnswer__Output } from '../../../mlopsdebug/common/v1/RevealedAnswer';

export interface Grade {
  'score'?: (number | string);
  'rawScore'?: (number | string);
  'asymmetricPenalty'?: (boolean);
  'components'?: (_mlopsdebug_common_v1_GradeComponent)[];
  'answer'?: (_mlopsdebug_common_v1_RevealedAnswer | null);
  'graderVersion'?: (string);
}

export interface Grade__Output {
  'score': (number);
  'rawScore': (number);
  'asymmetricPenalty': (boolean);
  'components': (_mlopsdebug_common_v1_GradeComponent__Output)[];
  'answer': (_mlopsdebug_common_v1_RevealedAnswer__Output | null);
  'graderVersion': (string);
}
