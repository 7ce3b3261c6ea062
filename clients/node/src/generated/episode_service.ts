import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from './google/rpc/Status';
import type { Action as _mlopsdebug_common_v1_Action, Action__Output as _mlopsdebug_common_v1_Action__Output } from './mlopsdebug/common/v1/Action';
import type { ActionResult as _mlopsdebug_common_v1_ActionResult, ActionResult__Output as _mlopsdebug_common_v1_ActionResult__Output } from './mlopsdebug/common/v1/ActionResult';
import type { Artifact as _mlopsdebug_common_v1_Artifact, Artifact__Output as _mlopsdebug_common_v1_Artifact__Output } from './mlopsdebug/common/v1/Artifact';
import type { ArtifactContent as _mlopsdebug_common_v1_ArtifactContent, ArtifactContent__Output as _mlopsdebug_common_v1_ArtifactContent__Output } from './mlopsdebug/common/v1/ArtifactContent';
import type { ArtifactMeta as _mlopsdebug_common_v1_ArtifactMeta, ArtifactMeta__Output as _mlopsdebug_common_v1_ArtifactMeta__Output } from './mlopsdebug/common/v1/ArtifactMeta';
import type { CheckDatasetStats as _mlopsdebug_common_v1_CheckDatasetStats, CheckDatasetStats__Output as _mlopsdebug_common_v1_CheckDatasetStats__Output } from './mlopsdebug/common/v1/CheckDatasetStats';
import type { Diagnosis as _mlopsdebug_common_v1_Diagnosis, Diagnosis__Output as _mlopsdebug_common_v1_Diagnosis__Output } from './mlopsdebug/common/v1/Diagnosis';
import type { FieldValue as _mlopsdebug_common_v1_FieldValue, FieldValue__Output as _mlopsdebug_common_v1_FieldValue__Output } from './mlopsdebug/common/v1/FieldValue';
import type { Grade as _mlopsdebug_common_v1_Grade, Grade__Output as _mlopsdebug_common_v1_Grade__Output } from './mlopsdebug/common/v1/Grade';
import type { GradeComponent as _mlopsdebug_common_v1_GradeComponent, GradeComponent__Output as _mlopsdebug_common_v1_GradeComponent__Output } from './mlopsdebug/common/v1/GradeComponent';
import type { InspectPreprocessing as _mlopsdebug_common_v1_InspectPreprocessing, InspectPreprocessing__Output as _mlopsdebug_common_v1_InspectPreprocessing__Output } from './mlopsdebug/common/v1/InspectPreprocessing';
import type { LogExcerpt as _mlopsdebug_common_v1_LogExcerpt, LogExcerpt__Output as _mlopsdebug_common_v1_LogExcerpt__Output } from './mlopsdebug/common/v1/LogExcerpt';
import type { Observation as _mlopsdebug_common_v1_Observation, Observation__Output as _mlopsdebug_common_v1_Observation__Output } from './mlopsdebug/common/v1/Observation';
import type { QueryArtifact as _mlopsdebug_common_v1_QueryArtifact, QueryArtifact__Output as _mlopsdebug_common_v1_QueryArtifact__Output } from './mlopsdebug/common/v1/QueryArtifact';
import type { ReadConfig as _mlopsdebug_common_v1_ReadConfig, ReadConfig__Output as _mlopsdebug_common_v1_ReadConfig__Output } from './mlopsdebug/common/v1/ReadConfig';
import type { ReadEvalResults as _mlopsdebug_common_v1_ReadEvalResults, ReadEvalResults__Output as _mlopsdebug_common_v1_ReadEvalResults__Output } from './mlopsdebug/common/v1/ReadEvalResults';
import type { ReadLogs as _mlopsdebug_common_v1_ReadLogs, ReadLogs__Output as _mlopsdebug_common_v1_ReadLogs__Output } from './mlopsdebug/common/v1/ReadLogs';
import type { RevealedAnswer as _mlopsdebug_common_v1_RevealedAnswer, RevealedAnswer__Output as _mlopsdebug_common_v1_RevealedAnswer__Output } from './mlopsdebug/common/v1/RevealedAnswer';
import type { RunSanityCheck as _mlopsdebug_common_v1_RunSanityCheck, RunSanityCheck__Output as _mlopsdebug_common_v1_RunSanityCheck__Output } from './mlopsdebug/common/v1/RunSanityCheck';
import type { RunSummary as _mlopsdebug_common_v1_RunSummary, RunSummary__Output as _mlopsdebug_common_v1_RunSummary__Output } from './mlopsdebug/common/v1/RunSummary';
import type { SanityCheckResult as _mlopsdebug_common_v1_SanityCheckResult, SanityCheckResult__Output as _mlopsdebug_common_v1_SanityCheckResult__Output } from './mlopsdebug/common/v1/SanityCheckResult';
import type { Scenario as _mlopsdebug_common_v1_Scenario, Scenario__Output as _mlopsdebug_common_v1_Scenario__Output } from './mlopsdebug/common/v1/Scenario';
import type { SealedAnswerKey as _mlopsdebug_common_v1_SealedAnswerKey, SealedAnswerKey__Output as _mlopsdebug_common_v1_SealedAnswerKey__Output } from './mlopsdebug/common/v1/SealedAnswerKey';
import type { SubmitDiagnosis as _mlopsdebug_common_v1_SubmitDiagnosis, SubmitDiagnosis__Output as _mlopsdebug_common_v1_SubmitDiagnosis__Output } from './mlopsdebug/common/v1/SubmitDiagnosis';
import type { TaskInfo as _mlopsdebug_common_v1_TaskInfo, TaskInfo__Output as _mlopsdebug_common_v1_TaskInfo__Output } from './mlopsdebug/common/v1/TaskInfo';
import type { CloseEpisodeRequest as _mlopsdebug_episode_v1_CloseEpisodeRequest, CloseEpisodeRequest__Output as _mlopsdebug_episode_v1_CloseEpisodeRequest__Output } from './mlopsdebug/episode/v1/CloseEpisodeRequest';
import type { CloseEpisodeResponse as _mlopsdebug_episode_v1_CloseEpisodeResponse, CloseEpisodeResponse__Output as _mlopsdebug_episode_v1_CloseEpisodeResponse__Output } from './mlopsdebug/episode/v1/CloseEpisodeResponse';
import type { CloseEvaluationRequest as _mlopsdebug_episode_v1_CloseEvaluationRequest, CloseEvaluationRequest__Output as _mlopsdebug_episode_v1_CloseEvaluationRequest__Output } from './mlopsdebug/episode/v1/CloseEvaluationRequest';
import type { CloseEvaluationResponse as _mlopsdebug_episode_v1_CloseEvaluationResponse, CloseEvaluationResponse__Output as _mlopsdebug_episode_v1_CloseEvaluationResponse__Output } from './mlopsdebug/episode/v1/CloseEvaluationResponse';
import type { CreateEvaluationRequest as _mlopsdebug_episode_v1_CreateEvaluationRequest, CreateEvaluationRequest__Output as _mlopsdebug_episode_v1_CreateEvaluationRequest__Output } from './mlopsdebug/episode/v1/CreateEvaluationRequest';
import type { CreateEvaluationResponse as _mlopsdebug_episode_v1_CreateEvaluationResponse, CreateEvaluationResponse__Output as _mlopsdebug_episode_v1_CreateEvaluationResponse__Output } from './mlopsdebug/episode/v1/CreateEvaluationResponse';
import type { EpisodeServiceClient as _mlopsdebug_episode_v1_EpisodeServiceClient, EpisodeServiceDefinition as _mlopsdebug_episode_v1_EpisodeServiceDefinition } from './mlopsdebug/episode/v1/EpisodeService';
import type { EpisodeStateInfo as _mlopsdebug_episode_v1_EpisodeStateInfo, EpisodeStateInfo__Output as _mlopsdebug_episode_v1_EpisodeStateInfo__Output } from './mlopsdebug/episode/v1/EpisodeStateInfo';
import type { EvaluationEpisode as _mlopsdebug_episode_v1_EvaluationEpisode, EvaluationEpisode__Output as _mlopsdebug_episode_v1_EvaluationEpisode__Output } from './mlopsdebug/episode/v1/EvaluationEpisode';
import type { EvaluationProgress as _mlopsdebug_episode_v1_EvaluationProgress, EvaluationProgress__Output as _mlopsdebug_episode_v1_EvaluationProgress__Output } from './mlopsdebug/episode/v1/EvaluationProgress';
import type { EvaluationReport as _mlopsdebug_episode_v1_EvaluationReport, EvaluationReport__Output as _mlopsdebug_episode_v1_EvaluationReport__Output } from './mlopsdebug/episode/v1/EvaluationReport';
import type { EvaluationTask as _mlopsdebug_episode_v1_EvaluationTask, EvaluationTask__Output as _mlopsdebug_episode_v1_EvaluationTask__Output } from './mlopsdebug/episode/v1/EvaluationTask';
import type { EvaluationTaskProgress as _mlopsdebug_episode_v1_EvaluationTaskProgress, EvaluationTaskProgress__Output as _mlopsdebug_episode_v1_EvaluationTaskProgress__Output } from './mlopsdebug/episode/v1/EvaluationTaskProgress';
import type { EvaluationTaskScore as _mlopsdebug_episode_v1_EvaluationTaskScore, EvaluationTaskScore__Output as _mlopsdebug_episode_v1_EvaluationTaskScore__Output } from './mlopsdebug/episode/v1/EvaluationTaskScore';
import type { GetEvaluationRequest as _mlopsdebug_episode_v1_GetEvaluationRequest, GetEvaluationRequest__Output as _mlopsdebug_episode_v1_GetEvaluationRequest__Output } from './mlopsdebug/episode/v1/GetEvaluationRequest';
import type { GetEvaluationResponse as _mlopsdebug_episode_v1_GetEvaluationResponse, GetEvaluationResponse__Output as _mlopsdebug_episode_v1_GetEvaluationResponse__Output } from './mlopsdebug/episode/v1/GetEvaluationResponse';
import type { GetStateRequest as _mlopsdebug_episode_v1_GetStateRequest, GetStateRequest__Output as _mlopsdebug_episode_v1_GetStateRequest__Output } from './mlopsdebug/episode/v1/GetStateRequest';
import type { GetStateResponse as _mlopsdebug_episode_v1_GetStateResponse, GetStateResponse__Output as _mlopsdebug_episode_v1_GetStateResponse__Output } from './mlopsdebug/episode/v1/GetStateResponse';
import type { ListTasksRequest as _mlopsdebug_episode_v1_ListTasksRequest, ListTasksRequest__Output as _mlopsdebug_episode_v1_ListTasksRequest__Output } from './mlopsdebug/episode/v1/ListTasksRequest';
import type { ListTasksResponse as _mlopsdebug_episode_v1_ListTasksResponse, ListTasksResponse__Output as _mlopsdebug_episode_v1_ListTasksResponse__Output } from './mlopsdebug/episode/v1/ListTasksResponse';
import type { ResetRequest as _mlopsdebug_episode_v1_ResetRequest, ResetRequest__Output as _mlopsdebug_episode_v1_ResetRequest__Output } from './mlopsdebug/episode/v1/ResetRequest';
import type { ResetResponse as _mlopsdebug_episode_v1_ResetResponse, ResetResponse__Output as _mlopsdebug_episode_v1_ResetResponse__Output } from './mlopsdebug/episode/v1/ResetResponse';
import type { SessionRequest as _mlopsdebug_episode_v1_SessionRequest, SessionRequest__Output as _mlopsdebug_episode_v1_SessionRequest__Output } from './mlopsdebug/episode/v1/SessionRequest';
import type { SessionResponse as _mlopsdebug_episode_v1_SessionResponse, SessionResponse__Output as _mlopsdebug_episode_v1_SessionResponse__Output } from './mlopsdebug/episode/v1/SessionResponse';
import type { StepBatchRequest as _mlopsdebug_episode_v1_StepBatchRequest, StepBatchRequest__Output as _mlopsdebug_episode_v1_StepBatchRequest__Output } from './mlopsdebug/episode/v1/StepBatchRequest';
import type { StepBatchResponse as _mlopsdebug_episode_v1_StepBatchResponse, StepBatchResponse__Output as _mlopsdebug_episode_v1_StepBatchResponse__Output } from './mlopsdebug/episode/v1/StepBatchResponse';
import type { StepBatchResult as _mlopsdebug_episode_v1_StepBatchResult, StepBatchResult__Output as _mlopsdebug_episode_v1_StepBatchResult__Output } from './mlopsdebug/episode/v1/StepBatchResult';
import type { StepRequest as _mlopsdebug_episode_v1_StepRequest, StepRequest__Output as _mlopsdebug_episode_v1_StepRequest__Output } from './mlopsdebug/episode/v1/StepRequest';
import type { StepResponse as _mlopsdebug_episode_v1_StepResponse, StepResponse__Output as _mlopsdebug_episode_v1_StepResponse__Output } from './mlopsdebug/episode/v1/StepResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any, _google_protobuf_Any__Output>
    }
    rpc: {
      Status: MessageTypeDefinition<_google_rpc_Status, _google_rpc_Status__Output>
    }
  }
  mlopsdebug: {
    common: {
      v1: {
        Action: MessageTypeDefinition<_mlopsdebug_common_v1_Action, _mlopsdebug_common_v1_Action__Output>
        ActionResult: MessageTypeDefinition<_mlopsdebug_common_v1_ActionResult, _mlopsdebug_common_v1_ActionResult__Output>
        Artifact: MessageTypeDefinition<_mlopsdebug_common_v1_Artifact, _mlopsdebug_common_v1_Artifact__Output>
        ArtifactContent: MessageTypeDefinition<_mlopsdebug_common_v1_ArtifactContent, _mlopsdebug_common_v1_ArtifactContent__Output>
        ArtifactMeta: MessageTypeDefinition<_mlopsdebug_common_v1_ArtifactMeta, _mlopsdebug_common_v1_ArtifactMeta__Output>
        ArtifactName: EnumTypeDefinition
        CheckDatasetStats: MessageTypeDefinition<_mlopsdebug_common_v1_CheckDatasetStats, _mlopsdebug_common_v1_CheckDatasetStats__Output>
        CheckStatus: EnumTypeDefinition
        Diagnosis: MessageTypeDefinition<_mlopsdebug_common_v1_Diagnosis, _mlopsdebug_common_v1_Diagnosis__Output>
        Difficulty: EnumTypeDefinition
        EpisodeState: EnumTypeDefinition
        FailureCategory: EnumTypeDefinition
        FaultSplit: EnumTypeDefinition
        FieldValue: MessageTypeDefinition<_mlopsdebug_common_v1_FieldValue, _mlopsdebug_common_v1_FieldValue__Output>
        Grade: MessageTypeDefinition<_mlopsdebug_common_v1_Grade, _mlopsdebug_common_v1_Grade__Output>
        GradeComponent: MessageTypeDefinition<_mlopsdebug_common_v1_GradeComponent, _mlopsdebug_common_v1_GradeComponent__Output>
        GradeComponentKind: EnumTypeDefinition
        InspectPreprocessing: MessageTypeDefinition<_mlopsdebug_common_v1_InspectPreprocessing, _mlopsdebug_common_v1_InspectPreprocessing__Output>
        LogExcerpt: MessageTypeDefinition<_mlopsdebug_common_v1_LogExcerpt, _mlopsdebug_common_v1_LogExcerpt__Output>
        Observation: MessageTypeDefinition<_mlopsdebug_common_v1_Observation, _mlopsdebug_common_v1_Observation__Output>
        QueryArtifact: MessageTypeDefinition<_mlopsdebug_common_v1_QueryArtifact, _mlopsdebug_common_v1_QueryArtifact__Output>
        ReadConfig: MessageTypeDefinition<_mlopsdebug_common_v1_ReadConfig, _mlopsdebug_common_v1_ReadConfig__Output>
        ReadEvalResults: MessageTypeDefinition<_mlopsdebug_common_v1_ReadEvalResults, _mlopsdebug_common_v1_ReadEvalResults__Output>
        ReadLogs: MessageTypeDefinition<_mlopsdebug_common_v1_ReadLogs, _mlopsdebug_common_v1_ReadLogs__Output>
        RevealedAnswer: MessageTypeDefinition<_mlopsdebug_common_v1_RevealedAnswer, _mlopsdebug_common_v1_RevealedAnswer__Output>
        RunSanityCheck: MessageTypeDefinition<_mlopsdebug_common_v1_RunSanityCheck, _mlopsdebug_common_v1_RunSanityCheck__Output>
        RunSummary: MessageTypeDefinition<_mlopsdebug_common_v1_RunSummary, _mlopsdebug_common_v1_RunSummary__Output>
        SanityCheckResult: MessageTypeDefinition<_mlopsdebug_common_v1_SanityCheckResult, _mlopsdebug_common_v1_SanityCheckResult__Output>
        SanityCheckType: EnumTypeDefinition
        Scenario: MessageTypeDefinition<_mlopsdebug_common_v1_Scenario, _mlopsdebug_common_v1_Scenario__Output>
        SealedAnswerKey: MessageTypeDefinition<_mlopsdebug_common_v1_SealedAnswerKey, _mlopsdebug_common_v1_SealedAnswerKey__Output>
        SubmitDiagnosis: MessageTypeDefinition<_mlopsdebug_common_v1_SubmitDiagnosis, _mlopsdebug_common_v1_SubmitDiagnosis__Output>
        TaskInfo: MessageTypeDefinition<_mlopsdebug_common_v1_TaskInfo, _mlopsdebug_common_v1_TaskInfo__Output>
        TrainingStatus: EnumTypeDefinition
      }
    }
    episode: {
      v1: {
        CloseEpisodeRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_CloseEpisodeRequest, _mlopsdebug_episode_v1_CloseEpisodeRequest__Output>
        CloseEpisodeResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_CloseEpisodeResponse, _mlopsdebug_episode_v1_CloseEpisodeResponse__Output>
        CloseEvaluationRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_CloseEvaluationRequest, _mlopsdebug_episode_v1_CloseEvaluationRequest__Output>
        CloseEvaluationResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_CloseEvaluationResponse, _mlopsdebug_episode_v1_CloseEvaluationResponse__Output>
        CreateEvaluationRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_CreateEvaluationRequest, _mlopsdebug_episode_v1_CreateEvaluationRequest__Output>
        CreateEvaluationResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_CreateEvaluationResponse, _mlopsdebug_episode_v1_CreateEvaluationResponse__Output>
        EpisodeService: SubtypeConstructor<typeof grpc.Client, _mlopsdebug_episode_v1_EpisodeServiceClient> & { service: _mlopsdebug_episode_v1_EpisodeServiceDefinition }
        EpisodeStateInfo: MessageTypeDefinition<_mlopsdebug_episode_v1_EpisodeStateInfo, _mlopsdebug_episode_v1_EpisodeStateInfo__Output>
        EvaluationEpisode: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationEpisode, _mlopsdebug_episode_v1_EvaluationEpisode__Output>
        EvaluationEpisodeStatus: EnumTypeDefinition
        EvaluationProgress: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationProgress, _mlopsdebug_episode_v1_EvaluationProgress__Output>
        EvaluationReport: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationReport, _mlopsdebug_episode_v1_EvaluationReport__Output>
        EvaluationState: EnumTypeDefinition
        EvaluationTask: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationTask, _mlopsdebug_episode_v1_EvaluationTask__Output>
        EvaluationTaskProgress: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationTaskProgress, _mlopsdebug_episode_v1_EvaluationTaskProgress__Output>
        EvaluationTaskScore: MessageTypeDefinition<_mlopsdebug_episode_v1_EvaluationTaskScore, _mlopsdebug_episode_v1_EvaluationTaskScore__Output>
        GetEvaluationRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_GetEvaluationRequest, _mlopsdebug_episode_v1_GetEvaluationRequest__Output>
        GetEvaluationResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_GetEvaluationResponse, _mlopsdebug_episode_v1_GetEvaluationResponse__Output>
        GetStateRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_GetStateRequest, _mlopsdebug_episode_v1_GetStateRequest__Output>
        GetStateResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_GetStateResponse, _mlopsdebug_episode_v1_GetStateResponse__Output>
        ListTasksRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_ListTasksRequest, _mlopsdebug_episode_v1_ListTasksRequest__Output>
        ListTasksResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_ListTasksResponse, _mlopsdebug_episode_v1_ListTasksResponse__Output>
        ResetRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_ResetRequest, _mlopsdebug_episode_v1_ResetRequest__Output>
        ResetResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_ResetResponse, _mlopsdebug_episode_v1_ResetResponse__Output>
        SessionRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionRequest__Output>
        SessionResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_SessionResponse, _mlopsdebug_episode_v1_SessionResponse__Output>
        StepBatchRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_StepBatchRequest, _mlopsdebug_episode_v1_StepBatchRequest__Output>
        StepBatchResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_StepBatchResponse, _mlopsdebug_episode_v1_StepBatchResponse__Output>
        StepBatchResult: MessageTypeDefinition<_mlopsdebug_episode_v1_StepBatchResult, _mlopsdebug_episode_v1_StepBatchResult__Output>
        StepRequest: MessageTypeDefinition<_mlopsdebug_episode_v1_StepRequest, _mlopsdebug_episode_v1_StepRequest__Output>
        StepResponse: MessageTypeDefinition<_mlopsdebug_episode_v1_StepResponse, _mlopsdebug_episode_v1_StepResponse__Output>
      }
    }
  }
}

