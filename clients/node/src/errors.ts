/**
 * The client's one error type. Every failed call rejects with an `MLOpsDebugError` that carries the
 * canonical status code and the parsed `google.rpc.Status` details, so callers never handle grpc-js
 * errors. Errors arrive two ways: as a failed RPC (details in the `grpc-status-details-bin` trailer)
 * and in-band on the `Session` stream (a `google.rpc.Status` in the response); both end up here.
 */

import type { Metadata, ServiceError } from "@grpc/grpc-js";
import * as protobuf from "protobufjs";

import { googleProtoRoot } from "./protos";

/** The canonical gRPC status codes (google.rpc.Code) by wire value. */
export const STATUS_CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export type StatusCodeName = (typeof STATUS_CODE_NAMES)[number];

/** Codes worth retrying after a back-off: the service (or a peer it needs) is briefly out of reach. */
const RETRYABLE: ReadonlySet<StatusCodeName> = new Set(["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"]);

/** One invalid request field (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  field: string;
  description: string;
}

export class MLOpsDebugError extends Error {
  /** The canonical status code's name, e.g. "NOT_FOUND". */
  readonly code: StatusCodeName;
  /** Its wire value (0-16). */
  readonly grpcCode: number;
  /** google.rpc.ErrorInfo.reason, a stable machine-readable cause such as "EPISODE_NOT_FOUND" ("" if none). */
  readonly reason: string;
  /** google.rpc.ErrorInfo.domain, the service that raised it, e.g. "episode.mlopsdebug" ("" if none). */
  readonly domain: string;
  /** google.rpc.ErrorInfo.metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** google.rpc.BadRequest field violations (INVALID_ARGUMENT). */
  readonly fieldViolations: readonly FieldViolation[];

  constructor(
    grpcCode: number,
    message: string,
    details: { reason?: string; domain?: string; metadata?: Record<string, string>; fieldViolations?: FieldViolation[] } = {},
  ) {
    const code = STATUS_CODE_NAMES[grpcCode] ?? "UNKNOWN";
    super(`${code}: ${message}`);
    this.name = "MLOpsDebugError";
    this.code = code;
    this.grpcCode = grpcCode;
    this.reason = details.reason ?? "";
    this.domain = details.domain ?? "";
    this.metadata = details.metadata ?? {};
    this.fieldViolations = details.fieldViolations ?? [];
  }

  /** Whether the same call may succeed later (nothing was changed by this one). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

interface DecodedStatus {
  code?: number;
  message?: string;
  details?: { type_url?: string; typeUrl?: string; value?: Uint8Array }[];
}

let statusTypes: { status: protobuf.Type; errorInfo: protobuf.Type; badRequest: protobuf.Type } | undefined;

function types() {
  if (statusTypes === undefined) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : `${googleProtoRoot()}/${target}`);
    root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
    statusTypes = {
      status: root.lookupType("google.rpc.Status"),
      errorInfo: root.lookupType("google.rpc.ErrorInfo"),
      badRequest: root.lookupType("google.rpc.BadRequest"),
    };
  }
  return statusTypes;
}

/** An error from a `google.rpc.Status` message, decoded or as bytes. */
export function errorFromStatus(status: DecodedStatus | Uint8Array): MLOpsDebugError {
  const { errorInfo, badRequest } = types();
  const decoded: DecodedStatus =
    status instanceof Uint8Array ? (types().status.toObject(types().status.decode(status)) as DecodedStatus) : status;
  const details: ConstructorParameters<typeof MLOpsDebugError>[2] = {};
  for (const any of decoded.details ?? []) {
    const typeUrl = any.type_url ?? any.typeUrl ?? "";
    const value = any.value ?? new Uint8Array();
    if (typeUrl.endsWith("/google.rpc.ErrorInfo")) {
      const info = errorInfo.toObject(errorInfo.decode(value)) as { reason?: string; domain?: string; metadata?: Record<string, string> };
      details.reason = info.reason;
      details.domain = info.domain;
      details.metadata = info.metadata;
    } else if (typeUrl.endsWith("/google.rpc.BadRequest")) {
      const request = badRequest.toObject(badRequest.decode(value)) as { field_violations?: FieldViolation[] };
      details.fieldViolations = (request.field_violations ?? []).map((v) => ({ field: v.field ?? "", description: v.description ?? "" }));
    }
  }
  return new MLOpsDebugError(decoded.code ?? 2, decoded.message ?? "", details);
}

/** An error from a failed grpc-js call, with the details from its trailer when the server sent them. */
export function errorFromServiceError(error: ServiceError): MLOpsDebugError {
  const trailer = (error.metadata as Metadata | undefined)?.get("grpc-status-details-bin")?.[0];
  if (trailer instanceof Uint8Array) {
    try {
      const fromTrailer = errorFromStatus(trailer);
      if (fromTrailer.grpcCode === error.code) {
        return fromTrailer;
      }
    } catch {
      // Undecodable details: the status code and message alone still say what went wrong.
    }
  }
  return new MLOpsDebugError(error.code ?? 2, error.details ?? error.message);
}

/** The ErrorInfo domain of errors the client raises itself (not a server). */
export const CLIENT_DOMAIN = "client.mlopsdebug";

/**
 * NOT_FOUND for an episode a session knew alive before its stream broke and was reopened: the episode
 * went with the service process that held it (a restart without a shared store). Play it again from a
 * new reset; `metadata.episode_id` names it.
 */
export class EpisodeLostError extends MLOpsDebugError {
  constructor(episodeId: string, closedOrLost = false) {
    const what = closedOrLost
      ? "is gone: a close whose answer a broken stream lost closed it, or the service lost it"
      : "was lost: the session's stream broke and, once reopened, the service no longer had it; play it again from a new reset";
    super(5, `episode ${JSON.stringify(episodeId)} ${what}`, {
      reason: "EPISODE_LOST",
      domain: CLIENT_DOMAIN,
      metadata: { episode_id: episodeId },
    });
    this.name = "EpisodeLostError";
  }
}

/**
 * A step reached a Session stream that then broke before its answer, and sending it again could apply
 * it twice (ABORTED). `applied` is true when GetState showed the step count moved on by one (its
 * observation is lost; a submission's grade is in the episode's state), undefined when nothing can
 * tell (the session did not know the count before). Steps known not applied are re-sent instead.
 */
export class ResponseLostError extends MLOpsDebugError {
  readonly applied: boolean | undefined;

  constructor(episodeId: string, known: number | undefined, stepCount: number) {
    const applied = known !== undefined && stepCount === known + 1;
    super(
      10,
      `the session's stream broke after a step on ${JSON.stringify(episodeId)} was sent; the step ` +
        (applied
          ? `was applied (step count ${known} -> ${stepCount}) but its answer was lost`
          : "may have been applied (the session did not know the episode's step count before it)") +
        ". Sending it again could apply it twice; replay the episode, or read its state",
      {
        reason: "RESPONSE_LOST",
        domain: CLIENT_DOMAIN,
        metadata: { episode_id: episodeId, applied: applied ? "true" : "unknown", step_count: String(stepCount) },
      },
    );
    this.name = "ResponseLostError";
    this.applied = applied ? true : undefined;
  }
}
