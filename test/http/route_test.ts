// A route's one definition: its query and path read as it states (strictly for a list, every
// problem in one 400; leniently otherwise), its scope checked before anything else, and its
// OpenAPI operation derived from the same parameters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { Hono } from "hono";
import {
  createRouteTable,
  defineRoute,
  param,
  readPath,
  readQuery,
  type Route,
} from "../../src/http/route.ts";
import { cursorParam, limitParam, LIST_DEFAULT_LIMIT } from "../../src/http/list_query.ts";
import { errorHandler, ValidationError } from "../../src/http/errors.ts";
import { openApiDocument } from "../../src/http/openapi.ts";
import type { Logger } from "../../src/runtime/log.ts";
import { vendor, vendors } from "../../src/composition_root.ts";
import { vendorRegistry } from "../../src/vendors/vendor_registry.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";

const listQuery = {
  cannot: "Cannot list things",
  strict: true,
  params: {
    limit: limitParam,
    online: param(Type.Boolean(), { description: "Only online ones" }),
    cursor: cursorParam((c) => (c === "abc" ? "ABC" : undefined)),
  },
};

function validationError(f: () => unknown): ValidationError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err;
  }
  assert.fail("did not throw");
}

test("a strict query: limit defaults, and a valid limit and cursor are read", () => {
  assert.deepEqual(readQuery(listQuery, {}), { limit: LIST_DEFAULT_LIMIT });
  assert.deepEqual(readQuery(listQuery, { limit: ["7"], cursor: ["abc"], online: ["false"] }), {
    limit: 7,
    online: false,
    cursor: "ABC",
  });
});

test("a strict query names every offending parameter, unknown and repeated ones too", () => {
  const err = validationError(() =>
    readQuery(listQuery, { limit: ["0"], cursor: ["nope"], online: ["a", "b"], colour: ["red"] })
  );
  assert.equal(err.code, "VALIDATION_FAILED");
  assert.deepEqual(err.details, [
    { path: "query.colour", reason: "is not a known parameter" },
    { path: "query.limit", reason: 'must be an integer 1-200, got "0"' },
    { path: "query.online", reason: "must be given at most once" },
    { path: "query.online", reason: 'must be true or false, got "a"' },
    {
      path: "query.cursor",
      reason: "is not a cursor this API issued (pass next_cursor as it came)",
    },
  ]);
  assert.match(err.message, /^Cannot list things: query\.colour is not a known parameter; /);
});

test("a lenient query ignores unknown parameters and names only the first problem", () => {
  const lenient = { ...listQuery, cannot: "Cannot read things", strict: false };
  assert.deepEqual(readQuery(lenient, { colour: ["red"], limit: ["3", "x"] }), { limit: 3 });
  const err = validationError(() => readQuery(lenient, { limit: ["0"], online: ["a"] }));
  assert.equal(err.message, 'Cannot read things: limit must be an integer 1-200, got "0"');
  assert.deepEqual(err.details, [{
    path: "query.limit",
    reason: 'must be an integer 1-200, got "0"',
  }]);
});

test("a path parameter that breaks its schema is refused naming it", () => {
  const path = {
    cannot: "Cannot read thing",
    params: { id: param(Type.String({ format: "uuid" })) },
  };
  const err = validationError(() => readPath(path, { id: "nope" }));
  assert.equal(err.message, 'Cannot read thing: path.id must be a UUID, got "nope"');
  assert.deepEqual(err.details, [{ path: "path.id", reason: "must be a UUID" }]);
});

test("a parameter's schema may not state what the check would not enforce", () => {
  assert.throws(() => param(Type.Integer({ multipleOf: 5, minimum: 0, maximum: 9 })), /multipleOf/);
  assert.throws(() => param(Type.Integer({ pattern: "^1", minimum: 0 })), /pattern/);
  assert.throws(() => param(Type.Integer({ maximum: 9 })), /minimum of 0/);
  assert.throws(() => param(Type.String({ format: "email" })), /format email/);
  assert.throws(() => param(Type.Array(Type.String())), /string, integer or boolean/);
});

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

const thingRoute = defineRoute({
  method: "get",
  path: "/things/:id",
  operationId: "getThing",
  summary: "One thing (scope thing:read)",
  scope: "thing:read",
  pathParams: {
    cannot: "Cannot read thing",
    params: { id: param(Type.String({ format: "uuid" })) },
  },
  query: {
    cannot: "Cannot read thing",
    strict: false,
    params: { depth: param(Type.Integer({ minimum: 0, maximum: 3 }), { default: 1 }) },
  },
  responses: { "200": { description: "The thing", schema: { type: "object" } }, "404": "NotFound" },
  handle: (c, { path, query }, deps: { suffix: string }) =>
    c.json({ id: path.id + deps.suffix, depth: query.depth }),
});

function thingApp(scopes: string[]) {
  const app = new Hono();
  app.use("*", async (c, next) => {
    c.set("client" as never, { scopes } as never);
    c.set("requestId" as never, "r1" as never);
    await next();
  });
  const table = createRouteTable();
  table.serve(app, "", [thingRoute as Route], { suffix: "!" }, { signed: true });
  app.onError(errorHandler(silent));
  return { app, table };
}

test("a served route runs its handler with the checked input, its scope checked first", async () => {
  const id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  const ok = await thingApp(["thing:read"]).app.request(`/things/${id}?depth=2`);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { id: `${id}!`, depth: 2 });
  const bad = await thingApp(["thing:read"]).app.request("/things/nope");
  assert.equal(bad.status, 400);
  // Without the scope the client learns nothing of what else is wrong with the request.
  const forbidden = await thingApp([]).app.request("/things/nope?depth=9");
  assert.equal(forbidden.status, 403);
  assert.equal((await forbidden.json()).code, "FORBIDDEN");
});

test("a route is served only as its definition documents it, signed or not", () => {
  assert.throws(
    () => createRouteTable().serve(new Hono(), "", [thingRoute as Route], {}, { signed: false }),
    /getThing is defined signed but served unsigned/,
  );
});

test("the document describes a served route from its definition", () => {
  const { table } = thingApp([]);
  const doc = openApiDocument(table.routes, vendors) as any;
  const op = doc.paths["/things/{id}"].get;
  assert.equal(op.operationId, "getThing");
  assert.deepEqual(op.parameters, [
    { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } },
    {
      name: "depth",
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 0, maximum: 3, default: 1 },
    },
  ]);
  assert.deepEqual(Object.keys(op.responses).sort(), ["200", "401", "403", "404", "500", "503"]);
});

test("the catalog's vendor is the one registered name, or one of several", () => {
  const { table } = thingApp([]);
  const vendorOf = (registry: typeof vendors) =>
    (openApiDocument(table.routes, registry) as any).components.schemas.Catalog.properties.items
      .items.properties.vendor;
  assert.deepEqual(vendorOf(vendors), { const: "dji", type: "string" });
  assert.deepEqual(vendorOf(vendorRegistry([vendor, acmeAdapter])), {
    anyOf: [{ const: "dji", type: "string" }, { const: "acme", type: "string" }],
  });
});
