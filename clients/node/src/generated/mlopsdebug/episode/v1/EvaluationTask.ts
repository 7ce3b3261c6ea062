// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface EvaluationTask {
  'taskId'?: (string);
  'episodes'?: (number);
}

export interface EvaluationTask__Output {
  'taskId': (string);
  'episodes': (number);
}
