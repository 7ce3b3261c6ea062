// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface CheckDatasetStats {
}

export interface CheckDatasetStats__Output {
}
