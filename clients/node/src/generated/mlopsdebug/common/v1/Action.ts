// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ReadConfig as _mlopsdebug_common_v1_ReadConfig, ReadConfig__Output as _mlopsdebug_common_v1_ReadConfig__Output } from '../../../mlopsdebug/common/v1/ReadConfig';
import type { ReadLogs as _mlopsdebug_common_v1_ReadLogs, ReadLogs__Output as _mlopsdebug_common_v1_ReadLogs__Output } from '../../../mlopsdebug/common/v1/ReadLogs';
import type { CheckDatasetStats as _mlopsdebug_common_v1_CheckDatasetStats, CheckDatasetStats__Output as _mlopsdebug_common_v1_CheckDatasetStats__Output } from '../../../mlopsdebug/common/v1/CheckDatasetStats';
import type { InspectPreprocessing as _mlopsdebug_common_v1_InspectPreprocessing, InspectPreprocessing__Output as _mlopsdebug_common_v1_InspectPreprocessing__Output } from '../../../mlopsdebug/common/v1/InspectPreprocessing';
import type { ReadEvalResults as _mlopsdebug_common_v1_ReadEvalResults, ReadEvalResults__Output as _mlopsdebug_common_v1_ReadEvalResults__Output } from '../../../mlopsdebug/common/v1/ReadEvalResults';
import type { RunSanityCheck as _mlopsdebug_common_v1_RunSanityCheck, RunSanityCheck__Output as _mlopsdebug_common_v1_RunSanityCheck__Output } from '../../../mlopsdebug/common/v1/RunSanityCheck';
import type { QueryArtifact as _mlopsdebug_common_v1_QueryArtifact, QueryArtifact__Output as _mlopsdebug_common_v1_QueryArtifact__Output } from '../../../mlopsdebug/common/v1/QueryArtifact';
import type { SubmitDiagnosis as _mlopsdebug_common_v1_SubmitDiagnosis, SubmitDiagnosis__Output as _mlopsdebug_common_v1_SubmitDiagnosis__Output } from '../../../mlopsdebug/common/v1/SubmitDiagnosis';

export interface Action {
  'readConfig'?: (_mlopsdebug_common_v1_ReadConfig | null);
  'readLogs'?: (_mlopsdebug_common_v1_ReadLogs | null);
  'checkDatasetStats'?: (_mlopsdebug_common_v1_CheckDatasetStats | null);
  'inspectPreprocessing'?: (_mlopsdebug_common_v1_InspectPreprocessing | null);
  'readEvalResults'?: (_mlopsdebug_common_v1_ReadEvalResults | null);
  'runSanityCheck'?: (_mlopsdebug_common_v1_RunSanityCheck | null);
  'queryArtifact'?: (_mlopsdebug_common_v1_QueryArtifact | null);
  'submitDiagnosis'?: (_mlopsdebug_common_v1_SubmitDiagnosis | null);
  'kind'?: "readConfig"|"readLogs"|"checkDatasetStats"|"inspectPreprocessing"|"readEvalResults"|"runSanityCheck"|"queryArtifact"|"submitDiagnosis";
}

export interface Action__Output {
  'readConfig'?: (_mlopsdebug_common_v1_ReadConfig__Output | null);
  'readLogs'?: (_mlopsdebug_common_v1_ReadLogs__Output | null);
  'checkDatasetStats'?: (_mlopsdebug_common_v1_CheckDatasetStats__Output | null);
  'inspectPreprocessing'?: (_mlopsdebug_common_v1_InspectPreprocessing__Output | null);
  'readEvalResults'?: (_mlopsdebug_common_v1_ReadEvalResults__Output | null);
  'runSanityCheck'?: (_mlopsdebug_common_v1_RunSanityCheck__Output | null);
  'queryArtifact'?: (_mlopsdebug_common_v1_QueryArtifact__Output | null);
  'submitDiagnosis'?: (_mlopsdebug_common_v1_SubmitDiagnosis__Output | null);
  'kind'?: "readConfig"|"readLogs"|"checkDatasetStats"|"inspectPreprocessing"|"readEvalResults"|"runSanityCheck"|"queryArtifact"|"submitDiagnosis";
}
