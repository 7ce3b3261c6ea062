// Original file: ../../protos/mlopsdebug/common/v1/common.proto


export interface SealedAnswerKey {
  'keyId'?: (string);
  'nonce'?: (Buffer | Uint8Array | string);
  'ciphertext'?: (Buffer | Uint8Array | string);
  'scenarioId'?: (string);
}

export interface SealedAnswerKey__Output {
  'keyId': (string);
  'nonce': (Buffer);
  'ciphertext': (Buffer);
  'scenarioId': (string);
}
