// The catalog endpoint against a real api role: every command type with its payload's JSON
// Schema, signed like every request, readable by any active client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { CATALOG_PATH } from "../../src/http/catalog.ts";
import { listCommands } from "../../src/vendors/dji/catalog.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

describe("GET /api/v1/open/downlink/catalog", () => {
  test("lists every catalog command with module, channel, summary and payload schema", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH);

    assert.equal(res.status, 200);
    const items = res.body.items as any[];
    assert.deepEqual(items.map((i) => i.method), listCommands().map((c) => c.method));
    for (const item of items) {
      assert.equal(item.vendor, "dji");
      assert.ok(item.module && item.summary, item.method);
      assert.ok(["services", "drc"].includes(item.channel), item.method);
      assert.equal(item.payload_schema.type, "object", item.method);
    }
  });

  test("a long job shows its progress event, terminal statuses and exclusivity class", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH);
    const item = (name: string) => res.body.items.find((i: any) => i.method === name);

    assert.equal(item("cover_open").progress_event, "cover_open");
    assert.ok(item("cover_open").progress_terminal_statuses.includes("ok"));
    assert.deepEqual(item("cover_open").exclusivity_class, {
      name: "remote_debug",
      busy_codes: [514116],
    });
    assert.ok(item("flighttask_execute").progress_terminal_statuses.includes("partially_done"));
    assert.equal(item("supplement_light_open").progress_terminal_statuses, undefined);
    assert.equal(item("supplement_light_open").exclusivity_class, undefined);
  });

  test("fileupload_start's schema is the seed's contract as JSON Schema", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH);
    const item = res.body.items.find((i: any) => i.method === "fileupload_start");

    assert.equal(item.module, "file");
    assert.equal(item.channel, "services");
    const schema = item.payload_schema;
    assert.deepEqual(schema.required.sort(), [
      "bucket",
      "credentials",
      "endpoint",
      "params",
      "provider",
      "region",
    ]);
    assert.deepEqual(schema.properties.credentials.properties.expire, {
      type: "integer",
      minimum: 0,
    });
    assert.ok(item.secret_fields.includes("credentials.access_key_secret"));
  });

  test("fly_to_point's schema shows its required fields, ranges and single point", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH);
    const item = res.body.items.find((i: any) => i.method === "fly_to_point");

    const schema = item.payload_schema;
    assert.deepEqual(schema.required, ["fly_to_id", "max_speed", "points"]);
    assert.deepEqual(schema.properties.max_speed, { type: "integer", minimum: 0, maximum: 15 });
    assert.equal(schema.properties.points.minItems, 1);
    assert.equal(schema.properties.points.maxItems, 1);
    assert.deepEqual(schema.properties.points.items.properties.latitude, {
      type: "number",
      minimum: -90,
      maximum: 90,
    });
    // Unknown fields pass through, so the schema does not close the object.
    assert.equal(schema.additionalProperties, undefined);
  });

  test("a documented enum is listed in the schema", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH);
    const item = res.body.items.find((i: any) => i.method === "air_conditioner_mode_switch");

    const action = item.payload_schema.properties.action;
    assert.deepEqual(item.payload_schema.required, ["action"]);
    assert.deepEqual(action.anyOf.map((s: any) => s.const), [0, "0", 1, "1", 2, "2", 3, "3"]);
  });

  test("?module= narrows the list to one module", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", `${CATALOG_PATH}?module=file`);
    assert.equal(res.status, 200);
    assert.ok(res.body.items.length > 0);
    assert.ok(res.body.items.every((i: any) => i.module === "file"));
  });

  test("any active client may read it, without the read scope", async () => {
    const writer = await f.createClient({ scopes: ["open:command:create"] });
    const res = await writer.http.request("GET", CATALOG_PATH);
    assert.equal(res.status, 200);
  });

  test("an unsigned request is 401 UNAUTHORIZED", async () => {
    const caller = await f.createClient();
    const res = await caller.http.request("GET", CATALOG_PATH, { unsigned: true });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, "UNAUTHORIZED");
  });
});
