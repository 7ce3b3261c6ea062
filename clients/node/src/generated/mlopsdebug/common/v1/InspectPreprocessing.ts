// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface InspectPreprocessing {
}

export interface InspectPreprocessing__Output {
}
