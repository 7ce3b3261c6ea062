// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto


export interface ListTasksRequest {
}

export interface ListTasksRequest__Output {
}
