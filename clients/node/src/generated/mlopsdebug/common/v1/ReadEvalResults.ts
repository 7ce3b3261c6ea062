// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface ReadEvalResults {
}

export interface ReadEvalResults__Output {
}
