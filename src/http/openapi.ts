// GET /openapi.json (unsigned): the OpenAPI 3.1 document of the HTTP API, each operation derived
// from its route's definition (route.ts): the parameters and bodies are the schemas the requests
// are checked with. The response shapes are declared here and tests check real responses
// against them.
import { type TSchema, Type } from "@sinclair/typebox";
import type { Context } from "hono";
import { SIGNING_ALGORITHM } from "./signing.ts";
import { MAX_TIMEOUT_SECONDS } from "./command_request.ts";
import { plainJsonSchema } from "./catalog.ts";
import { COMMAND_STATUSES } from "./command_list.ts";
import { DEVICE_REQUEST_STATUSES } from "../device/device_request.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import { defineRoute, type Param, type ResponseSpec, type Route } from "./route.ts";

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

/** The catalog's schema: `vendor` is the one registered name (a literal), or one of several. */
export const catalogSchema = (vendors: readonly string[]) =>
  Type.Object({
    items: Type.Array(Type.Object({
      vendor: vendors.length === 1
        ? Type.Literal(vendors[0])
        : Type.Union(vendors.map((v) => Type.Literal(v))),
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

/** A request a dock sent on thing/product/{gateway_sn}/requests, and what became of it; the
 * vendor names the requests Downlink answers itself. */
export const deviceRequestViewSchema = (autoAnswered: readonly string[]) =>
  Type.Object({
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
      `When Downlink answers it itself if no client has (${autoAnswered.join(", ")})`,
    )),
    expires_at: DateTime("After this it cannot be answered (the dock has given up)"),
    answered_at: Type.Optional(DateTime()),
    answered_by: Type.Optional(Type.Union([Type.Literal("client"), Type.Literal("downlink")])),
    client_id: Type.Optional(Type.String({ description: "The client that answered" })),
    answer: Type.Optional(DeviceRequestAnswerSchema),
    expired_at: Type.Optional(DateTime()),
  }, { additionalProperties: false });

export const deviceRequestListSchema = (view: TSchema) =>
  Type.Object({
    items: Type.Array(view),
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

// The answers' schemas; the bodies' come from the routes that read them.
function answerSchemas(vendors: DocumentVendors): Record<string, TSchema> {
  const autoAnswered = vendors.adapters.flatMap((v) => v.autoAnsweredMethods);
  const deviceRequestView = deviceRequestViewSchema([...new Set(autoAnswered)]);
  return {
    Accepted: AcceptedSchema,
    CommandView: CommandViewSchema,
    CommandList: CommandListSchema,
    DeviceView: DeviceViewSchema,
    DeviceList: DeviceListSchema,
    DeviceRequestView: deviceRequestView,
    DeviceRequestList: deviceRequestListSchema(deviceRequestView),
    Catalog: catalogSchema(vendors.names),
    Error: ErrorSchema,
    ServiceIndex: ServiceIndexSchema,
  };
}

/** What the document takes from the vendors the app serves: their names, the first one's example
 * command, every one's requests answered by Downlink. */
export type DocumentVendors = Pick<VendorRegistry, "names" | "adapters">;

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

// Every response carries it (request_id.ts).
const requestIdHeader = {
  "X-Request-Id": {
    description: "The caller's X-Request-Id when given (sane), else a generated one",
    schema: { type: "string" },
  },
};

function parameters(route: Route): Record<string, unknown>[] {
  const of = (name: string, p: Param, place: "path" | "query") => ({
    name,
    in: place,
    required: place === "path",
    ...(p.description !== undefined ? { description: p.description } : {}),
    schema: {
      ...plainJsonSchema(p.schema),
      ...(p.default !== undefined ? { default: p.default } : {}),
    },
  });
  return [
    ...Object.entries(route.pathParams?.params ?? {}).map(([n, p]) => of(n, p as Param, "path")),
    ...Object.entries(route.query?.params ?? {}).map(([n, p]) => of(n, p as Param, "query")),
  ];
}

function response(spec: ResponseSpec): Record<string, unknown> {
  if (typeof spec === "string") return errorResponse(spec);
  return {
    description: spec.description,
    headers: { ...requestIdHeader, ...spec.headers },
    ...(spec.schema !== undefined
      ? {
        content: {
          [spec.contentType ?? "application/json"]: {
            schema: typeof spec.schema === "string" ? ref(spec.schema) : spec.schema,
          },
        },
      }
      : {}),
  };
}

/** A route's OpenAPI operation, from its definition. */
export function operationOf(route: Route, vendors: DocumentVendors): Record<string, unknown> {
  const params = parameters(route);
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.unsigned ? { security: UNSIGNED } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(route.body
      ? {
        requestBody: {
          required: true,
          description: route.body.description,
          content: {
            "application/json": {
              schema: ref(route.body.name),
              ...(route.body.example ? { example: route.body.example(vendors.adapters[0]) } : {}),
            },
          },
        },
      }
      : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(route.responses).map(([status, spec]) => [status, response(spec)]),
      ),
      ...(route.unsigned ? {} : SIGNED_ERRORS),
    },
  };
}

/** The paths of the document, and the body schemas the routes name. */
function pathsOf(routes: readonly Route[], vendors: DocumentVendors) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas = answerSchemas(vendors);
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const ops = paths[path] ??= {};
    if (ops[route.method]) throw new Error(`${route.method} ${path} is defined twice`);
    ops[route.method] = operationOf(route, vendors);
    if (route.body) {
      const known = schemas[route.body.name];
      if (known && known !== route.body.schema) {
        throw new Error(`Two schemas are named ${route.body.name}`);
      }
      schemas[route.body.name] = route.body.schema;
    }
  }
  return { paths, schemas };
}

/** The OpenAPI document of `routes`: each operation from the route's definition, the vendors'
 * part (catalog vendor names, example command, requests answered by Downlink) from `vendors`. */
export function openApiDocument(
  routes: readonly Route[],
  vendors: DocumentVendors,
): Record<string, unknown> {
  const { paths, schemas } = pathsOf(routes, vendors);
  return {
    openapi: "3.1.0",
    info: {
      title: "Downlink",
      version: "1",
      description:
        "Command gateway for DJI docks and drones: accept a signed command, follow it to its end.",
    },
    security: SIGNED,
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(schemas).map(([name, schema]) => [name, plainJsonSchema(schema)]),
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

export const openApiRoute = defineRoute({
  method: "get",
  path: OPENAPI_PATH,
  operationId: "openapi",
  summary: "This document",
  unsigned: true,
  responses: { "200": { description: "OpenAPI 3.1", schema: { type: "object" } } },
  handle: (c: Context, _input, deps: { openApiJson: () => string }) =>
    c.body(deps.openApiJson(), 200, { "Content-Type": "application/json; charset=utf-8" }),
});
