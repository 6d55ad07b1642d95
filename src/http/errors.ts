// The API's domain errors, each with a stable `code`, and the one place where errors become
// HTTP responses (installed as hono's `app.onError`).
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../runtime/log.ts";
import { PostgresUnavailableError } from "../store/postgres_gate.ts";

export interface ErrorDetail {
  path: string;
  reason: string;
}

/** Base of every error the API answers with a specific status. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type AuthCode =
  | "UNAUTHORIZED"
  | "SIGNATURE_INVALID"
  | "TIMESTAMP_EXPIRED"
  | "NONCE_REPLAYED";

/** 401: the request is not signed by an active client (or is a replay). */
export class AuthError extends ApiError {
  override name = "AuthError";
  constructor(code: AuthCode, message: string) {
    super(401, code, message);
  }
}

/** 403: authenticated, but the client lacks a scope or a device grant. */
export class ForbiddenError extends ApiError {
  override name = "ForbiddenError";
  constructor(message: string) {
    super(403, "FORBIDDEN", message);
  }
}

export class NotFoundError extends ApiError {
  override name = "NotFoundError";
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export type ValidationCode =
  | "VALIDATION_FAILED"
  | "INVALID_REQUEST_BODY"
  | "UNSUPPORTED_VENDOR"
  | "UNSUPPORTED_COMMAND";

/** 400: the request body is not a valid command. */
export class ValidationError extends ApiError {
  override name = "ValidationError";
  constructor(code: ValidationCode, message: string, details?: ErrorDetail[]) {
    super(400, code, message, details);
  }
}

export class IdempotencyConflictError extends ApiError {
  override name = "IdempotencyConflictError";
  constructor(key: string) {
    super(
      409,
      "IDEMPOTENCY_CONFLICT",
      `Cannot accept command: idempotency_key ${
        JSON.stringify(key)
      } was used with a different request`,
    );
  }
}

export type ConflictCode = "DEVICE_REQUEST_ANSWERED" | "DEVICE_REQUEST_EXPIRED";

/** 409: the request conflicts with the state of what it acts on. */
export class ConflictError extends ApiError {
  override name = "ConflictError";
  constructor(code: ConflictCode, message: string) {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends ApiError {
  override name = "PayloadTooLargeError";
  constructor(limit: number, seen: number | string) {
    super(413, "PAYLOAD_TOO_LARGE", `Request body must be at most ${limit} bytes, got ${seen}`);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  override name = "UnsupportedMediaTypeError";
  constructor(seen: string | undefined) {
    super(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type must be application/json, got ${JSON.stringify(seen ?? null)}`,
    );
  }
}

/** 503: a dependency (Postgres, NATS) is unreachable; nothing was accepted. */
export class ServiceUnavailableError extends ApiError {
  override name = "ServiceUnavailableError";
  constructor(dependency: string, options?: ErrorOptions) {
    super(
      503,
      "SERVICE_UNAVAILABLE",
      `Service unavailable: ${dependency} is unreachable`,
      undefined,
      options,
    );
  }
}

/** The pipeline behind the API cannot keep up (see shard/pipeline_pressure.ts): a command accepted
 * now would only time out. */
export class OverloadedError extends ApiError {
  override name = "OverloadedError";
  constructor(reason: string) {
    super(503, "SERVICE_UNAVAILABLE", `Service unavailable: ${reason}; retry later`);
  }
}

/** Seconds a client should wait before sending a request answered 503 again. */
const RETRY_AFTER_SECONDS = "1";

// postgres.js raises these codes itself when a connection cannot be made or is lost.
const POSTGRES_CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
// SQLSTATE class 08 (connection exception), the server going away, and a statement the API's
// deadline stopped (lock_timeout, cancel): each aborted its statement whole.
const POSTGRES_SERVER_CODES = /^(08...|57P01|57P02|57P03|53300|55P03|57014)$/;

// nats.js v3 error class names for a connection that is down, closed or not answering.
const NATS_ERROR_NAMES = new Set([
  "ConnectionError",
  "ClosedConnectionError",
  "DrainingConnectionError",
  "TimeoutError",
  "RequestError",
  "NoResponders",
  "NoRespondersError",
  "JetStreamNotEnabled",
  "JetStreamNotEnabledError",
]);

/** Names the dependency whose outage caused `err`, or undefined when it is not an outage. */
export function dependencyDown(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof ServiceUnavailableError) return "dependency";
    if (e instanceof PostgresUnavailableError) return "Postgres";
    const { name, code, errno } = e as { name?: string; code?: unknown; errno?: unknown };
    if (typeof code === "string") {
      if (POSTGRES_SERVER_CODES.test(code)) return "Postgres";
      if (POSTGRES_CLIENT_CODES.has(code)) {
        return (e as { address?: string }).address !== undefined || errno !== undefined ||
            code.startsWith("CONN")
          ? "Postgres"
          : "dependency";
      }
    }
    if (name && NATS_ERROR_NAMES.has(name)) return "NATS";
  }
  return undefined;
}

/** The error envelope of every non-2xx answer. */
export function errorBody(
  code: string,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
): Record<string, unknown> {
  const body: Record<string, unknown> = { code, message, request_id: requestId };
  if (details) body.details = details;
  return body;
}

/** hono's onError: maps every error to its status and envelope, logging the unexpected. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    const requestId = (c.get("requestId" as never) as string | undefined) ?? "";
    let api: ApiError;
    if (err instanceof ApiError) {
      api = err;
    } else {
      const dependency = dependencyDown(err);
      if (dependency) {
        api = new ServiceUnavailableError(dependency, { cause: err });
      } else {
        log.error("request failed", {
          request_id: requestId,
          method: c.req.method,
          path: c.req.path,
          err,
        });
        api = new ApiError(
          500,
          "INTERNAL_ERROR",
          "Internal error; quote the request id to the operator",
        );
      }
    }
    if (api.status === 503) {
      c.header("Retry-After", RETRY_AFTER_SECONDS);
      if (!(api instanceof OverloadedError)) {
        log.warn("dependency unavailable", { request_id: requestId, err: api.cause ?? api });
      }
    }
    c.header("X-Request-Id", requestId);
    return c.json(errorBody(api.code, api.message, requestId, api.details), api.status);
  };
}
