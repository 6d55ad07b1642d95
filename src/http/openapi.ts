// GET /openapi.json (unsigned): the OpenAPI 3.1 document of the HTTP API. Schemas are TypeBox
// (JSON Schema): the request envelope is the one the API validates with; the response shapes
// are declared here and tests check real responses against them.
import { type TSchema, Type } from "@sinclair/typebox";
import { Hono } from "hono";
import { SIGNING_ALGORITHM } from "./signing.ts";
import { CommandRequestSchema, MAX_TIMEOUT_SECONDS } from "./command_request.ts";
import { COMMANDS_PATH } from "./commands.ts";
import { CATALOG_PATH, plainJsonSchema } from "./catalog.ts";
import { COMMAND_STATUSES } from "./command_list.ts";
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from "./list_query.ts";
import { WAIT_DEFAULT_SECONDS, WAIT_MAX_SECONDS, WAIT_UNTIL } from "./command_wait.ts";
import { METRICS_PATH } from "./metrics.ts";
import { DEVICE_READ_SCOPE, DEVICES_PATH } from "./devices.ts";
import {
  DEVICE_REQUEST_CREATE_SCOPE,
  DEVICE_REQUEST_READ_SCOPE,
  DEVICE_REQUESTS_PATH,
  DeviceRequestReplySchema,
} from "./device_requests.ts";
import { DEVICE_REQUEST_STATUSES } from "../device/device_request.ts";
import { AUTO_ANSWERED_METHODS } from "../vendors/dji/request_auto_answers.ts";
import { SEED_COMMAND } from "../vendors/dji/seed_command.ts";

export const OPENAPI_PATH = "/openapi.json";

const DateTime = (description?: string) =>
  Type.String({ format: "date-time", ...(description ? { description } : {}) });

export const CommandStatusSchema = Type.Union(COMMAND_STATUSES.map((s) => Type.Literal(s)));

/** A long job's progress as its dock reports it on `events` (linked by bid, flight id or file key). */
export const ProgressSchema = Type.Object({
  status: Type.String({
    description: "The dock's status of the job (e.g. in_progress, ok, failed, wayline_ok)",
  }),
  percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  step: Type.Optional(Type.String({ description: "step_key or current_step" })),
  result: Type.Optional(Type.Number({ description: "The event's data.result; 0 is no error" })),
  failure_reason: Type.Optional(Type.String({
    description: "DJI's documented text for a non-zero result",
  })),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: "Per method: `files` [{module, key, size, fingerprint, percent, ...}] for an " +
      "upload, else the event's ext or its other fields",
  })),
  updated_at: DateTime(),
  finished_at: Type.Optional(DateTime("When a terminal status of the job was first reported")),
}, { additionalProperties: false });

/** The Query Response: a field with no value yet is left out; never the payload. */
export const CommandViewSchema = Type.Object({
  command_id: Type.String({ format: "uuid" }),
  status: CommandStatusSchema,
  vendor: Type.String(),
  device_id: Type.String(),
  command_type: Type.String(),
  response_code: Type.Optional(Type.String()),
  response_message: Type.Optional(Type.String()),
  vendor_response: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: "{tid, bid, method, timestamp, gateway?, result, code?, message?, output?, ...}",
  })),
  failure_code: Type.Optional(Type.String()),
  failure_reason: Type.Optional(Type.String({
    description: "For a device failure, DJI's documented text of the result code: " +
      '"514116: Unable to perform operation. Dock is executing other command. Try again later"; ' +
      "an undocumented code names its module",
  })),
  progress: Type.Optional(ProgressSchema),
  timeout_seconds: Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_SECONDS }),
  accepted_at: DateTime(),
  delivered_at: Type.Optional(DateTime()),
  response_received_at: Type.Optional(DateTime()),
  completed_at: Type.Optional(DateTime()),
  deadline_at: DateTime("accepted_at + timeout_seconds"),
  updated_at: DateTime(),
}, { additionalProperties: false });

export const AcceptedSchema = Type.Object({
  command_id: Type.String({ format: "uuid" }),
  status: Type.Literal("ACCEPTED"),
  accepted_at: DateTime(),
  request_id: Type.String(),
}, { additionalProperties: false });

export const CommandListSchema = Type.Object({
  items: Type.Array(CommandViewSchema),
  next_cursor: Type.Optional(Type.String({
    description: "Present when more items follow: pass it as `cursor` for the next page",
  })),
}, { additionalProperties: false });

export const CatalogSchema = Type.Object({
  items: Type.Array(Type.Object({
    vendor: Type.Literal("dji"),
    method: Type.String(),
    module: Type.String(),
    channel: Type.Union([Type.Literal("services"), Type.Literal("drc")]),
    summary: Type.String(),
    devices: Type.Array(Type.String()),
    progress_event: Type.Optional(Type.String()),
    progress_terminal_statuses: Type.Optional(Type.Array(Type.String(), {
      description: "Progress statuses that end the job (set progress.finished_at)",
    })),
    exclusivity_class: Type.Optional(Type.Object({
      name: Type.String(),
      busy_codes: Type.Array(Type.Integer(), {
        description: "DJI result codes a dock refuses a second job of the class with",
      }),
    }, { additionalProperties: false })),
    secret_fields: Type.Array(Type.String(), {
      description: "Payload paths stored encrypted and never logged",
    }),
    payload_schema: Type.Record(Type.String(), Type.Unknown(), {
      description: "JSON Schema of the command's payload",
    }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const SubDeviceSchema = Type.Object({
  device_id: Type.String(),
  model: Type.Optional(Type.String()),
  type: Type.Optional(Type.Integer()),
  sub_type: Type.Optional(Type.Integer()),
  firmware_version: Type.Optional(Type.String()),
  online: Type.Boolean(),
}, { additionalProperties: false });

/** A device of the registry: a gateway (dock or RC) or an aircraft behind one. */
export const DeviceViewSchema = Type.Object({
  device_id: Type.String(),
  kind: Type.Union([Type.Literal("gateway"), Type.Literal("aircraft")]),
  model: Type.Optional(Type.String({ description: "From DJI's product type, where known" })),
  type: Type.Optional(Type.Integer({ description: "DJI product enum `type`" })),
  sub_type: Type.Optional(Type.Integer({ description: "DJI product enum `sub_type`" })),
  firmware_version: Type.Optional(Type.String({ description: "From the device's `state`" })),
  online: Type.Boolean(),
  online_since: Type.Optional(DateTime("Set while online")),
  last_seen_at: Type.Optional(DateTime("The latest message from the device, to within seconds")),
  gateway_sn: Type.Optional(Type.String({ description: "An aircraft's gateway" })),
  sub_devices: Type.Optional(Type.Array(SubDeviceSchema, {
    description: "A gateway's aircraft, as its latest update_topo lists them",
  })),
}, { additionalProperties: false });

export const DeviceListSchema = Type.Object({
  items: Type.Array(DeviceViewSchema),
  next_cursor: Type.Optional(Type.String({
    description: "Present when more items follow: pass it as `cursor` for the next page",
  })),
}, { additionalProperties: false });

const DeviceRequestAnswerSchema = Type.Object({
  result: Type.Integer(),
  output: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { additionalProperties: false });

/** A request a dock sent on thing/product/{gateway_sn}/requests, and what became of it. */
export const DeviceRequestViewSchema = Type.Object({
  request_id: Type.String({ format: "uuid", description: "The same for the gateway and tid" }),
  device_id: Type.String({ description: "The gateway that sent it" }),
  gateway_sn: Type.String(),
  method: Type.String({ description: "DJI's request method, e.g. storage_config_get" }),
  tid: Type.String(),
  bid: Type.Optional(Type.String()),
  data: Type.Unknown({ description: "The request's data as the dock sent it" }),
  device_timestamp: Type.Optional(Type.Number({ description: "The dock's clock, epoch ms" })),
  status: Type.Union(DEVICE_REQUEST_STATUSES.map((s) => Type.Literal(s))),
  received_at: DateTime(),
  auto_answer_at: Type.Optional(DateTime(
    `When Downlink answers it itself if no client has (${AUTO_ANSWERED_METHODS.join(", ")})`,
  )),
  expires_at: DateTime("After this it cannot be answered (the dock has given up)"),
  answered_at: Type.Optional(DateTime()),
  answered_by: Type.Optional(Type.Union([Type.Literal("client"), Type.Literal("downlink")])),
  client_id: Type.Optional(Type.String({ description: "The client that answered" })),
  answer: Type.Optional(DeviceRequestAnswerSchema),
  expired_at: Type.Optional(DateTime()),
}, { additionalProperties: false });

export const DeviceRequestListSchema = Type.Object({
  items: Type.Array(DeviceRequestViewSchema),
  next_cursor: Type.Optional(Type.String({
    description: "Present when more items follow: pass it as `cursor` for the next page",
  })),
}, { additionalProperties: false });

/** The error envelope of every non-2xx answer. */
export const ErrorSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  request_id: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: "JSON path ($.payload.x) or query.<parameter>" }),
    reason: Type.String(),
  }))),
}, { additionalProperties: false });

export const ServiceIndexSchema = Type.Object({
  name: Type.Literal("downlink"),
  version: Type.String({ description: "The version of package.json" }),
  links: Type.Object({
    openapi: Type.String(),
    health: Type.String(),
    ready: Type.String(),
    docs: Type.String(),
  }),
}, { additionalProperties: false });

const SCHEMAS: Record<string, TSchema> = {
  CommandRequest: CommandRequestSchema,
  Accepted: AcceptedSchema,
  CommandView: CommandViewSchema,
  CommandList: CommandListSchema,
  DeviceView: DeviceViewSchema,
  DeviceList: DeviceListSchema,
  DeviceRequestView: DeviceRequestViewSchema,
  DeviceRequestList: DeviceRequestListSchema,
  DeviceRequestReply: DeviceRequestReplySchema,
  Catalog: CatalogSchema,
  Error: ErrorSchema,
  ServiceIndex: ServiceIndexSchema,
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const errorResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });

const SIGNED_ERRORS = {
  "401": errorResponse("Unauthorized"),
  "403": errorResponse("Forbidden"),
  "500": errorResponse("InternalError"),
  "503": errorResponse("ServiceUnavailable"),
};

const SIGNED = [{ ApiId: [], ApiTimestamp: [], ApiNonce: [], ApiSignature: [] }];
const UNSIGNED: never[] = [];

const requestIdHeader = {
  "X-Request-Id": {
    description: "The caller's X-Request-Id when given (sane), else a generated one",
    schema: { type: "string" },
  },
};

const query = (name: string, schema: Record<string, unknown>, description: string) => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

/** `limit` and `cursor`, as every list endpoint reads them (src/http/list_query.ts). */
const pageParams = [
  query(
    "limit",
    { type: "integer", minimum: 1, maximum: LIST_MAX_LIMIT, default: LIST_DEFAULT_LIMIT },
    "Page size",
  ),
  query("cursor", { type: "string" }, "The previous page's next_cursor, as it came"),
];

const requestIdParam = {
  name: "request_id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
};

const commandIdParam = {
  name: "command_id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
};

function buildDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Downlink",
      version: "1",
      description:
        "Command gateway for DJI docks and drones: accept a signed command, follow it to its end.",
    },
    security: SIGNED,
    paths: {
      [COMMANDS_PATH]: {
        post: {
          operationId: "createCommand",
          summary: "Accept a command (scope open:command:create, device grant)",
          requestBody: {
            required: true,
            description: "At most 64 KiB. `payload` is checked against the command type's " +
              `schema (GET ${CATALOG_PATH}); unknown fields inside it pass through.`,
            content: {
              "application/json": { schema: ref("CommandRequest"), example: SEED_COMMAND },
            },
          },
          responses: {
            "202": {
              ...json(ref("Accepted"), "Accepted (or an idempotent replay)"),
              headers: {
                ...requestIdHeader,
                "Idempotent-Replayed": {
                  description: "`true` when the idempotency key was seen with the same request",
                  schema: { type: "string", enum: ["true"] },
                },
              },
            },
            "400": errorResponse("BadRequest"),
            "409": errorResponse("Conflict"),
            "413": errorResponse("PayloadTooLarge"),
            "415": errorResponse("UnsupportedMediaType"),
            ...SIGNED_ERRORS,
          },
        },
        get: {
          operationId: "listCommands",
          summary: "The tenant's commands, newest first (scope open:command:read)",
          parameters: [
            query("status", { type: "string" }, `Comma list of ${COMMAND_STATUSES.join(", ")}`),
            query("device_id", { type: "string" }, "Only this device's commands"),
            query("command_type", { type: "string" }, "Only this command type"),
            query(
              "accepted_after",
              { type: "string", format: "date-time" },
              "RFC 3339, inclusive (send `+` as `%2B`)",
            ),
            query(
              "accepted_before",
              { type: "string", format: "date-time" },
              "RFC 3339, exclusive",
            ),
            ...pageParams,
          ],
          responses: {
            "200": { ...json(ref("CommandList"), "One page"), headers: requestIdHeader },
            "400": errorResponse("BadRequest"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [`${COMMANDS_PATH}/{command_id}`]: {
        get: {
          operationId: "getCommand",
          summary: "The command's state (scope open:command:read)",
          parameters: [commandIdParam],
          responses: {
            "200": { ...json(ref("CommandView"), "The Query Response"), headers: requestIdHeader },
            "400": errorResponse("BadRequest"),
            "404": errorResponse("NotFound"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [`${COMMANDS_PATH}/{command_id}/wait`]: {
        get: {
          operationId: "waitForCommand",
          summary: "The command's state once terminal, or after timeout_seconds",
          parameters: [
            commandIdParam,
            query(
              "timeout_seconds",
              {
                type: "integer",
                minimum: 0,
                maximum: WAIT_MAX_SECONDS,
                default: WAIT_DEFAULT_SECONDS,
              },
              "How long to wait for a terminal state",
            ),
            query(
              "until",
              { type: "string", enum: [...WAIT_UNTIL], default: "terminal" },
              "`terminal`: the reply decided the status; `finished`: the job's terminal progress " +
                "(finished_at), or a status that ends it without one (FAILED, TIMED_OUT, ...)",
            ),
          ],
          responses: {
            "200": {
              ...json(ref("CommandView"), "The Query Response"),
              headers: {
                ...requestIdHeader,
                "X-Wait-Timed-Out": {
                  description:
                    "`true` when what `until` waits for had not happened when the wait ended",
                  schema: { type: "string", enum: ["true"] },
                },
              },
            },
            "400": errorResponse("BadRequest"),
            "404": errorResponse("NotFound"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [DEVICES_PATH]: {
        get: {
          operationId: "listDevices",
          summary:
            `The devices the client's grants cover, by device_id (scope ${DEVICE_READ_SCOPE})`,
          parameters: [
            query("online", { type: "boolean" }, "Only online (true) or offline (false) devices"),
            query("device_id", { type: "string" }, "Only devices whose id starts with this"),
            ...pageParams,
          ],
          responses: {
            "200": { ...json(ref("DeviceList"), "One page"), headers: requestIdHeader },
            "400": errorResponse("BadRequest"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [`${DEVICES_PATH}/{device_id}`]: {
        get: {
          operationId: "getDevice",
          summary: `One device (scope ${DEVICE_READ_SCOPE})`,
          parameters: [{
            name: "device_id",
            in: "path",
            required: true,
            schema: { type: "string" },
          }],
          responses: {
            "200": { ...json(ref("DeviceView"), "The device"), headers: requestIdHeader },
            "404": errorResponse("DeviceNotFound"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [DEVICE_REQUESTS_PATH]: {
        get: {
          operationId: "listDeviceRequests",
          summary: "The requests docks sent (thing/product/{gateway_sn}/requests) of the " +
            `devices the client's grants cover, newest first (scope ${DEVICE_REQUEST_READ_SCOPE})`,
          parameters: [
            query("device_id", { type: "string" }, "Only this gateway's requests"),
            query("method", { type: "string" }, "Only this method, e.g. storage_config_get"),
            query(
              "status",
              { type: "string" },
              `Comma list of ${DEVICE_REQUEST_STATUSES.join(", ")}`,
            ),
            ...pageParams,
          ],
          responses: {
            "200": { ...json(ref("DeviceRequestList"), "One page"), headers: requestIdHeader },
            "400": errorResponse("BadRequest"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [`${DEVICE_REQUESTS_PATH}/{request_id}`]: {
        get: {
          operationId: "getDeviceRequest",
          summary: `One device request (scope ${DEVICE_REQUEST_READ_SCOPE})`,
          parameters: [requestIdParam],
          responses: {
            "200": { ...json(ref("DeviceRequestView"), "The request"), headers: requestIdHeader },
            "400": errorResponse("BadRequest"),
            "404": errorResponse("DeviceRequestNotFound"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [`${DEVICE_REQUESTS_PATH}/{request_id}/reply`]: {
        post: {
          operationId: "replyToDeviceRequest",
          summary: "Answer a device request: the dock gets it on requests_reply, with the " +
            `request's tid, bid and method (scope ${DEVICE_REQUEST_CREATE_SCOPE})`,
          parameters: [requestIdParam],
          requestBody: {
            required: true,
            description: "DJI's requests_reply data: `result` (0 is success) and the `output` " +
              "the method asks for",
            content: {
              "application/json": {
                schema: ref("DeviceRequestReply"),
                example: { result: 0, output: { files: [] } },
              },
            },
          },
          responses: {
            "200": {
              ...json(ref("DeviceRequestView"), "Answered; the answer is on its way to the dock"),
              headers: requestIdHeader,
            },
            "400": errorResponse("BadRequest"),
            "404": errorResponse("DeviceRequestNotFound"),
            "409": errorResponse("DeviceRequestConflict"),
            "413": errorResponse("PayloadTooLarge"),
            "415": errorResponse("UnsupportedMediaType"),
            ...SIGNED_ERRORS,
          },
        },
      },
      [CATALOG_PATH]: {
        get: {
          operationId: "getCatalog",
          summary: "Every command type with its payload's JSON Schema (any active client)",
          parameters: [query("module", { type: "string" }, "Only this module, e.g. file")],
          responses: {
            "200": json(ref("Catalog"), "The catalog, sorted by method"),
            ...SIGNED_ERRORS,
          },
        },
      },
      "/": {
        get: {
          operationId: "serviceIndex",
          summary: "Name, version and links to this document, health, readiness and docs",
          security: UNSIGNED,
          responses: { "200": json(ref("ServiceIndex"), "The index") },
        },
      },
      "/healthz": {
        get: {
          operationId: "health",
          summary: "200 once the process serves",
          security: UNSIGNED,
          responses: { "200": json({ type: "object" }, "Serving") },
        },
      },
      "/readyz": {
        get: {
          operationId: "readiness",
          summary: "200 only when Postgres, NATS and MQTT are reachable",
          security: UNSIGNED,
          responses: {
            "200": json({ type: "object" }, "Ready"),
            "503": json({ type: "object" }, "A dependency is unreachable (named in `failed`)"),
          },
        },
      },
      [METRICS_PATH]: {
        get: {
          operationId: "metrics",
          summary: "Process counters, Prometheus text format",
          security: UNSIGNED,
          responses: {
            "200": {
              description: "Prometheus text exposition format 0.0.4",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      [OPENAPI_PATH]: {
        get: {
          operationId: "openapi",
          summary: "This document",
          security: UNSIGNED,
          responses: { "200": json({ type: "object" }, "OpenAPI 3.1") },
        },
      },
    },
    components: {
      schemas: Object.fromEntries(
        Object.entries(SCHEMAS).map(([name, schema]) => [name, plainJsonSchema(schema)]),
      ),
      responses: {
        BadRequest: json(
          ref("Error"),
          "VALIDATION_FAILED (with details), INVALID_REQUEST_BODY, UNSUPPORTED_VENDOR, " +
            "UNSUPPORTED_COMMAND",
        ),
        Unauthorized: json(
          ref("Error"),
          "UNAUTHORIZED, SIGNATURE_INVALID, TIMESTAMP_EXPIRED, NONCE_REPLAYED",
        ),
        Forbidden: json(ref("Error"), "FORBIDDEN: a scope or device grant is missing"),
        NotFound: json(
          ref("Error"),
          "COMMAND_NOT_FOUND: unknown, or another tenant's (never told apart)",
        ),
        DeviceNotFound: json(
          ref("Error"),
          "DEVICE_NOT_FOUND: unknown, or not covered by the client's device grants (never told apart)",
        ),
        DeviceRequestNotFound: json(
          ref("Error"),
          "DEVICE_REQUEST_NOT_FOUND: unknown, or its device not covered by the client's device " +
            "grants (never told apart)",
        ),
        DeviceRequestConflict: json(
          ref("Error"),
          "DEVICE_REQUEST_ANSWERED: answered already (by a client or by Downlink); " +
            "DEVICE_REQUEST_EXPIRED: not answered before expires_at",
        ),
        Conflict: json(ref("Error"), "IDEMPOTENCY_CONFLICT: the key was used with another request"),
        PayloadTooLarge: json(ref("Error"), "PAYLOAD_TOO_LARGE: body over 64 KiB"),
        UnsupportedMediaType: json(ref("Error"), "UNSUPPORTED_MEDIA_TYPE: not application/json"),
        InternalError: json(ref("Error"), "INTERNAL_ERROR: quote request_id to the operator"),
        ServiceUnavailable: json(
          ref("Error"),
          "SERVICE_UNAVAILABLE: a dependency is down; nothing was accepted",
        ),
      },
      securitySchemes: {
        ApiId: {
          type: "apiKey",
          in: "header",
          name: "X-Api-Id",
          description: "The API client's id",
        },
        ApiTimestamp: {
          type: "apiKey",
          in: "header",
          name: "X-Api-Timestamp",
          description: "Unix seconds, within the client's allowed_clock_skew_seconds",
        },
        ApiNonce: {
          type: "apiKey",
          in: "header",
          name: "X-Api-Nonce",
          description: "16-64 chars of [A-Za-z0-9_-], used once per client in the replay window",
        },
        ApiSignature: {
          type: "apiKey",
          in: "header",
          name: "X-Api-Signature",
          description: "Lowercase hex HMAC-SHA256, keyed with the client secret, of eight " +
            `lines joined by \\n: ${SIGNING_ALGORITHM}, METHOD, PATH, CANONICAL_QUERY (keys ` +
            "sorted, RFC 3986 encoded, k=v joined by &; empty if none), X-Api-Id, " +
            "X-Api-Timestamp, X-Api-Nonce, hex(sha256(raw body)) (of the empty string for GET)",
        },
      },
    },
  };
}

let document: string | undefined;

/** The OpenAPI document as JSON text, built once. */
export function openApiJson(): string {
  return document ??= JSON.stringify(buildDocument());
}

export function openApiRoutes(): Hono {
  const routes = new Hono();
  routes.get(
    OPENAPI_PATH,
    (c) => c.body(openApiJson(), 200, { "Content-Type": "application/json; charset=utf-8" }),
  );
  return routes;
}
