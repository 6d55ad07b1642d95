// The docks' requests (thing/product/{gateway_sn}/requests) as the API shows them: a page of them
// or one, limited to the devices the caller's grants cover (an unknown request and one of a device
// not granted are the same 404), and a client's answer to one, which goes to the dock on
// requests_reply. One answer per request: a second, or one after it expired, is 409.
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { isUuid } from "../ids.ts";
import {
  DEVICE_REQUEST_STATUSES,
  type DeviceRequestRecord,
  type DeviceRequestStatus,
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
import type { Clock } from "../time.ts";
import type { Logger } from "../log.ts";
import { requireScope } from "./auth.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./commands.ts";
import { ConflictError, type ErrorDetail, NotFoundError, ValidationError } from "./errors.ts";
import { parseJsonBody } from "./json_body.ts";
import { readListQuery } from "./list_query.ts";

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
const DEVICE_ID_RE = new RegExp(DEVICE_ID);
const METHOD_RE = /^[A-Za-z0-9_]{1,128}$/;
const PARAMS = new Set(["device_id", "method", "status", "limit", "cursor"]);

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

/** Reads the list query; throws VALIDATION_FAILED naming every offending parameter. */
export function parseDeviceRequestListQuery(
  queries: Record<string, string[]>,
): DeviceRequestFilter {
  const q = readListQuery(queries, PARAMS);
  const filter: DeviceRequestFilter = { limit: q.limit() };
  const status = q.all("status");
  if (status) {
    const statuses = status.flatMap((v) => v.split(",")).map((s) => s.trim());
    const unknown = statuses.filter((s) =>
      !(DEVICE_REQUEST_STATUSES as readonly string[]).includes(s)
    );
    if (unknown.length > 0) {
      q.fail(
        "status",
        `must be a comma-separated list of ${DEVICE_REQUEST_STATUSES.join(", ")}, got ${
          describeValue(unknown[0])
        }`,
      );
    } else filter.statuses = [...new Set(statuses)] as DeviceRequestStatus[];
  }
  const deviceId = q.one("device_id");
  if (deviceId !== undefined) {
    if (deviceId.length > 64 || !DEVICE_ID_RE.test(deviceId)) {
      q.fail(
        "device_id",
        `must be a device id (1-64 of A-Z a-z 0-9 . _ -), got ${describeValue(deviceId)}`,
      );
    } else filter.deviceId = deviceId;
  }
  const method = q.one("method");
  if (method !== undefined) {
    if (!METHOD_RE.test(method)) {
      q.fail(
        "method",
        `must be a DJI method name (e.g. flight_areas_get), got ${describeValue(method)}`,
      );
    } else filter.method = method;
  }
  const after = q.cursor(decodeRequestCursor);
  if (after) filter.after = after;
  q.done("device requests");
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

function parseRequestId(raw: string, what: string): string {
  if (isUuid(raw)) return raw.toLowerCase();
  throw new ValidationError(
    "VALIDATION_FAILED",
    `Cannot ${what}: path.request_id must be a UUID, got ${JSON.stringify(raw.slice(0, 80))}`,
    [{ path: "path.request_id", reason: "must be a UUID" }],
  );
}

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

export function deviceRequestRoutes(deps: DeviceRequestRoutesDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get("/", async (c) => {
    const client = c.get("client");
    requireScope(client, DEVICE_REQUEST_READ_SCOPE);
    const filter = parseDeviceRequestListQuery(c.req.queries() ?? {});
    const page = await deps.deviceRequests.listRequests(client.devices, filter);
    const items = page.items.map(deviceRequestView);
    return c.json(
      page.next ? { items, next_cursor: encodeRequestCursor(page.next) } : { items },
    );
  });
  routes.get("/:request_id", async (c) => {
    const client = c.get("client");
    requireScope(client, DEVICE_REQUEST_READ_SCOPE);
    const id = parseRequestId(c.req.param("request_id"), "read device request");
    const found = await deps.deviceRequests.getRequest(client.devices, id);
    if (!found) throw notFound(id);
    return c.json(deviceRequestView(found));
  });
  routes.post("/:request_id/reply", async (c) => {
    const client = c.get("client");
    requireScope(client, DEVICE_REQUEST_CREATE_SCOPE);
    const id = parseRequestId(c.req.param("request_id"), "answer device request");
    const answer = parseDeviceRequestReply(
      parseJsonBody(c.get("rawBody"), "Cannot answer device request"),
    );
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
  });
  return routes;
}
