/**
 * A typed, promise-based client of the episode service. It hides gRPC: every call resolves to the
 * response message (camelCase fields, enum values as names) or rejects with an `MLOpsDebugError`.
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import * as grpc from "@grpc/grpc-js";

import { CLIENT_DOMAIN, EpisodeLostError, errorFromServiceError, errorFromStatus, MLOpsDebugError, ResponseLostError } from "./errors";
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
  /**
   * How long a Session request keeps reopening its broken stream (the service restarted, a connection
   * dropped) before it rejects, within its own deadline; default 30 s, 0 turns reconnecting off.
   */
  reconnectMs?: number;
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
  private readonly reconnectMs: number;

  constructor(address: string, options: ClientOptions = {}) {
    const protos = loadEpisodeProtos(options.protoRoot ?? DEFAULT_PROTO_ROOT);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryInitialBackoffMs = options.retryInitialBackoffMs ?? 100;
    this.retryMaxBackoffMs = options.retryMaxBackoffMs ?? 2_000;
    this.reconnectMs = options.reconnectMs ?? 30_000;
    if (
      !(this.timeoutMs > 0) ||
      !(this.maxRetries >= 0) ||
      !(this.retryInitialBackoffMs >= 0) ||
      !(this.retryMaxBackoffMs >= 0) ||
      !(this.reconnectMs >= 0)
    ) {
      throw new RangeError("timeoutMs must be positive; maxRetries, the retry backoffs and reconnectMs at least 0");
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

  /**
   * Starts an episode of `taskId` ("easy", "medium" or "hard"); it lives until closed or idle too long.
   * Without `episodeId` the client draws one, so that the reset already carries the routing header
   * (`x-episode-id`) that the episode's later calls carry.
   */
  reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const episodeId = options.episodeId || newEpisodeId();
    const request = resetRequest(taskId, { ...options, episodeId });
    return this.call<ResetResponse__Output>((o, cb) => this.stub.Reset(request, routing(episodeId), o, cb));
  }

  /** Applies one action; the observation carries the reward and whether the episode ended. */
  step(episodeId: string, action: Action): Promise<StepResponse__Output> {
    return this.call<StepResponse__Output>((o, cb) => this.stub.Step({ episodeId, action }, routing(episodeId), o, cb));
  }

  /**
   * One step on each of several distinct episodes (a vector environment's step); each succeeds or fails alone.
   * Routed by its first episode, so a vector environment stepping the same episodes keeps landing on one server.
   */
  async stepBatch(steps: { episodeId: string; action: Action }[]): Promise<StepBatchOutcome[]> {
    const first = steps.length > 0 ? steps[0].episodeId : "";
    const response = await this.call<StepBatchResponse__Output>((o, cb) => this.stub.StepBatch({ steps }, routing(first), o, cb));
    return response.results.map((result) =>
      result.result === "step" && result.step ? result.step : errorFromStatus(result.error as Status__Output),
    );
  }

  /** The episode's state: counts, rewards, and its grade once graded. Never the answer before the end. */
  async getState(episodeId: string): Promise<EpisodeStateInfo__Output> {
    const response = await this.call<GetStateResponse__Output>((o, cb) => this.stub.GetState({ episodeId }, routing(episodeId), o, cb), {
      idempotent: true,
    });
    return response.state as EpisodeStateInfo__Output;
  }

  /** Ends the episode and returns its final state. */
  async closeEpisode(episodeId: string): Promise<EpisodeStateInfo__Output> {
    return (
      await this.call<CloseEpisodeResponse__Output>((o, cb) => this.stub.CloseEpisode({ episodeId }, routing(episodeId), o, cb))
    ).state as EpisodeStateInfo__Output;
  }

  /**
   * Opens a Session stream: the lowest-latency way to play; `end()` closes its episodes. It reopens
   * after a break and resumes them (see `EpisodeSession`). `book` is for streams that share episodes.
   */
  session(book?: EpisodeBook): EpisodeSession {
    // A stream is routed once, when it opens: a reopened one names the session's latest episode, so a
    // proxy hashing on x-episode-id sends it where that episode's unary calls go; a fresh one names none.
    const open = (latestEpisodeId: string) => {
      const metadata = routing(latestEpisodeId);
      metadata.set(...RESUMABLE_SESSION);
      return this.stub.Session(metadata);
    };
    const settings = {
      timeoutMs: this.timeoutMs,
      reconnectMs: this.reconnectMs,
      retryInitialBackoffMs: this.retryInitialBackoffMs,
      retryMaxBackoffMs: this.retryMaxBackoffMs,
    };
    return new EpisodeSession(open, settings, book);
  }

  /** Opens a Session stream that many concurrent agents share, their steps batched; see `BatchingSession`. */
  batchingSession(options: BatchingOptions = {}): BatchingSession {
    const book = new EpisodeBook(); // shared, so a step on the main stream knows an episode reset on a side one
    return new BatchingSession(() => this.session(book), options);
  }

  /** Closes the channel; calls in flight fail with CANCELLED. */
  close(): void {
    this.stub.close();
  }
}

/**
 * The header by which a proxy in front of several episode servers (Envoy, ring hash) sends every call
 * naming one episode to the same server. Routing only: the service never trusts it.
 */
export const EPISODE_HEADER = "x-episode-id";

/** Ids the service accepts; any other cannot be routed (nor is it always a legal header value). */
const ROUTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Call metadata carrying the routing header when the call names a well-formed episode id. */
function routing(episodeId: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (ROUTABLE_ID.test(episodeId)) {
    metadata.set(EPISODE_HEADER, episodeId);
  }
  return metadata;
}

/** Session call metadata by which the service leaves the stream's episodes open when it ends (the
 * session closes them itself), so that a session can resume them on a new stream after a break. */
const RESUMABLE_SESSION: [string, string] = ["mlopsdebug-session-resumable", "1"];
/** How long `end()` spends closing a session's episodes before it ends the stream. */
const SESSION_DRAIN_MS = 5_000;
/** Client errors after which a new stream may cure the break. */
const RETRYABLE_REASONS: ReadonlySet<string> = new Set(["SESSION_ENDED", "SESSION_TIMEOUT", "RESET_PENDING"]);

/** What a session's reconnecting needs to know (from the client's options). */
export interface SessionSettings {
  timeoutMs: number;
  reconnectMs: number;
  retryInitialBackoffMs: number;
  retryMaxBackoffMs: number;
}

function clientError(code: number, message: string, reason: string): MLOpsDebugError {
  return new MLOpsDebugError(code, message, { reason, domain: CLIENT_DOMAIN });
}

/** Whether a stream that failed with `error` may be reopened (as the Python client decides). */
function isRetryableBreak(error: MLOpsDebugError): boolean {
  if (error.domain === CLIENT_DOMAIN) {
    return RETRYABLE_REASONS.has(error.reason);
  }
  return error.code === "UNAVAILABLE" || ((error.code === "CANCELLED" || error.code === "INTERNAL") && !error.domain);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An episode id drawn by the client, in the service's format, so that a reset can be re-sent safely. */
function newEpisodeId(): string {
  return `ep-${randomBytes(12).toString("hex")}`;
}

/** One request's deadline and its reconnect window (`reconnectMs` from its first break). */
class Patience {
  private readonly deadline: number;
  private windowEnd: number | undefined;
  private attempt = 0;

  constructor(private readonly settings: SessionSettings, timeoutMs = settings.timeoutMs) {
    this.deadline = Date.now() + timeoutMs;
  }

  remaining(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** The wait before reopening the stream; throws `error` when it cannot be cured in time. */
  nextWait(error: MLOpsDebugError): number {
    if (!isRetryableBreak(error) || this.settings.reconnectMs <= 0) {
      throw error;
    }
    const now = Date.now();
    this.windowEnd ??= now + this.settings.reconnectMs;
    const cap = Math.min(this.settings.retryMaxBackoffMs, this.settings.retryInitialBackoffMs * 2 ** this.attempt++);
    const wait = cap / 2 + (Math.random() * cap) / 2;
    if (now + wait >= Math.min(this.windowEnd, this.deadline)) {
      throw error;
    }
    return wait;
  }
}

/**
 * The episodes reset through a session (shared by a batching session's streams) and not yet closed
 * through it: their last known step counts, to judge a step whose answer was lost, and the session
 * that closes them. `epoch` counts stream reopenings: an episode last seen alive in an earlier epoch
 * and now NOT_FOUND was lost with the stream's server.
 */
export class EpisodeBook {
  epoch = 0;
  private readonly entries = new Map<string, { stepCount: number | undefined; epoch: number; owner: object }>();

  started(episodeId: string, owner: object): void {
    this.entries.set(episodeId, { stepCount: 0, epoch: this.epoch, owner });
  }

  seen(episodeId: string, stepCount: number): void {
    const entry = this.entries.get(episodeId);
    if (entry !== undefined) {
      entry.stepCount = stepCount;
      entry.epoch = this.epoch;
    }
  }

  unknown(episodeId: string): void {
    const entry = this.entries.get(episodeId);
    if (entry !== undefined) {
      entry.stepCount = undefined;
    }
  }

  forget(episodeId: string): void {
    this.entries.delete(episodeId);
  }

  stepCount(episodeId: string): number | undefined {
    return this.entries.get(episodeId)?.stepCount;
  }

  ownedBy(owner: object): string[] {
    return [...this.entries].filter(([, entry]) => entry.owner === owner).map(([episodeId]) => episodeId);
  }

  /** `error` as the caller should see it: EpisodeLostError for a known episode gone since a reopen. */
  explain(episodeId: string, error: MLOpsDebugError): MLOpsDebugError {
    if (error.code !== "NOT_FOUND") {
      return error;
    }
    const entry = this.entries.get(episodeId);
    this.entries.delete(episodeId);
    if (entry === undefined || entry.epoch >= this.epoch || error instanceof EpisodeLostError) {
      return error;
    }
    return new EpisodeLostError(episodeId);
  }
}

/** A request's outcome: the response, the in-band error, or the break of its stream. */
type Answer =
  | { ok: SessionResponse__Output }
  | { error: MLOpsDebugError }
  | { broken: MLOpsDebugError; sent: boolean };

type Pending = {
  requestId: string;
  resolve: (answer: Answer) => void;
  timer: NodeJS.Timeout;
};

/** One Session call and its requests awaiting answers, oldest first. */
class SessionStream {
  readonly pending: Pending[] = [];
  failure: MLOpsDebugError | undefined;
  readonly ended: Promise<void>;

  constructor(
    readonly call: grpc.ClientDuplexStream<SessionRequest, SessionResponse__Output>,
    private readonly onBreak: (error: MLOpsDebugError) => void,
  ) {
    call.on("data", (response: SessionResponse__Output) => {
      const waiter = this.pending.shift();
      if (waiter === undefined) {
        this.break(clientError(13, "the service answered a request that was never made", "SESSION_OUT_OF_ORDER"));
        return;
      }
      clearTimeout(waiter.timer);
      if (response.requestId !== waiter.requestId) {
        const fault = clientError(13, `answer to request ${response.requestId}, expected ${waiter.requestId}`, "SESSION_OUT_OF_ORDER");
        waiter.resolve({ error: fault });
        this.break(fault);
      } else if (response.response === "error") {
        waiter.resolve({ error: errorFromStatus(response.error as Status__Output) });
      } else {
        waiter.resolve({ ok: response });
      }
    });
    this.ended = new Promise((resolve) => {
      call.on("error", (error: grpc.ServiceError) => {
        this.break(errorFromServiceError(error));
        resolve();
      });
      call.on("end", () => {
        this.break(clientError(14, "the session stream ended", "SESSION_ENDED"));
        resolve();
      });
    });
  }

  /** Marks the stream dead (a late answer would pair with the wrong request) and answers its waiters. */
  break(error: MLOpsDebugError): void {
    if (this.failure === undefined) {
      this.failure = error;
      this.onBreak(error);
      this.call.cancel();
    }
    for (const waiter of this.pending.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve({ broken: this.failure, sent: true });
    }
  }
}

/**
 * A `Session` stream. Requests are answered in order; an in-band error answers only its own request
 * and leaves the stream open. Calls that omit the episode id act on the session's most recent
 * episode. The stream itself has no deadline (an agent may think for minutes between steps).
 *
 * When the stream breaks (the service restarted, a connection dropped, a request went unanswered
 * within the timeout), the requests caught by it open a new stream, with growing waits, within
 * `reconnectMs` and their own deadline, and resume their episodes as the Python client does: a step
 * is re-sent only when GetState shows it was not applied (else ResponseLostError), a reset always
 * carries an id (drawn here if you give none) so a lost one is recognised and replaced, and an
 * episode the service no longer has raises EpisodeLostError (NOT_FOUND).
 */
export class EpisodeSession {
  /** How many times the session reopened its stream after a break. */
  reconnects = 0;
  private stream: SessionStream;
  private broken: MLOpsDebugError | undefined;
  private nextId = 0;
  private ending = false;
  private current = "";

  constructor(
    private readonly open: (latestEpisodeId: string) => grpc.ClientDuplexStream<SessionRequest, SessionResponse__Output>,
    private readonly settings: SessionSettings,
    private readonly book: EpisodeBook = new EpisodeBook(),
  ) {
    this.stream = this.newStream();
  }

  private newStream(): SessionStream {
    return new SessionStream(this.open(this.current), (error) => {
      if (!isRetryableBreak(error)) {
        this.broken ??= error;
      }
    });
  }

  /** Whether the session can take no more requests (ended, or failed beyond reopening). */
  get closed(): boolean {
    return this.broken !== undefined || this.ending;
  }

  private liveStream(): SessionStream {
    if (this.broken !== undefined) {
      throw this.broken;
    }
    if (this.ending) {
      throw clientError(9, "the session is closed", "SESSION_CLOSED");
    }
    if (this.stream.failure !== undefined) {
      this.reconnects += 1;
      this.book.epoch += 1;
      this.stream = this.newStream();
    }
    return this.stream;
  }

  private exchange(request: SessionRequest, patience: Patience, episodes: string[] = []): Promise<Answer> {
    let stream: SessionStream;
    try {
      stream = this.liveStream();
    } catch (error) {
      return Promise.reject(error);
    }
    const requestId = String(++this.nextId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = stream.pending.findIndex((waiter) => waiter.requestId === requestId);
        if (index >= 0) {
          stream.pending.splice(index, 1);
        }
        episodes.forEach((episodeId) => this.book.unknown(episodeId));
        const error = clientError(4, `no session response within ${this.settings.timeoutMs} ms`, "SESSION_TIMEOUT");
        stream.break(error);
        reject(error);
      }, patience.remaining());
      stream.pending.push({ requestId, resolve, timer });
      stream.call.write({ ...request, requestId });
    });
  }

  private async getStateOrError(episodeId: string, patience: Patience): Promise<EpisodeStateInfo__Output | MLOpsDebugError> {
    for (;;) {
      const answer = await this.exchange({ getState: { episodeId } }, patience);
      if ("broken" in answer) {
        await sleep(patience.nextWait(answer.broken));
      } else if ("error" in answer) {
        return this.book.explain(episodeId, answer.error);
      } else {
        const state = answer.ok.getState?.state as EpisodeStateInfo__Output;
        this.book.seen(episodeId, state.stepCount);
        return state;
      }
    }
  }

  private async stateOf(episodeId: string, patience: Patience): Promise<EpisodeStateInfo__Output> {
    const state = await this.getStateOrError(episodeId, patience);
    if (state instanceof MLOpsDebugError) {
      throw state;
    }
    return state;
  }

  /** One step on each of several distinct episodes (empty ids: the current one); each succeeds or fails alone. */
  async stepBatch(steps: { episodeId: string; action: Action }[]): Promise<StepBatchOutcome[]> {
    const patience = new Patience(this.settings);
    const items = steps.map(({ episodeId, action }) => ({ episodeId: episodeId || this.current, action }));
    const known = items.map((item) => this.book.stepCount(item.episodeId));
    const outcomes: (StepBatchOutcome | undefined)[] = items.map(() => undefined);
    let pending = items.map((_, i) => i);
    let sent = false;
    while (pending.length > 0 || !sent) {
      sent = true;
      const ids = pending.map((i) => items[i].episodeId);
      const answer = await this.exchange({ stepBatch: { steps: pending.map((i) => items[i]) } }, patience, ids);
      if ("broken" in answer) {
        await sleep(patience.nextWait(answer.broken));
        if (answer.sent) {
          for (const i of [...pending]) {
            const state = await this.getStateOrError(items[i].episodeId, patience);
            const verdict = state instanceof MLOpsDebugError ? state : this.verdict(items[i].episodeId, known[i], state);
            if (verdict !== undefined) {
              outcomes[i] = verdict;
              pending = pending.filter((j) => j !== i);
            }
          }
        }
        continue;
      }
      if ("error" in answer) {
        throw answer.error; // the whole batch was refused: nothing was applied
      }
      const results = (answer.ok.stepBatch as StepBatchResponse__Output).results;
      pending.forEach((i, k) => {
        const result = results[k];
        const episodeId = items[i].episodeId;
        if (result.result === "step" && result.step) {
          this.book.seen(episodeId, result.step.observation?.stepCount ?? 0);
          outcomes[i] = result.step;
        } else {
          outcomes[i] = this.book.explain(episodeId, errorFromStatus(result.error as Status__Output));
        }
      });
      pending = [];
    }
    return outcomes as StepBatchOutcome[];
  }

  /** After a break: undefined when the step was not applied (send it again), else the error. */
  private verdict(episodeId: string, known: number | undefined, state: EpisodeStateInfo__Output): MLOpsDebugError | undefined {
    return known !== undefined && state.stepCount === known ? undefined : new ResponseLostError(episodeId, known, state.stepCount);
  }

  /**
   * Starts an episode bound to this session; it becomes the session's current episode. Without
   * `episodeId` the client draws one, so that a reset whose answer a broken stream lost is never
   * applied twice.
   */
  async reset(taskId: string, options: ResetOptions = {}): Promise<ResetResponse__Output> {
    const patience = new Patience(this.settings);
    const episodeId = options.episodeId || newEpisodeId();
    let uncertain = false;
    for (;;) {
      const answer = await this.exchange({ reset: resetRequest(taskId, { ...options, episodeId }) }, patience);
      if ("broken" in answer) {
        await sleep(patience.nextWait(answer.broken));
        uncertain ||= answer.sent;
        continue;
      }
      if ("error" in answer) {
        if (!uncertain || answer.error.code !== "ALREADY_EXISTS") {
          throw answer.error;
        }
        const state = await this.getStateOrError(episodeId, patience);
        if (state instanceof MLOpsDebugError) {
          if (state.code !== "NOT_FOUND") {
            throw state;
          }
          await sleep(patience.nextWait(clientError(14, `a lost reset of ${episodeId} is still pending`, "RESET_PENDING")));
          continue;
        }
        const ours = state.stepCount === 0 && state.taskId === taskId && (options.seed === undefined || state.seed === options.seed);
        if (!ours) {
          throw answer.error; // somebody else's episode under the caller's id
        }
        const closed = await this.exchange({ close: { episodeId } }, patience);
        if ("broken" in closed) {
          await sleep(patience.nextWait(closed.broken));
        } else if ("error" in closed && closed.error.code !== "NOT_FOUND") {
          throw closed.error;
        }
        continue; // reset again: the fresh episode nobody saw is replaced by an identical one
      }
      const response = answer.ok.reset as ResetResponse__Output;
      this.book.started(response.episodeId, this);
      this.current = response.episodeId;
      return response;
    }
  }

  /** Applies one action to `episodeId`, or to the current episode when omitted. */
  async step(action: Action, episodeId = ""): Promise<StepResponse__Output> {
    const patience = new Patience(this.settings);
    const id = episodeId || this.current;
    const known = this.book.stepCount(id);
    for (;;) {
      const answer = await this.exchange({ step: { episodeId: id, action } }, patience, [id]);
      if ("broken" in answer) {
        await sleep(patience.nextWait(answer.broken));
        if (answer.sent) {
          const verdict = this.verdict(id, known, await this.stateOf(id, patience));
          if (verdict !== undefined) {
            throw verdict;
          }
        }
        continue;
      }
      if ("error" in answer) {
        throw this.book.explain(id, answer.error);
      }
      const response = answer.ok.step as StepResponse__Output;
      this.book.seen(id, response.observation?.stepCount ?? 0);
      return response;
    }
  }

  async getState(episodeId = ""): Promise<EpisodeStateInfo__Output> {
    return this.stateOf(episodeId || this.current, new Patience(this.settings));
  }

  async closeEpisode(episodeId = "", timeoutMs = this.settings.timeoutMs): Promise<EpisodeStateInfo__Output> {
    const patience = new Patience(this.settings, timeoutMs);
    const id = episodeId || this.current;
    let uncertain = false;
    for (;;) {
      const answer = await this.exchange({ close: { episodeId: id } }, patience);
      if ("broken" in answer) {
        await sleep(patience.nextWait(answer.broken));
        uncertain ||= answer.sent;
        continue;
      }
      if ("error" in answer) {
        if (uncertain && answer.error.code === "NOT_FOUND") {
          this.book.forget(id);
          throw new EpisodeLostError(id, true);
        }
        throw this.book.explain(id, answer.error);
      }
      this.book.forget(id);
      return answer.ok.close?.state as EpisodeStateInfo__Output;
    }
  }

  /**
   * Closes the episodes reset on the session and still open (the service leaves a resumable session's
   * episodes open when a stream ends), then ends the stream after the requests already sent are answered.
   */
  async end(): Promise<void> {
    if (this.closed) {
      await this.stream.ended;
      return;
    }
    const owned = this.book.ownedBy(this);
    if (owned.length > 0) {
      const closing = Promise.allSettled(owned.map((episodeId) => this.closeEpisode(episodeId, SESSION_DRAIN_MS)));
      await Promise.race([closing, sleep(SESSION_DRAIN_MS)]); // best effort: the idle reaper collects the rest
    }
    this.ending = true;
    if (this.stream.failure === undefined) {
      this.stream.call.end();
    }
    await this.stream.ended;
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
 * opened on demand, holding up no other agent's steps. Each stream reopens itself after a break and
 * its episodes resume; `end()` closes the episodes still open and ends every stream. The Python
 * client's `AsyncBatchingSession` works the same way.
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

  /** Whether the shared session can take no more requests (ended, or failed beyond reopening). */
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

  /** Ends every stream once the steps in flight are answered, after closing the episodes still open. */
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
        this.side.delete(stream); // failed beyond reopening
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
