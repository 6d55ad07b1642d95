// GET /openapi.json on a real api role: an unsigned OpenAPI 3.1 document naming every endpoint,
// whose schemas real responses conform to.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import {
  type ApiFixture,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import { CATALOG_PATH } from "../../src/http/catalog.ts";
import {
  AcceptedSchema,
  catalogSchema,
  CommandListSchema,
  CommandViewSchema,
  ErrorSchema,
} from "../../src/http/openapi.ts";
import { CommandRequestSchema } from "../../src/http/command_request.ts";

let f: ApiFixture;
let caller: TestClient;
let doc: any;

before(async () => {
  f = await startApiFixture();
  caller = await f.createClient();
  doc = await (await fetch(`${f.baseUrl}/openapi.json`)).json();
  FormatRegistry.Set("date-time", (v) => !Number.isNaN(Date.parse(v)));
  FormatRegistry.Set("uuid", (v) => /^[0-9a-f-]{36}$/.test(v));
});
after(async () => {
  await f?.stop();
});

function conforms(schema: TSchema, value: unknown) {
  const errors = [...Value.Errors(schema, value)].map((e) => `${e.path} ${e.message}`);
  assert.deepEqual(errors, [], JSON.stringify(value));
}

describe("GET /openapi.json", () => {
  test("is an unsigned OpenAPI 3.1 document naming every endpoint", async () => {
    const res = await fetch(`${f.baseUrl}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/",
      "/api/v1/open/downlink/catalog",
      "/api/v1/open/downlink/commands",
      "/api/v1/open/downlink/commands/{command_id}",
      "/api/v1/open/downlink/commands/{command_id}/wait",
      "/api/v1/open/downlink/device-requests",
      "/api/v1/open/downlink/device-requests/{request_id}",
      "/api/v1/open/downlink/device-requests/{request_id}/reply",
      "/api/v1/open/downlink/devices",
      "/api/v1/open/downlink/devices/{device_id}",
      "/healthz",
      "/metrics",
      "/openapi.json",
      "/readyz",
    ]);
    assert.deepEqual(Object.keys(doc.paths[COMMANDS_PATH]).sort(), ["get", "post"]);
  });

  test("every route the app serves is described, and every described route is served", () => {
    // From the app itself, not a list kept by hand: a route added without its description fails
    // here (issue 11 item 7). `ALL` entries are middleware; hono's `:param` is OpenAPI's `{param}`.
    const served = new Set(
      f.api!.app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const described = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`),
      ),
    );
    assert.deepEqual(
      [...served].filter((r) => !described.has(r)).sort(),
      [],
      "served, undescribed",
    );
    assert.deepEqual(
      [...described].filter((r) => !served.has(r)).sort(),
      [],
      "described, not served",
    );
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(op.summary || op.description, `${method} ${path} has no summary`);
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path}`);
      }
    }
  });

  test("the request body schema is the envelope the API validates with", () => {
    const body = doc.paths[COMMANDS_PATH].post.requestBody.content["application/json"];
    assert.equal(body.schema.$ref, "#/components/schemas/CommandRequest");
    assert.deepEqual(
      doc.components.schemas.CommandRequest,
      JSON.parse(JSON.stringify(CommandRequestSchema)),
    );
    assert.equal(doc.components.schemas.CommandRequest.additionalProperties, false);
    conforms(CommandRequestSchema, body.example);
  });

  test("the signing headers are security schemes required by every signed endpoint", () => {
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(
      Object.values(schemes).map((s: any) => [s.type, s.in, s.name]),
      [
        ["apiKey", "header", "X-Api-Id"],
        ["apiKey", "header", "X-Api-Timestamp"],
        ["apiKey", "header", "X-Api-Nonce"],
        ["apiKey", "header", "X-Api-Signature"],
      ],
    );
    assert.deepEqual(doc.security, [{
      ApiId: [],
      ApiTimestamp: [],
      ApiNonce: [],
      ApiSignature: [],
    }]);
    assert.deepEqual(doc.paths["/metrics"].get.security, []);
    assert.equal(doc.paths[CATALOG_PATH].get.security, undefined); // inherits the signed default
  });

  test("every $ref resolves inside the document", () => {
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [k, v] of Object.entries(node)) k === "$ref" ? refs.push(v as string) : walk(v);
      }
    };
    walk(doc);
    assert.ok(refs.length > 10);
    for (const ref of refs) {
      const target = ref.replace(/^#\//, "").split("/").reduce((n: any, k) => n?.[k], doc);
      assert.ok(target, `${ref} resolves`);
    }
  });

  test("real responses conform to the documented schemas", async () => {
    const accepted = await caller.http.createCommand(seedCommand());
    conforms(AcceptedSchema, accepted.body);
    const id = accepted.body.command_id;
    conforms(CommandViewSchema, (await caller.http.getCommand(id)).body);
    conforms(
      CommandViewSchema,
      (await caller.http.request("GET", `${COMMANDS_PATH}/${id}/wait?timeout_seconds=0`)).body,
    );
    conforms(
      CommandListSchema,
      (await caller.http.request("GET", `${COMMANDS_PATH}?limit=1`)).body,
    );
    conforms(catalogSchema(["dji"]), (await caller.http.request("GET", CATALOG_PATH)).body);
    conforms(ErrorSchema, (await caller.http.getCommand("nope")).body);
    conforms(
      ErrorSchema,
      (await caller.http.createCommand(seedCommand({ timeout_seconds: 301 }))).body,
    );
  });
});
