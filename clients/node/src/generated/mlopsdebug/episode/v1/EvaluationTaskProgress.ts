// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface EvaluationTaskProgress {
  'taskId'?: (string);
  'episodes'?: (number);
  'started'?: (number);
  'ended'?: (number);
}

export interface EvaluationTaskProgress__Output {
  'taskId': (string);
  'episodes': (number);
  'started': (number);
  'ended': (number);
}
