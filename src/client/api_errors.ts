// The API's error answers as typed errors, one class per error code (the codes of
// src/http/errors.ts), so a caller can `catch (e) { if (e instanceof NonceReplayedError) ... }`.

export interface ApiErrorDetail {
  path: string;
  reason: string;
}

/** The error envelope every non-2xx answer carries. */
export interface ApiErrorBody {
  code: string;
  message: string;
  request_id: string;
  details?: ApiErrorDetail[];
}

/** Any non-2xx answer of the API; the subclasses name each code. */
export class DownlinkApiError extends Error {
  override name = "DownlinkApiError";
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
  readonly details: ApiErrorDetail[];
  /** Seconds to wait before sending again (the Retry-After of a 503), when given. */
  readonly retryAfterSeconds?: number;

  constructor(status: number, body: ApiErrorBody, retryAfterSeconds?: number) {
    super(`${status} ${body.code}: ${body.message}`);
    this.status = status;
    this.code = body.code;
    this.requestId = body.request_id;
    this.details = body.details ?? [];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// 400
export class InvalidRequestBodyError extends DownlinkApiError {
  override name = "InvalidRequestBodyError";
}
export class ValidationFailedError extends DownlinkApiError {
  override name = "ValidationFailedError";
}
export class UnsupportedVendorError extends DownlinkApiError {
  override name = "UnsupportedVendorError";
}
export class UnsupportedCommandError extends DownlinkApiError {
  override name = "UnsupportedCommandError";
}
// 401
export class UnauthorizedError extends DownlinkApiError {
  override name = "UnauthorizedError";
}
export class SignatureInvalidError extends DownlinkApiError {
  override name = "SignatureInvalidError";
}
export class TimestampExpiredError extends DownlinkApiError {
  override name = "TimestampExpiredError";
}
export class NonceReplayedError extends DownlinkApiError {
  override name = "NonceReplayedError";
}
// 403, 404, 409, 413, 415
export class ForbiddenError extends DownlinkApiError {
  override name = "ForbiddenError";
}
export class CommandNotFoundError extends DownlinkApiError {
  override name = "CommandNotFoundError";
}
export class DeviceNotFoundError extends DownlinkApiError {
  override name = "DeviceNotFoundError";
}
export class DeviceRequestNotFoundError extends DownlinkApiError {
  override name = "DeviceRequestNotFoundError";
}
/** The device request was answered already (by a client, or by Downlink after the grace). */
export class DeviceRequestAnsweredError extends DownlinkApiError {
  override name = "DeviceRequestAnsweredError";
}
/** The device request was not answered in time: the dock has given up. */
export class DeviceRequestExpiredError extends DownlinkApiError {
  override name = "DeviceRequestExpiredError";
}
/** No such route (a wrong base URL or path). */
export class RouteNotFoundError extends DownlinkApiError {
  override name = "RouteNotFoundError";
}
export class IdempotencyConflictError extends DownlinkApiError {
  override name = "IdempotencyConflictError";
}
export class PayloadTooLargeError extends DownlinkApiError {
  override name = "PayloadTooLargeError";
}
export class UnsupportedMediaTypeError extends DownlinkApiError {
  override name = "UnsupportedMediaTypeError";
}
/** 503: nothing was accepted; send the same request again (same idempotency key) later. */
export class ServiceUnavailableError extends DownlinkApiError {
  override name = "ServiceUnavailableError";
}
export class InternalError extends DownlinkApiError {
  override name = "InternalError";
}

type ErrorClass = new (
  status: number,
  body: ApiErrorBody,
  retryAfterSeconds?: number,
) => DownlinkApiError;

/** Each error code the API answers with, and its class. */
export const ERROR_CLASSES = {
  INVALID_REQUEST_BODY: InvalidRequestBodyError,
  VALIDATION_FAILED: ValidationFailedError,
  UNSUPPORTED_VENDOR: UnsupportedVendorError,
  UNSUPPORTED_COMMAND: UnsupportedCommandError,
  UNAUTHORIZED: UnauthorizedError,
  SIGNATURE_INVALID: SignatureInvalidError,
  TIMESTAMP_EXPIRED: TimestampExpiredError,
  NONCE_REPLAYED: NonceReplayedError,
  FORBIDDEN: ForbiddenError,
  COMMAND_NOT_FOUND: CommandNotFoundError,
  DEVICE_NOT_FOUND: DeviceNotFoundError,
  DEVICE_REQUEST_NOT_FOUND: DeviceRequestNotFoundError,
  NOT_FOUND: RouteNotFoundError,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError,
  DEVICE_REQUEST_ANSWERED: DeviceRequestAnsweredError,
  DEVICE_REQUEST_EXPIRED: DeviceRequestExpiredError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  SERVICE_UNAVAILABLE: ServiceUnavailableError,
  INTERNAL_ERROR: InternalError,
} as const satisfies Record<string, ErrorClass>;

export type ApiErrorCode = keyof typeof ERROR_CLASSES;

/** The typed error of a non-2xx answer; a body that is no error envelope still becomes one. */
export function apiError(status: number, body: unknown, headers?: Headers): DownlinkApiError {
  const envelope = isEnvelope(body) ? body : {
    code: `HTTP_${status}`,
    message: typeof body === "string" && body !== ""
      ? body.slice(0, 200)
      : "the answer carried no error envelope",
    request_id: headers?.get("x-request-id") ?? "",
  };
  const retryAfter = Number(headers?.get("retry-after") ?? NaN);
  const Class: ErrorClass = Object.hasOwn(ERROR_CLASSES, envelope.code)
    ? ERROR_CLASSES[envelope.code as ApiErrorCode]
    : DownlinkApiError;
  return new Class(status, envelope, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

function isEnvelope(body: unknown): body is ApiErrorBody {
  const b = body as Partial<ApiErrorBody> | null;
  return typeof b === "object" && b !== null && typeof b.code === "string" &&
    typeof b.message === "string";
}
