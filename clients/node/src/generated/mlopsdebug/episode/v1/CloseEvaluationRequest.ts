// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface CloseEvaluationRequest {
  'evaluationId'?: (string);
  'operatorToken'?: (string);
}

export interface CloseEvaluationRequest__Output {
  'evaluationId': (string);
  'operatorToken': (string);
}
