// The docks' requests (thing/product/{gateway_sn}/requests) as the API shows them: a page of them
// or one, limited to the devices the caller's grants cover (an unknown request and one of a device
// not granted are the same 404), and a client's answer to one, which goes to the dock on
// requests_reply. One answer per request: a second, or one after it expired, is 409.
import { Buffer } from "node:buffer";
import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { isUuid } from "../command/ids.ts";
import {
  DEVICE_REQUEST_STATUSES,
  type DeviceRequestRecord,
  deviceRequestView,
} from "../device/device_request.ts";
import type {
  DeviceRequestFilter,
  DeviceRequestPosition,
  DeviceRequestReader,
  DeviceRequestStore,
} from "../store/device_request_store.ts";
import type { DeviceRequestAnswer } from "../vendors/vendor_adapter.ts";
import { describeValue } from "../json/describe_value.ts";
import type { Clock } from "../async/time.ts";
import type { Logger } from "../runtime/log.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./api_env.ts";
import { ConflictError, type ErrorDetail, NotFoundError, ValidationError } from "./errors.ts";
import { cursorParam, limitParam, statusListParam } from "./list_query.ts";
import { defineRoute, param, type ParamValues, readQuery } from "./route.ts";

export const DEVICE_REQUESTS_PATH = "/api/v1/open/downlink/device-requests";
export const DEVICE_REQUEST_READ_SCOPE = "open:device-request:read";
export const DEVICE_REQUEST_CREATE_SCOPE = "open:device-request:create";

/** A client's answer: DJI's requests_reply `data`. */
export const DeviceRequestReplySchema = Type.Object({
  result: Type.Integer({ description: "DJI's result: 0 is success" }),
  output: Type.Optional(Type.Object({}, {
    description: "What the request asks for, as DJI documents it per method " +
      "(e.g. storage_config_get: {bucket, credentials, endpoint, provider, region, " +
      "object_key_prefix})",
  })),
}, { additionalProperties: false });

const checkReply = TypeCompiler.Compile(DeviceRequestReplySchema);
const REPLY_RULES: Record<string, string> = {
  result: "must be an integer",
  output: "must be an object",
};

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const METHOD_PATTERN = "^[A-Za-z0-9_]{1,128}$";

/** The opaque cursor: base64url of `received_at|request_id` of the previous page's last item. */
export function encodeRequestCursor(position: DeviceRequestPosition): string {
  return Buffer.from(`${position.receivedAt}|${position.requestId}`, "utf8").toString(
    "base64url",
  );
}

export function decodeRequestCursor(cursor: string): DeviceRequestPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  const [receivedAt, requestId, extra] = Buffer.from(cursor, "base64url").toString("utf8")
    .split("|");
  if (extra !== undefined || !CURSOR_AT.test(receivedAt ?? "") || !isUuid(requestId ?? "")) {
    return undefined;
  }
  if (Number.isNaN(Date.parse(receivedAt))) return undefined;
  return { receivedAt, requestId };
}

/** The query of GET /device-requests; checked in this order, each problem as `query.<name>`. */
export const deviceRequestListQuery = {
  cannot: "Cannot list device requests",
  strict: true,
  params: {
    limit: limitParam,
    status: statusListParam(DEVICE_REQUEST_STATUSES),
    device_id: param(Type.String({ maxLength: 64, pattern: DEVICE_ID }), {
      description: "Only this gateway's requests",
      rule: "must be a device id (1-64 of A-Z a-z 0-9 . _ -)",
    }),
    method: param(Type.String({ pattern: METHOD_PATTERN }), {
      description: "Only this method, e.g. storage_config_get",
      rule: "must be a DJI method name (e.g. flight_areas_get)",
    }),
    cursor: cursorParam(decodeRequestCursor),
  },
};

/** Reads the list query; throws VALIDATION_FAILED naming every offending parameter. */
export function parseDeviceRequestListQuery(
  queries: Record<string, string[]>,
): DeviceRequestFilter {
  return requestFilter(readQuery(deviceRequestListQuery, queries));
}

function requestFilter(
  q: ParamValues<typeof deviceRequestListQuery.params>,
): DeviceRequestFilter {
  const filter: DeviceRequestFilter = { limit: q.limit };
  if (q.status) filter.statuses = q.status;
  if (q.device_id !== undefined) filter.deviceId = q.device_id;
  if (q.method !== undefined) filter.method = q.method;
  if (q.cursor) filter.after = q.cursor;
  return filter;
}

/** A valid answer, or VALIDATION_FAILED naming every offending JSON path. */
export function parseDeviceRequestReply(body: unknown): DeviceRequestAnswer {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("VALIDATION_FAILED", "Request body must be a JSON object", [
      { path: "$", reason: `must be a JSON object, got ${describeValue(body)}` },
    ]);
  }
  if (checkReply.Check(body)) {
    const b = body as DeviceRequestAnswer;
    return { result: b.result, ...(b.output !== undefined ? { output: b.output } : {}) };
  }
  const byPath = new Map<string, string>();
  for (const e of checkReply.Errors(body) as Iterable<ValueError>) {
    const field = e.path.split("/")[1] ?? "";
    const path = field === "" ? "$" : `$.${field}`;
    if (byPath.has(path) || field === "") continue;
    if (e.type === ValueErrorType.ObjectAdditionalProperties || !(field in REPLY_RULES)) {
      byPath.set(path, "is not a known field");
    } else if (e.type === ValueErrorType.ObjectRequiredProperty || e.value === undefined) {
      byPath.set(path, "is required");
    } else {
      byPath.set(path, `${REPLY_RULES[field]}, got ${describeValue(e.value)}`);
    }
  }
  const details: ErrorDetail[] = [...byPath].map(([path, reason]) => ({ path, reason }));
  const first = details[0];
  throw new ValidationError(
    "VALIDATION_FAILED",
    `Cannot answer device request: ${first.path} ${first.reason}${
      details.length > 1 ? ` (and ${details.length - 1} more)` : ""
    }`,
    details,
  );
}

/** `{request_id}`: a UUID, lowercased; `cannot` starts the 400 of one that is not. */
const requestIdPath = (cannot: string) => ({
  cannot,
  params: {
    request_id: param(Type.String({ format: "uuid" }), {
      refine: (id: string) => ({ value: id.toLowerCase() }),
    }),
  },
});

const notFound = (id: string) =>
  new NotFoundError("DEVICE_REQUEST_NOT_FOUND", `No device request ${JSON.stringify(id)}`);

export interface DeviceRequestRoutesDeps {
  clock: Clock;
  log: Logger;
  deviceRequests: DeviceRequestReader & Pick<DeviceRequestStore, "answer">;
  /** Hands a committed answer to the bridge (it then goes to the dock); a failure leaves it to
   * the partition's shard, which hands over answers not handed over. */
  handOverAnswer(record: DeviceRequestRecord): Promise<void>;
}

/** GET /device-requests: a page of the requests of the devices the client's grants cover. */
export const listDeviceRequestsRoute = defineRoute({
  method: "get",
  path: DEVICE_REQUESTS_PATH,
  operationId: "listDeviceRequests",
  summary: "The requests docks sent (thing/product/{gateway_sn}/requests) of the " +
    `devices the client's grants cover, newest first (scope ${DEVICE_REQUEST_READ_SCOPE})`,
  scope: DEVICE_REQUEST_READ_SCOPE,
  query: deviceRequestListQuery,
  responses: {
    "200": { description: "One page", schema: "DeviceRequestList" },
    "400": "BadRequest",
  },
  async handle(c: Context<ApiEnv>, { query }, deps: DeviceRequestRoutesDeps) {
    const page = await deps.deviceRequests.listRequests(
      c.get("client").devices,
      requestFilter(query),
    );
    const items = page.items.map(deviceRequestView);
    return c.json(
      page.next ? { items, next_cursor: encodeRequestCursor(page.next) } : { items },
    );
  },
});

/** GET /device-requests/{request_id}. */
export const getDeviceRequestRoute = defineRoute({
  method: "get",
  path: `${DEVICE_REQUESTS_PATH}/:request_id`,
  operationId: "getDeviceRequest",
  summary: `One device request (scope ${DEVICE_REQUEST_READ_SCOPE})`,
  scope: DEVICE_REQUEST_READ_SCOPE,
  pathParams: requestIdPath("Cannot read device request"),
  responses: {
    "200": { description: "The request", schema: "DeviceRequestView" },
    "400": "BadRequest",
    "404": "DeviceRequestNotFound",
  },
  async handle(c: Context<ApiEnv>, { path: { request_id: id } }, deps: DeviceRequestRoutesDeps) {
    const found = await deps.deviceRequests.getRequest(c.get("client").devices, id);
    if (!found) throw notFound(id);
    return c.json(deviceRequestView(found));
  },
});

/** POST /device-requests/{request_id}/reply: a client's answer, on its way to the dock. */
export const replyToDeviceRequestRoute = defineRoute({
  method: "post",
  path: `${DEVICE_REQUESTS_PATH}/:request_id/reply`,
  operationId: "replyToDeviceRequest",
  summary: "Answer a device request: the dock gets it on requests_reply, with the " +
    `request's tid, bid and method (scope ${DEVICE_REQUEST_CREATE_SCOPE})`,
  scope: DEVICE_REQUEST_CREATE_SCOPE,
  pathParams: requestIdPath("Cannot answer device request"),
  body: {
    name: "DeviceRequestReply",
    schema: DeviceRequestReplySchema,
    description: "DJI's requests_reply data: `result` (0 is success) and the `output` " +
      "the method asks for",
    example: () => ({ result: 0, output: { files: [] } }),
    cannot: "Cannot answer device request",
    read: (json) => parseDeviceRequestReply(json),
  },
  responses: {
    "200": {
      description: "Answered; the answer is on its way to the dock",
      schema: "DeviceRequestView",
    },
    "400": "BadRequest",
    "404": "DeviceRequestNotFound",
    "409": "DeviceRequestConflict",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
  },
  async handle(
    c: Context<ApiEnv>,
    { path: { request_id: id }, body: answer },
    deps: DeviceRequestRoutesDeps,
  ) {
    const client = c.get("client");
    // Its device must be granted: a request the client cannot see is not there for it.
    if (!(await deps.deviceRequests.getRequest(client.devices, id))) throw notFound(id);
    const outcome = await deps.deviceRequests.answer(
      id,
      answer,
      { by: "client", client_id: client.client_id },
      deps.clock.now(),
    );
    if (outcome.outcome === "not_found") throw notFound(id);
    if (outcome.outcome === "already_answered") {
      const r = outcome.record;
      throw new ConflictError(
        "DEVICE_REQUEST_ANSWERED",
        `Cannot answer device request: it was answered at ${
          new Date(r.answered_at!).toISOString()
        } by ${r.answered_by === "downlink" ? "Downlink (after the grace period)" : "a client"}`,
      );
    }
    if (outcome.outcome === "expired") {
      throw new ConflictError(
        "DEVICE_REQUEST_EXPIRED",
        `Cannot answer device request: it expired unanswered at ${
          new Date(outcome.record.expires_at).toISOString()
        }`,
      );
    }
    await deps.handOverAnswer(outcome.record).catch((err) =>
      // Committed: the partition's shard hands it over within seconds.
      deps.log.warn("could not hand an answer to the bridge; the shard will", {
        err,
        request_id: id,
      })
    );
    return c.json(deviceRequestView(outcome.record));
  },
});
