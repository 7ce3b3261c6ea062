// Original file: ../../protos/mlopsdebug/common/v1/common.proto

import type { ArtifactName as _mlopsdebug_common_v1_ArtifactName, ArtifactName__Output as _mlopsdebug_common_v1_ArtifactName__Output } from '../../../mlopsdebug/common/v1/ArtifactName';

export interface Artifact {
  'name'?: (_mlopsdebug_common_v1_ArtifactName);
  'content'?: (string);
  'description'?: (string);
  'lastModified'?: (string);
}

export interface Artifact__Output {
  'name': (_mlopsdebug_common_v1_ArtifactName__Output);
  'content': (string);
  'description': (string);
  'lastModified': (string);
}
