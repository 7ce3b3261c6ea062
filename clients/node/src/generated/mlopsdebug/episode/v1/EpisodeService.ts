// Original file: ../../protos/mlopsdebug/episode/v1/episode_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CloseEpisodeRequest as _mlopsdebug_episode_v1_CloseEpisodeRequest, CloseEpisodeRequest__Output as _mlopsdebug_episode_v1_CloseEpisodeRequest__Output } from '../../../mlopsdebug/episode/v1/CloseEpisodeRequest';
import type { CloseEpisodeResponse as _mlopsdebug_episode_v1_CloseEpisodeResponse, CloseEpisodeResponse__Output as _mlopsdebug_episode_v1_CloseEpisodeResponse__Output } from '../../../mlopsdebug/episode/v1/CloseEpisodeResponse';
import type { CloseEvaluationRequest as _mlopsdebug_episode_v1_CloseEvaluationRequest, CloseEvaluationRequest__Output as _mlopsdebug_episode_v1_CloseEvaluationRequest__Output } from '../../../mlopsdebug/episode/v1/CloseEvaluationRequest';
import type { CloseEvaluationResponse as _mlopsdebug_episode_v1_CloseEvaluationResponse, CloseEvaluationResponse__Output as _mlopsdebug_episode_v1_CloseEvaluationResponse__Output } from '../../../mlopsdebug/episode/v1/CloseEvaluationResponse';
import type { CreateEvaluationRequest as _mlopsdebug_episode_v1_CreateEvaluationRequest, CreateEvaluationRequest__Output as _mlopsdebug_episode_v1_CreateEvaluationRequest__Output } from '../../../mlopsdebug/episode/v1/CreateEvaluationRequest';
import type { CreateEvaluationResponse as _mlopsdebug_episode_v1_CreateEvaluationResponse, CreateEvaluationResponse__Output as _mlopsdebug_episode_v1_CreateEvaluationResponse__Output } from '../../../mlopsdebug/episode/v1/CreateEvaluationResponse';
import type { GetEvaluationRequest as _mlopsdebug_episode_v1_GetEvaluationRequest, GetEvaluationRequest__Output as _mlopsdebug_episode_v1_GetEvaluationRequest__Output } from '../../../mlopsdebug/episode/v1/GetEvaluationRequest';
import type { GetEvaluationResponse as _mlopsdebug_episode_v1_GetEvaluationResponse, GetEvaluationResponse__Output as _mlopsdebug_episode_v1_GetEvaluationResponse__Output } from '../../../mlopsdebug/episode/v1/GetEvaluationResponse';
import type { GetStateRequest as _mlopsdebug_episode_v1_GetStateRequest, GetStateRequest__Output as _mlopsdebug_episode_v1_GetStateRequest__Output } from '../../../mlopsdebug/episode/v1/GetStateRequest';
import type { GetStateResponse as _mlopsdebug_episode_v1_GetStateResponse, GetStateResponse__Output as _mlopsdebug_episode_v1_GetStateResponse__Output } from '../../../mlopsdebug/episode/v1/GetStateResponse';
import type { ListTasksRequest as _mlopsdebug_episode_v1_ListTasksRequest, ListTasksRequest__Output as _mlopsdebug_episode_v1_ListTasksRequest__Output } from '../../../mlopsdebug/episode/v1/ListTasksRequest';
import type { ListTasksResponse as _mlopsdebug_episode_v1_ListTasksResponse, ListTasksResponse__Output as _mlopsdebug_episode_v1_ListTasksResponse__Output } from '../../../mlopsdebug/episode/v1/ListTasksResponse';
import type { ResetRequest as _mlopsdebug_episode_v1_ResetRequest, ResetRequest__Output as _mlopsdebug_episode_v1_ResetRequest__Output } from '../../../mlopsdebug/episode/v1/ResetRequest';
import type { ResetResponse as _mlopsdebug_episode_v1_ResetResponse, ResetResponse__Output as _mlopsdebug_episode_v1_ResetResponse__Output } from '../../../mlopsdebug/episode/v1/ResetResponse';
import type { SessionRequest as _mlopsdebug_episode_v1_SessionRequest, SessionRequest__Output as _mlopsdebug_episode_v1_SessionRequest__Output } from '../../../mlopsdebug/episode/v1/SessionRequest';
import type { SessionResponse as _mlopsdebug_episode_v1_SessionResponse, SessionResponse__Output as _mlopsdebug_episode_v1_SessionResponse__Output } from '../../../mlopsdebug/episode/v1/SessionResponse';
import type { StepBatchRequest as _mlopsdebug_episode_v1_StepBatchRequest, StepBatchRequest__Output as _mlopsdebug_episode_v1_StepBatchRequest__Output } from '../../../mlopsdebug/episode/v1/StepBatchRequest';
import type { StepBatchResponse as _mlopsdebug_episode_v1_StepBatchResponse, StepBatchResponse__Output as _mlopsdebug_episode_v1_StepBatchResponse__Output } from '../../../mlopsdebug/episode/v1/StepBatchResponse';
import type { StepRequest as _mlopsdebug_episode_v1_StepRequest, StepRequest__Output as _mlopsdebug_episode_v1_StepRequest__Output } from '../../../mlopsdebug/episode/v1/StepRequest';
import type { StepResponse as _mlopsdebug_episode_v1_StepResponse, StepResponse__Output as _mlopsdebug_episode_v1_StepResponse__Output } from '../../../mlopsdebug/episode/v1/StepResponse';

export interface EpisodeServiceClient extends grpc.Client {
  CloseEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  CloseEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  CloseEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  CloseEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  closeEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  closeEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  closeEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  closeEpisode(argument: _mlopsdebug_episode_v1_CloseEpisodeRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEpisodeResponse__Output>): grpc.ClientUnaryCall;
  
  CloseEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CloseEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CloseEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CloseEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  closeEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  closeEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  closeEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  closeEvaluation(argument: _mlopsdebug_episode_v1_CloseEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CloseEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
  CreateEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CreateEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CreateEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  CreateEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  createEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  createEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  createEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  createEvaluation(argument: _mlopsdebug_episode_v1_CreateEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_CreateEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
  GetEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  GetEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  GetEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  GetEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  getEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  getEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  getEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  getEvaluation(argument: _mlopsdebug_episode_v1_GetEvaluationRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
  GetState(argument: _mlopsdebug_episode_v1_GetStateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  GetState(argument: _mlopsdebug_episode_v1_GetStateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  GetState(argument: _mlopsdebug_episode_v1_GetStateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  GetState(argument: _mlopsdebug_episode_v1_GetStateRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  getState(argument: _mlopsdebug_episode_v1_GetStateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  getState(argument: _mlopsdebug_episode_v1_GetStateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  getState(argument: _mlopsdebug_episode_v1_GetStateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  getState(argument: _mlopsdebug_episode_v1_GetStateRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_GetStateResponse__Output>): grpc.ClientUnaryCall;
  
  ListTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  ListTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  ListTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  ListTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  listTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  listTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  listTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  listTasks(argument: _mlopsdebug_episode_v1_ListTasksRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ListTasksResponse__Output>): grpc.ClientUnaryCall;
  
  Reset(argument: _mlopsdebug_episode_v1_ResetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _mlopsdebug_episode_v1_ResetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _mlopsdebug_episode_v1_ResetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _mlopsdebug_episode_v1_ResetRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _mlopsdebug_episode_v1_ResetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _mlopsdebug_episode_v1_ResetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _mlopsdebug_episode_v1_ResetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _mlopsdebug_episode_v1_ResetRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_ResetResponse__Output>): grpc.ClientUnaryCall;
  
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionResponse__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionResponse__Output>;
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionResponse__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionResponse__Output>;
  
  Step(argument: _mlopsdebug_episode_v1_StepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _mlopsdebug_episode_v1_StepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _mlopsdebug_episode_v1_StepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  Step(argument: _mlopsdebug_episode_v1_StepRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _mlopsdebug_episode_v1_StepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _mlopsdebug_episode_v1_StepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _mlopsdebug_episode_v1_StepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  step(argument: _mlopsdebug_episode_v1_StepRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepResponse__Output>): grpc.ClientUnaryCall;
  
  StepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  StepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  StepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  StepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  stepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  stepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  stepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  stepBatch(argument: _mlopsdebug_episode_v1_StepBatchRequest, callback: grpc.requestCallback<_mlopsdebug_episode_v1_StepBatchResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface EpisodeServiceHandlers extends grpc.UntypedServiceImplementation {
  CloseEpisode: grpc.handleUnaryCall<_mlopsdebug_episode_v1_CloseEpisodeRequest__Output, _mlopsdebug_episode_v1_CloseEpisodeResponse>;
  
  CloseEvaluation: grpc.handleUnaryCall<_mlopsdebug_episode_v1_CloseEvaluationRequest__Output, _mlopsdebug_episode_v1_CloseEvaluationResponse>;
  
  CreateEvaluation: grpc.handleUnaryCall<_mlopsdebug_episode_v1_CreateEvaluationRequest__Output, _mlopsdebug_episode_v1_CreateEvaluationResponse>;
  
  GetEvaluation: grpc.handleUnaryCall<_mlopsdebug_episode_v1_GetEvaluationRequest__Output, _mlopsdebug_episode_v1_GetEvaluationResponse>;
  
  GetState: grpc.handleUnaryCall<_mlopsdebug_episode_v1_GetStateRequest__Output, _mlopsdebug_episode_v1_GetStateResponse>;
  
  ListTasks: grpc.handleUnaryCall<_mlopsdebug_episode_v1_ListTasksRequest__Output, _mlopsdebug_episode_v1_ListTasksResponse>;
  
  Reset: grpc.handleUnaryCall<_mlopsdebug_episode_v1_ResetRequest__Output, _mlopsdebug_episode_v1_ResetResponse>;
  
  Session: grpc.handleBidiStreamingCall<_mlopsdebug_episode_v1_SessionRequest__Output, _mlopsdebug_episode_v1_SessionResponse>;
  
  Step: grpc.handleUnaryCall<_mlopsdebug_episode_v1_StepRequest__Output, _mlopsdebug_episode_v1_StepResponse>;
  
  StepBatch: grpc.handleUnaryCall<_mlopsdebug_episode_v1_StepBatchRequest__Output, _mlopsdebug_episode_v1_StepBatchResponse>;
  
}

export interface EpisodeServiceDefinition extends grpc.ServiceDefinition {
  CloseEpisode: MethodDefinition<_mlopsdebug_episode_v1_CloseEpisodeRequest, _mlopsdebug_episode_v1_CloseEpisodeResponse, _mlopsdebug_episode_v1_CloseEpisodeRequest__Output, _mlopsdebug_episode_v1_CloseEpisodeResponse__Output>
  CloseEvaluation: MethodDefinition<_mlopsdebug_episode_v1_CloseEvaluationRequest, _mlopsdebug_episode_v1_CloseEvaluationResponse, _mlopsdebug_episode_v1_CloseEvaluationRequest__Output, _mlopsdebug_episode_v1_CloseEvaluationResponse__Output>
  CreateEvaluation: MethodDefinition<_mlopsdebug_episode_v1_CreateEvaluationRequest, _mlopsdebug_episode_v1_CreateEvaluationResponse, _mlopsdebug_episode_v1_CreateEvaluationRequest__Output, _mlopsdebug_episode_v1_CreateEvaluationResponse__Output>
  GetEvaluation: MethodDefinition<_mlopsdebug_episode_v1_GetEvaluationRequest, _mlopsdebug_episode_v1_GetEvaluationResponse, _mlopsdebug_episode_v1_GetEvaluationRequest__Output, _mlopsdebug_episode_v1_GetEvaluationResponse__Output>
  GetState: MethodDefinition<_mlopsdebug_episode_v1_GetStateRequest, _mlopsdebug_episode_v1_GetStateResponse, _mlopsdebug_episode_v1_GetStateRequest__Output, _mlopsdebug_episode_v1_GetStateResponse__Output>
  ListTasks: MethodDefinition<_mlopsdebug_episode_v1_ListTasksRequest, _mlopsdebug_episode_v1_ListTasksResponse, _mlopsdebug_episode_v1_ListTasksRequest__Output, _mlopsdebug_episode_v1_ListTasksResponse__Output>
  Reset: MethodDefinition<_mlopsdebug_episode_v1_ResetRequest, _mlopsdebug_episode_v1_ResetResponse, _mlopsdebug_episode_v1_ResetRequest__Output, _mlopsdebug_episode_v1_ResetResponse__Output>
  Session: MethodDefinition<_mlopsdebug_episode_v1_SessionRequest, _mlopsdebug_episode_v1_SessionResponse, _mlopsdebug_episode_v1_SessionRequest__Output, _mlopsdebug_episode_v1_SessionResponse__Output>
  Step: MethodDefinition<_mlopsdebug_episode_v1_StepRequest, _mlopsdebug_episode_v1_StepResponse, _mlopsdebug_episode_v1_StepRequest__Output, _mlopsdebug_episode_v1_StepResponse__Output>
  StepBatch: MethodDefinition<_mlopsdebug_episode_v1_StepBatchRequest, _mlopsdebug_episode_v1_StepBatchResponse, _mlopsdebug_episode_v1_StepBatchRequest__Output, _mlopsdebug_episode_v1_StepBatchResponse__Output>
}
