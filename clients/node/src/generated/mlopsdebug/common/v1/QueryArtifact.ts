// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ArtifactName as _mlopsdebug_common_v1_ArtifactName, ArtifactName__Output as _mlopsdebug_common_v1_ArtifactName__Output } from '../../../mlopsdebug/common/v1/ArtifactName';

export interface QueryArtifact {
  'artifact'?: (_mlopsdebug_common_v1_ArtifactName);
  'fieldPath'?: (string);
}

export interface QueryArtifact__Output {
  'artifact': (_mlopsdebug_common_v1_ArtifactName__Output);
  'fieldPath': (string);
}
