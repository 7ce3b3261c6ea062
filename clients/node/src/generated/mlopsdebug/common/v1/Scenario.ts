// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { RunSummary as _mlopsdebug_common_v1_RunSummary, RunSummary__Output as _mlopsdebug_common_v1_RunSummary__Output } from '../../../mlopsdebug/common/v1/RunSummary';
import type { Artifact as _mlopsdebug_common_v1_Artifact, Artifact__Output as _mlopsdebug_common_v1_Artifact__Output } from '../../../mlopsdebug/common/v1/Artifact';
import type { SanityCheckResult as _mlopsdebug_common_v1_SanityCheckResult, SanityCheckResult__Output as _mlopsdebug_common_v1_SanityCheckResult__Output } from '../../../mlopsdebug/common/v1/SanityCheckResult';
import type { SealedAnswerKey as _mlopsdebug_common_v1_SealedAnswerKey, SealedAnswerKey__Output as _mlopsdebug_common_v1_SealedAnswerKey__Output } from '../../../mlopsdebug/common/v1/SealedAnswerKey';
import type { Long } from '@grpc/proto-loader';

export interface Scenario {
  'scenarioId'?: (string);
  'taskId'?: (string);
  'seed'?: (number | string | Long);
  'generatorVersion'?: (string);
  'runSummary'?: (_mlopsdebug_common_v1_RunSummary | null);
  'artifacts'?: (_mlopsdebug_common_v1_Artifact)[];
  'sanityChecks'?: (_mlopsdebug_common_v1_SanityCheckResult)[];
  'answerKey'?: (_mlopsdebug_common_v1_SealedAnswerKey | null);
}

export interface Scenario__Output {
  'scenarioId': (string);
  'taskId': (string);
  'seed': (number);
  'generatorVersion': (string);
  'runSummary': (_mlopsdebug_common_v1_RunSummary__Output | null);
  'artifacts': (_mlopsdebug_common_v1_Artifact__Output)[];
  'sanityChecks': (_mlopsdebug_common_v1_SanityCheckResult__Output)[];
  'answerKey': (_mlopsdebug_common_v1_SealedAnswerKey__Output | null);
}
