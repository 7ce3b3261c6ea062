// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ArtifactContent as _mlopsdebug_common_v1_ArtifactContent, ArtifactContent__Output as _mlopsdebug_common_v1_ArtifactContent__Output } from '../../../mlopsdebug/common/v1/ArtifactContent';
import type { LogExcerpt as _mlopsdebug_common_v1_LogExcerpt, LogExcerpt__Output as _mlopsdebug_common_v1_LogExcerpt__Output } from '../../../mlopsdebug/common/v1/LogExcerpt';
import type { SanityCheckResult as _mlopsdebug_common_v1_SanityCheckResult, SanityCheckResult__Output as _mlopsdebug_common_v1_SanityCheckResult__Output } from '../../../mlopsdebug/common/v1/SanityCheckResult';
import type { FieldValue as _mlopsdebug_common_v1_FieldValue, FieldValue__Output as _mlopsdebug_common_v1_FieldValue__Output } from '../../../mlopsdebug/common/v1/FieldValue';
import type { Grade as _mlopsdebug_common_v1_Grade, Grade__Output as _mlopsdebug_common_v1_Grade__Output } from '../../../mlopsdebug/common/v1/Grade';

export interface ActionResult {
  'artifact'?: (_mlopsdebug_common_v1_ArtifactContent | null);
  'logs'?: (_mlopsdebug_common_v1_LogExcerpt | null);
  'sanityCheck'?: (_mlopsdebug_common_v1_SanityCheckResult | null);
  'field'?: (_mlopsdebug_common_v1_FieldValue | null);
  'grade'?: (_mlopsdebug_common_v1_Grade | null);
  'result'?: "artifact"|"logs"|"sanityCheck"|"field"|"grade";
}

export interface ActionResult__Output {
  'artifact'?: (_mlopsdebug_common_v1_ArtifactContent__Output | null);
  'logs'?: (_mlopsdebug_common_v1_LogExcerpt__Output | null);
  'sanityCheck'?: (_mlopsdebug_common_v1_SanityCheckResult__Output | null);
  'field'?: (_mlopsdebug_common_v1_FieldValue__Output | null);
  'grade'?: (_mlopsdebug_common_v1_Grade__Output | null);
  'result'?: "artifact"|"logs"|"sanityCheck"|"field"|"grade";
}
