// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ArtifactName as _mlopsdebug_common_v1_ArtifactName, ArtifactName__Output as _mlopsdebug_common_v1_ArtifactName__Output } from '../../../mlopsdebug/common/v1/ArtifactName';

export interface ArtifactMeta {
  'name'?: (_mlopsdebug_common_v1_ArtifactName);
  'fileName'?: (string);
  'description'?: (string);
  'sizeHint'?: (string);
  'lastModified'?: (string);
}

export interface ArtifactMeta__Output {
  'name': (_mlopsdebug_common_v1_ArtifactName__Output);
  'fileName': (string);
  'description': (string);
  'sizeHint': (string);
  'lastModified': (string);
}
