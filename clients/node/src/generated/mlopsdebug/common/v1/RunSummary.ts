// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { TrainingStatus as _mlopsdebug_common_v1_TrainingStatus, TrainingStatus__Output as _mlopsdebug_common_v1_TrainingStatus__Output } from '../../../mlopsdebug/common/v1/TrainingStatus';

export interface RunSummary {
  'runId'?: (string);
  'model'?: (string);
  'dataset'?: (string);
  'modality'?: (string);
  'trainingStatus'?: (_mlopsdebug_common_v1_TrainingStatus);
  'epochsPlanned'?: (number);
  'epochsCompleted'?: (number);
  'finalTrainLoss'?: (number | string);
  'finalValLoss'?: (number | string);
  'primaryMetric'?: (string);
  'valMetric'?: (number | string);
  'testMetric'?: (number | string);
  'wallClockSeconds'?: (number | string);
  'startedAt'?: (string);
}

export interface RunSummary__Output {
  'runId': (string);
  'model': (string);
  'dataset': (string);
  'modality': (string);
  'trainingStatus': (_mlopsdebug_common_v1_TrainingStatus__Output);
  'epochsPlanned': (number);
  'epochsCompleted': (number);
  'finalTrainLoss': (number);
  'finalValLoss': (number);
  'primaryMetric': (string);
  'valMetric': (number);
  'testMetric': (number);
  'wallClockSeconds': (number);
  'startedAt': (string);
}
