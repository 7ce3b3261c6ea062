// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ArtifactName as _mlopsdebug_common_v1_ArtifactName, ArtifactName__Output as _mlopsdebug_common_v1_ArtifactName__Output } from '../../../mlopsdebug/common/v1/ArtifactName';

export interface FieldValue {
  'artifact'?: (_mlopsdebug_common_v1_ArtifactName);
  'fieldPath'?: (string);
  'found'?: (boolean);
  'valueJson'?: (string);
  'availableKeys'?: (string)[];
}

export interface FieldValue__Output {
  'artifact': (_mlopsdebug_common_v1_ArtifactName__Output);
  'fieldPath': (string);
  'found': (boolean);
  'valueJson': (string);
  'availableKeys': (string)[];
}
