// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type { Long } from '@grpc/proto-loader';

export interface ResetRequest {
  'taskId'?: (string);
  'seed'?: (number | string | Long);
  'episodeId'?: (string);
  'evaluationId'?: (string);
  '_seed'?: "seed";
}

export interface ResetRequest__Output {
  'taskId': (string);
  'seed'?: (number);
  'episodeId': (string);
  'evaluationId': (string);
  '_seed'?: "seed";
}
