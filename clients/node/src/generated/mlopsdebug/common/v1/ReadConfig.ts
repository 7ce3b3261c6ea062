// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface ReadConfig {
}

export interface ReadConfig__Output {
}
