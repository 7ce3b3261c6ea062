// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface ReadLogs {
  'logFilter'?: (string);
}

export interface ReadLogs__Output {
  'logFilter': (string);
}
