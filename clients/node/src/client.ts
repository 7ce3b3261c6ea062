/**
 * A typed, promise-based client of the episode service. It hides gRPC: every call resolves to the
 * response message (camelCase fields, enum values as names) or rejects with an `MLOpsDebugError`.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

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
  /** Deadline of each unary call (retries included), and of each request on a Session stream; default 30 s. */
  timeoutMs?: number;
  /**
   * Extra attempts after UNAVAILABLE, only for calls that are safe to repeat (listTasks, getState);
   * reset, step and closeEpisode are never retried, since a lost answer may have changed the episode.
   * Default 3.
   */
  maxRetries?: number;
  /** Wait before the first retry, doubled for each further one; default 100 ms. */
  retryInitialBackoffMs?: number;
  /** Longest wait between two attempts; default 2 s. */
  retryMaxBackoffMs?: number;
  /** Where the contracts' .proto files are; default the repository's protos/. */
  protoRoot?: string;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * A PEM file of the CA that signed the episode service's TLS certificate: connect with TLS, trusting
   * that CA. Default: $MLOPSDEBUG_TLS_CA when set, else plaintext.
   */
  tlsCaFile?: string;
  /**
   * The key a service with API keys requires, sent as `authorization: Bearer <key>` on every call and
   * stream; episodes then belong to the key's principal. Default: none.
   */
  apiKey?: string;
  /**
   * Sent as `x-mlopsdebug-client-token`. Without API keys, episodes belong to the token that created
   * them, so a client keeps reaching its episodes after a reconnect. Default: a random one per client.
   * Keep it secret: it is what owns the episodes.
   */
  clientToken?: string;
}

/** An interceptor that adds the credentials to every call and stream of a client. */
function credentialsInterceptor(pairs: [string, string][]): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        for (const [key, value] of pairs) {
          metadata.set(key, value);
        }
        next(metadata, listener);
      },
    });
}

export interface ResetOptions {
  /** 0 to 2^53 - 1; omitted, the service draws one and reports it in the response. */
  seed?: number;
  /** Your own id for the episode (letters, digits, "-", "_", "."; at most 64); omitted, the service makes one. */
  episodeId?: string;
  /**
   * A sealed evaluation's id (from its operator): the service draws the episode's scenario from the
   * evaluation (taskId may then be "" for its next task), the response's seed is 0 and `sealed` true,
   * and grades carry only the score. Give no seed.
   */
  evaluationId?: string;
  /** Which of the task's faults to draw from: "all" (default), "train", or "heldout" (see ListTasks' hasHeldoutSplit). */
  split?: "all" | "train" | "heldout";
}

const FAULT_SPLITS = { all: "FAULT_SPLIT_ALL", train: "FAULT_SPLIT_TRAIN", heldout: "FAULT_SPLIT_HELDOUT" } as const;

function resetRequest(taskId: string, options: ResetOptions) {
  return {
    taskId,
    seed: options.seed,
    episodeId: options.episodeId ?? "",
    evaluationId: options.evaluationId ?? "",
    split: FAULT_SPLITS[options.split ?? "all"],
  };
}

/** One item of `stepBatch`: the result of the step, or the error it alone failed with. */
export type StepBatchOutcome = StepResponse__Output | MLOpsDebugError;

export interface BatchingOptions {
  /** Most steps in one StepBatch, 1 to 64; default 64. */
  maxBatch?: number;
  /** StepBatch messages in flight at once; default 2 (one is answered while the next is filled). */
  maxInFlight?: number;
  /** Further streams for resets and submissions, the slow requests, opened on demand; default 4, 0 for none. */
  sideStreams?: number;
}

export class EpisodeClient {
  private readonly stub: EpisodeServiceClient;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryInitialBackoffMs: number;
  private readonly retryMaxBackoffMs: number;
  /** The token sent with every call (see ClientOptions.clientToken). */
  readonly clientToken: string;

  constructor(address: string, options: ClientOptions = {}) {
    const protos = loadEpisodeProtos(options.protoRoot ?? DEFAULT_PROTO_ROOT);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryInitialBackoffMs = options.retryInitialBackoffMs ?? 100;
    this.retryMaxBackoffMs = options.retryMaxBackoffMs ?? 2_000;
    if (!(this.timeoutMs > 0) || !(this.maxRetries >= 0) || !(this.retryInitialBackoffMs >= 0) || !(this.retryMaxBackoffMs >= 0)) {
      throw new RangeError("timeoutMs must be positive; maxRetries and the retry backoffs at least 0");
    }
    if (options.apiKey !== undefined && (options.apiKey === "" || /\s/.test(options.apiKey))) {
      throw new RangeError("apiKey must be non-empty and contain no whitespace");
    }
    this.clientToken = options.clientToken ?? randomBytes(24).toString("base64url");
    if (this.clientToken.length < 1 || this.clientToken.length > 256) {
      throw new RangeError("clientToken must be 1 to 256 characters");
    }
    const credentials: [string, string][] = [["x-mlopsdebug-client-token", this.clientToken]];
    if (options.apiKey !== undefined) {
      credentials.push(["authorization", `Bearer ${options.apiKey}`]);
    }
    const caFile = options.tlsCaFile ?? process.env.MLOPSDEBUG_TLS_CA;
    const channelCredentials = caFile ? grpc.credentials.createSsl(readFileSync(caFile)) : grpc.credentials.createInsecure();
    this.stub = new protos.mlopsdebug.episode.v1.EpisodeService(address, channelCredentials, {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
      ...options.channelOptions,
      interceptors: [credentialsInterceptor(credentials)],
    });
  }

  /**
   * Runs one unary call under the client's deadline, settling with its response or an MLOpsDebugError.
   * A call that is safe to repeat is retried on UNAVAILABLE, with exponential backoff, while the
   * deadline (which covers every attempt) leaves room.
   */
  private async call<Res>(
    invoke: (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown,
    { idempotent = false } = {},
  ): Promise<Res> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(invoke, deadline);
      } catch (error) {
        const wait = Math.min(this.retryMaxBackoffMs, this.retryInitialBackoffMs * 2 ** attempt);
        const retry =
          idempotent &&
          error instanceof MLOpsDebugError &&
          error.code === "UNAVAILABLE" &&
          attempt < this.maxRetries &&
          Date.now() + wait < deadline;
        if (!retry) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private attempt<Res>(
    invoke: (options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown,
    deadline: number,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke({ deadline }, (error, response) => {
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
    const response = await this.call<ListTasksResponse__Output>((o, cb) => this.stub.ListTasks({}, o, cb), { idempotent: true });
    return response.tasks;
  }

  /** Starts an episode of `taskId` ("easy", "medium" or "hard"); it lives until closed or idle too long. */
  reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const request = resetRequest(taskId, options);
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
    const response = await this.call<GetStateResponse__Output>((o, cb) => this.stub.GetState({ episodeId }, o, cb), {
      idempotent: true,
    });
    return response.state as EpisodeStateInfo__Output;
  }

  /** Ends the episode and returns its final state. */
  async closeEpisode(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return (await this.call<CloseEpisodeResponse__Output>((o, cb) => this.stub.CloseEpisode({ episodeId }, o, cb))).state as EpisodeStateInfo__Output;
  }

  /** Opens a Session stream: the lowest-latency way to play; its episodes end when it does. */
  session(): EpisodeSession {
    return new EpisodeSession(this.stub.Session(), this.timeoutMs);
  }

  /** Opens a Session stream that many concurrent agents share, their steps batched; see `BatchingSession`. */
  batchingSession(options: BatchingOptions = {}): BatchingSession {
    return new BatchingSession(() => this.session(), options);
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
  private ending = false;
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

  /** Whether the stream can take no more requests (ended, or failed). */
  get closed(): boolean {
    return this.failure !== undefined || this.ending;
  }

  /** One step on each of several distinct episodes (empty ids: the current one); each succeeds or fails alone. */
  async stepBatch(steps: { episodeId: string; action: Action }[]): Promise<StepBatchOutcome[]> {
    const response = (await this.exchange({ stepBatch: { steps } })).stepBatch as StepBatchResponse__Output;
    return response.results.map((result) =>
      result.result === "step" && result.step ? result.step : errorFromStatus(result.error as Status__Output),
    );
  }

  /** Starts an episode bound to this stream; it becomes the stream's current episode. */
  async reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const response = await this.exchange({ reset: resetRequest(taskId, options) });
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
    if (this.failure === undefined && !this.ending) {
      this.ending = true;
      this.stream.end();
    }
    await this.ended;
  }
}

type WaitingStep = {
  episodeId: string;
  action: Action;
  resolve: (response: StepResponse__Output) => void;
  reject: (error: MLOpsDebugError) => void;
};

/**
 * One Session stream shared by many concurrent agents, each playing its own episode and always
 * naming it. Steps that wait at the same moment leave together as one StepBatch (at most `maxBatch`,
 * one per episode), so N agents cost a few messages per round instead of N; up to `maxInFlight`
 * batches are in flight at once. Each step resolves or rejects on its own, with what a plain `step`
 * would give. A stream answers in order, so the slow requests, a reset (which may generate its
 * scenario) and a submission (a grader round trip), go over up to `sideStreams` further streams
 * opened on demand, holding up no other agent's steps. Episodes belong to the stream they were reset
 * on; `end()` ends every stream, and the service closes their episodes. The Python client's
 * `AsyncBatchingSession` works the same way.
 */
export class BatchingSession {
  /** StepBatch messages sent so far; `stepsSent / batchesSent` is the mean batch size. */
  batchesSent = 0;
  /** Steps sent so far, in all batches (submissions travel alone and are not counted). */
  stepsSent = 0;
  private readonly main: EpisodeSession;
  private readonly side = new Map<EpisodeSession, number>();
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly maxSideStreams: number;
  private waiting: WaitingStep[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private pumpScheduled = false;

  constructor(
    private readonly openStream: () => EpisodeSession,
    options: BatchingOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? STEP_BATCH_MAX_STEPS;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxSideStreams = options.sideStreams ?? 4;
    if (!(this.maxBatch >= 1 && this.maxBatch <= STEP_BATCH_MAX_STEPS)) {
      throw new RangeError(`maxBatch must be in [1, ${STEP_BATCH_MAX_STEPS}], got ${this.maxBatch}`);
    }
    if (!(this.maxInFlight >= 1) || !(this.maxSideStreams >= 0)) {
      throw new RangeError("maxInFlight must be at least 1 and sideStreams at least 0");
    }
    this.main = openStream();
  }

  /** Whether the shared stream can take no more requests (ended, or failed). */
  get closed(): boolean {
    return this.main.closed;
  }

  /** Starts an episode bound to this session's streams; name its id in later calls. */
  async reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    this.checkOpen();
    const side = this.sideStream();
    return side === undefined ? this.main.reset(taskId, options) : this.onSide(side, () => side.reset(taskId, options));
  }

  /** Applies one action to the episode, batched with the other agents' waiting steps. */
  async step(action: Action, episodeId: string): Promise<StepResponse__Output> {
    if (!episodeId) {
      throw new MLOpsDebugError(3, "episodeId is required: a batching session carries many episodes", {
        reason: "EPISODE_ID_MISSING",
      });
    }
    this.checkOpen();
    if (action.submitDiagnosis != null) {
      const side = this.sideStream();
      if (side !== undefined) {
        return this.onSide(side, () => side.step(action, episodeId));
      }
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ episodeId, action, resolve, reject });
      this.schedulePump();
    });
  }

  getState(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return this.main.getState(episodeId);
  }

  closeEpisode(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return this.main.closeEpisode(episodeId);
  }

  /** Ends every stream once the steps in flight are answered; the service closes their episodes. */
  async end(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
    const streams = [this.main, ...this.side.keys()];
    this.side.clear();
    await Promise.all(streams.map((stream) => stream.end()));
  }

  private checkOpen(): void {
    if (this.main.closed) {
      throw new MLOpsDebugError(9, "the batching session is closed", { reason: "SESSION_CLOSED" });
    }
  }

  /** After the agents woken in this turn have queued their steps. */
  private schedulePump(): void {
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => this.pump());
    }
  }

  /**
   * Sends waiting steps while fewer than `maxInFlight` batches are in flight. With none in flight,
   * half of what waits leaves now and the rest right behind it, so that the two halves settle into
   * alternating between the service and this side.
   */
  private pump(): void {
    this.pumpScheduled = false;
    while (this.waiting.length > 0 && this.inFlight.size < this.maxInFlight) {
      const halve = this.inFlight.size === 0 && this.maxInFlight > 1;
      const limit = Math.min(halve ? Math.ceil(this.waiting.length / 2) : this.waiting.length, this.maxBatch);
      const batch: WaitingStep[] = [];
      const later: WaitingStep[] = [];
      const episodes = new Set<string>();
      for (const item of this.waiting) {
        if (batch.length < limit && !episodes.has(item.episodeId)) {
          episodes.add(item.episodeId);
          batch.push(item);
        } else {
          later.push(item); // includes a second step on one episode, after the first
        }
      }
      this.waiting = later;
      this.send(batch);
    }
  }

  private send(batch: WaitingStep[]): void {
    this.batchesSent += 1;
    this.stepsSent += batch.length;
    const sent: Promise<void> = this.main
      .stepBatch(batch.map(({ episodeId, action }) => ({ episodeId, action })))
      .then(
        (outcomes) =>
          outcomes.forEach((outcome, i) =>
            outcome instanceof MLOpsDebugError ? batch[i].reject(outcome) : batch[i].resolve(outcome),
          ),
        (error: MLOpsDebugError) => batch.forEach((item) => item.reject(error)),
      )
      .finally(() => {
        this.inFlight.delete(sent);
        if (this.waiting.length > 0) {
          this.schedulePump();
        }
      });
    this.inFlight.add(sent);
  }

  /** An idle side stream, else a new one while fewer than `sideStreams` are open, else the least busy. */
  private sideStream(): EpisodeSession | undefined {
    if (this.maxSideStreams === 0) {
      return undefined;
    }
    for (const [stream] of this.side) {
      if (stream.closed) {
        this.side.delete(stream); // broken: its episodes went with it
      }
    }
    for (const [stream, busy] of this.side) {
      if (busy === 0) {
        return stream;
      }
    }
    if (this.side.size < this.maxSideStreams) {
      const stream = this.openStream();
      this.side.set(stream, 0);
      return stream;
    }
    return [...this.side].reduce((least, entry) => (entry[1] < least[1] ? entry : least))[0];
  }

  private async onSide<T>(stream: EpisodeSession, request: () => Promise<T>): Promise<T> {
    this.side.set(stream, (this.side.get(stream) ?? 0) + 1);
    try {
      return await request();
    } finally {
      const busy = this.side.get(stream);
      if (busy !== undefined) {
        this.side.set(stream, busy - 1);
      }
    }
  }
}
