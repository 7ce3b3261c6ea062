// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface GetEvaluationRequest {
  'evaluationId'?: (string);
}

export interface GetEvaluationRequest__Output {
  'evaluationId': (string);
}
