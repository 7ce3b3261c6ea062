/**
 * A typed, promise-based client of the episode service. It hides gRPC: every call resolves to the
 * response message (camelCase fields, enum values as names) or rejects with an `MLOpsDebugError`.
 */

import * as grpc from "@grpc/grpc-js";

import { errorFromServiceError, errorFromStatus, MLOpsDebugError } from "./errors";
import type { Status__Output } from "./generated/google/rpc/Status";
import type { Action } from "./generated/mlopsdebug/common/v1/Action";
import type { TaskInfo__Output } from "./generated/mlopsdebug/common/v1/TaskInfo";
import type { CloseEpisodeResponse__Output } from "./generated/mlopsdebug/episode/v1/CloseEpisodeResponse";
import type { EpisodeServiceClient } from "./generated/mlopsdebug/episode/v1/EpisodeService";
import type { EpisodeStateInfo__Output } from "./generated/mlopsdebug/episode/v1/EpisodeStateInfo";
import type { GetStateResponse__Output } from "./generated/mlopsdebug/episode/v1/GetStateResponse";
import type { ListTasksResponse__Output } from "./generated/mlopsdebug/episode/v1/ListTasksResponse";
import type { ResetResponse__Output } from "./generated/mlopsdebug/episode/v1/ResetResponse";
import type { SessionRequest } from "./generated/mlopsdebug/episode/v1/SessionRequest";
import type { SessionResponse__Output } from "./generated/mlopsdebug/episode/v1/SessionResponse";
import type { StepBatchResponse__Output } from "./generated/mlopsdebug/episode/v1/StepBatchResponse";
import type { StepResponse__Output } from "./generated/mlopsdebug/episode/v1/StepResponse";
import { DEFAULT_PROTO_ROOT, loadEpisodeProtos } from "./protos";

/** At most this many steps per StepBatch (the service's limit). */
export const STEP_BATCH_MAX_STEPS = 64;

/** The server's message-size limit; observations are well below it. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface ClientOptions {
  /** Deadline of each unary call, and of each request on a Session stream; default 30 s. */
  timeoutMs?: number;
  /** Where the contracts' .proto files are; default the repository's protos/. */
  protoRoot?: string;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

export interface ResetOptions {
  /** 0 to 2^53 - 1; omitted, the service draws one and reports it in the response. */
  seed?: number;
  /** Your own id for the episode (letters, digits, "-", "_", "."; at most 64); omitted, the service makes one. */
  episodeId?: string;
}

/** One item of `stepBatch`: the result of the step, or the error it alone failed with. */
export type StepBatchOutcome = StepResponse__Output | MLOpsDebugError;

export class EpisodeClient {
  private readonly stub: EpisodeServiceClient;
  private readonly timeoutMs: number;

  constructor(address: string, options: ClientOptions = {}) {
    const protos = loadEpisodeProtos(options.protoRoot ?? DEFAULT_PROTO_ROOT);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.stub = new protos.mlopsdebug.episode.v1.EpisodeService(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
      ...options.channelOptions,
    });
  }

  /** Runs one unary call under the client's deadline, settling with its response or an MLOpsDebugError. */
  private call<Res>(invoke: (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke({ deadline: Date.now() + this.timeoutMs }, (error, response) => {
        if (error) {
          reject(errorFromServiceError(error));
        } else if (response === undefined) {
          reject(new MLOpsDebugError(13, "the service sent no response"));
        } else {
          resolve(response);
        }
      });
    });
  }

  /** The tasks, easy to hard. */
  async listTasks(): Promise<TaskInfo__Output[]> {
    return (await this.call<ListTasksResponse__Output>((o, cb) => this.stub.ListTasks({}, o, cb))).tasks;
  }

  /** Starts an episode of `taskId` ("easy", "medium" or "hard"); it lives until closed or idle too long. */
  reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const request = { taskId, seed: options.seed, episodeId: options.episodeId ?? "" };
    return this.call<ResetResponse__Output>((o, cb) => this.stub.Reset(request, o, cb));
  }

  /** Applies one action; the observation carries the reward and whether the episode ended. */
  step(episodeId: string, action: Action): Promise<StepResponse__Output> {
    return this.call<StepResponse__Output>((o, cb) => this.stub.Step({ episodeId, action }, o, cb));
  }

  /** One step on each of several distinct episodes (a vector environment's step); each succeeds or fails alone. */
  async stepBatch(steps: { episodeId: string; action: Action }[]): Promise<StepBatchOutcome[]> {
    const response = await this.call<StepBatchResponse__Output>((o, cb) => this.stub.StepBatch({ steps }, o, cb));
    return response.results.map((result) =>
      result.result === "step" && result.step ? result.step : errorFromStatus(result.error as Status__Output),
    );
  }

  /** The episode's state: counts, rewards, and its grade once graded. Never the answer before the end. */
  async getState(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return (await this.call<GetStateResponse__Output>((o, cb) => this.stub.GetState({ episodeId }, o, cb))).state as EpisodeStateInfo__Output;
  }

  /** Ends the episode and returns its final state. */
  async closeEpisode(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return (await this.call<CloseEpisodeResponse__Output>((o, cb) => this.stub.CloseEpisode({ episodeId }, o, cb))).state as EpisodeStateInfo__Output;
  }

  /** Opens a Session stream: the lowest-latency way to play; its episodes end when it does. */
  session(): EpisodeSession {
    return new EpisodeSession(this.stub.Session(), this.timeoutMs);
  }

  /** Closes the channel; calls in flight fail with CANCELLED. */
  close(): void {
    this.stub.close();
  }
}

type Pending = {
  requestId: string;
  resolve: (response: SessionResponse__Output) => void;
  reject: (error: MLOpsDebugError) => void;
  timer: NodeJS.Timeout;
};

/**
 * One bidirectional `Session` stream. Requests are answered in order; an error answers only its own
 * request and leaves the stream open. Calls that omit the episode id act on the stream's most
 * recent episode. The stream itself has no deadline (an agent may think for minutes between steps);
 * a request unanswered within the timeout ends it, since later answers could no longer be paired.
 */
export class EpisodeSession {
  private readonly pending: Pending[] = [];
  private failure: MLOpsDebugError | undefined;
  private nextId = 0;
  private readonly ended: Promise<void>;

  constructor(
    private readonly stream: grpc.ClientDuplexStream<SessionRequest, SessionResponse__Output>,
    private readonly timeoutMs: number,
  ) {
    stream.on("data", (response: SessionResponse__Output) => {
      const waiter = this.pending.shift();
      if (waiter !== undefined) {
        clearTimeout(waiter.timer);
      }
      if (waiter === undefined) {
        this.fail(new MLOpsDebugError(13, "the service answered a request that was never made"));
      } else if (response.requestId !== waiter.requestId) {
        waiter.reject(new MLOpsDebugError(13, `answer to request ${response.requestId}, expected ${waiter.requestId}`));
      } else {
        waiter.resolve(response);
      }
    });
    this.ended = new Promise((resolve) => {
      stream.on("error", (error: grpc.ServiceError) => {
        this.fail(errorFromServiceError(error));
        resolve();
      });
      stream.on("end", () => {
        this.fail(new MLOpsDebugError(14, "the session stream ended"));
        resolve();
      });
    });
  }

  private fail(error: MLOpsDebugError): void {
    this.failure ??= error;
    for (const waiter of this.pending.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  private exchange(request: SessionRequest): Promise<SessionResponse__Output> {
    if (this.failure !== undefined) {
      return Promise.reject(this.failure);
    }
    const requestId = String(++this.nextId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new MLOpsDebugError(4, `no session response within ${this.timeoutMs} ms`, { reason: "SESSION_TIMEOUT" }));
        this.stream.cancel();
      }, this.timeoutMs);
      this.pending.push({ requestId, resolve, reject, timer });
      this.stream.write({ ...request, requestId });
    }).then((response) => {
      const answer = response as SessionResponse__Output;
      if (answer.response === "error") {
        throw errorFromStatus(answer.error as Status__Output);
      }
      return answer;
    });
  }

  /** Starts an episode bound to this stream; it becomes the stream's current episode. */
  async reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const response = await this.exchange({ reset: { taskId, seed: options.seed, episodeId: options.episodeId ?? "" } });
    return response.reset as ResetResponse__Output;
  }

  /** Applies one action to `episodeId`, or to the current episode when omitted. */
  async step(action: Action, episodeId = ""): Promise<StepResponse__Output> {
    return (await this.exchange({ step: { episodeId, action } })).step as StepResponse__Output;
  }

  async getState(episodeId = ""): Promise<EpisodeStateInfo__Output> {
    return (await this.exchange({ getState: { episodeId } })).getState?.state as EpisodeStateInfo__Output;
  }

  async closeEpisode(episodeId = ""): Promise<EpisodeStateInfo__Output> {
    return (await this.exchange({ close: { episodeId } })).close?.state as EpisodeStateInfo__Output;
  }

  /** Ends the stream after the requests already sent are answered; the service closes its episodes. */
  async end(): Promise<void> {
    if (this.failure === undefined) {
      this.stream.end();
    }
    await this.ended;
  }
}
