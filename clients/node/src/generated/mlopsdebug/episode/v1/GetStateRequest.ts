// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface GetStateRequest {
  'episodeId'?: (string);
}

export interface GetStateRequest__Output {
  'episodeId': (string);
}
