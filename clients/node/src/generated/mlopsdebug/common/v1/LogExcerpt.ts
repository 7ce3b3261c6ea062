// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface LogExcerpt {
  'logFilter'?: (string);
  'content'?: (string);
  'matchedLines'?: (number);
  'totalLines'?: (number);
}

export interface LogExcerpt__Output {
  'logFilter': (string);
  'content': (string);
  'matchedLines': (number);
  'totalLines': (number);
}
