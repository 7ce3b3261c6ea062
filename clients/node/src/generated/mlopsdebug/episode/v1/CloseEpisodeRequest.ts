// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface CloseEpisodeRequest {
  'episodeId'?: (string);
}

export interface CloseEpisodeRequest__Output {
  'episodeId': (string);
}
