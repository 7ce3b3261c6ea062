// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface EvaluationTaskScore {
  'taskId'?: (string);
  'episodes'?: (number);
  'graded'?: (number);
  'meanScore'?: (number | string);
}

export interface EvaluationTaskScore__Output {
  'taskId': (string);
  'episodes': (number);
  'graded': (number);
  'meanScore': (number);
}
