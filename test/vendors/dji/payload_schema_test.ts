import assert from "node:assert/strict";
import { test } from "node:test";
import { listCommands } from "../../../src/vendors/dji/catalog.ts";
import { payloadSchema, validatePayload } from "../../../src/vendors/dji/payload_schema.ts";

// The request body of the seed page's curl example, byte for byte.
const SEED_BODY =
  '{"vendor":"dji","device_id":"drone-001","command_type":"fileupload_start","payload":{"bucket":"string","region":"string","credentials":{"access_key_id":"id-001","access_key_secret":"string","expire":0,"security_token":"string"},"endpoint":"string","provider":"string","params":{"files":[{"list":{},"module":"string","object_key":"string"}]}},"idempotency_key":"req-fileupload_start-001","timeout_seconds":30}';

function seedPayload(): Record<string, unknown> {
  return JSON.parse(SEED_BODY).payload;
}

function paths(result: ReturnType<typeof validatePayload>): string[] {
  return result.ok ? [] : result.errors.map((e) => e.path);
}

test("the seed's curl example payload validates as written", () => {
  assert.deepEqual(validatePayload("fileupload_start", seedPayload()), { ok: true });
});

test("a list of boot indexes as DJI documents it validates", () => {
  const payload = seedPayload();
  payload["params"] = {
    files: [{
      module: "3",
      object_key: "logs/a.tar",
      list: [{ boot_index: 321 }, { boot_index: 322 }],
    }],
  };
  assert.deepEqual(validatePayload("fileupload_start", payload), { ok: true });
});

test("an epoch-milliseconds expire validates", () => {
  const payload = seedPayload();
  (payload["credentials"] as Record<string, unknown>)["expire"] = 1659432522000;
  assert.deepEqual(validatePayload("fileupload_start", payload), { ok: true });
});

test("missing bucket, wrong-type and negative expire are each reported at their path", () => {
  const wrongType = seedPayload();
  delete wrongType["bucket"];
  (wrongType["credentials"] as Record<string, unknown>)["expire"] = "soon";
  const result = validatePayload("fileupload_start", wrongType);
  assert.equal(result.ok, false);
  assert.deepEqual(paths(result), ["$.payload.bucket", "$.payload.credentials.expire"]);
  assert.ok(!result.ok);
  assert.equal(result.errors[0]!.reason, "is required");
  assert.equal(result.errors[1]!.reason, 'must be an integer, got "soon"');

  const negative = seedPayload();
  delete negative["bucket"];
  (negative["credentials"] as Record<string, unknown>)["expire"] = -5;
  const second = validatePayload("fileupload_start", negative);
  assert.ok(!second.ok);
  assert.deepEqual(second.errors, [
    { path: "$.payload.bucket", reason: "is required" },
    { path: "$.payload.credentials.expire", reason: "must be >= 0, got -5" },
  ]);
});

test("every offending path is listed, down to array items", () => {
  const payload = {
    credentials: { access_key_id: "id", access_key_secret: "s", security_token: "t", expire: 1.5 },
    endpoint: 7,
    provider: "minio",
    params: {
      files: [
        { module: "0", object_key: "k", list: [{ boot_index: "x" }, {}] },
        { module: "3", object_key: "k", list: "all" },
      ],
    },
  };
  const result = validatePayload("fileupload_start", payload);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors, [
    { path: "$.payload.bucket", reason: "is required" },
    { path: "$.payload.region", reason: "is required" },
    { path: "$.payload.credentials.expire", reason: "must be an integer, got 1.5" },
    { path: "$.payload.endpoint", reason: "must be a string, got 7" },
    { path: "$.payload.params.files[0].list[0].boot_index", reason: 'must be an integer, got "x"' },
    { path: "$.payload.params.files[0].list[1].boot_index", reason: "is required" },
    {
      path: "$.payload.params.files[1].list",
      reason: 'must be an object or an array of {boot_index: integer}, got "all"',
    },
  ]);
});

test("a wrong-type secret is reported without echoing its value", () => {
  const payload = seedPayload();
  (payload["credentials"] as Record<string, unknown>)["access_key_secret"] = 123456789;
  const result = validatePayload("fileupload_start", payload);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors, [
    { path: "$.payload.credentials.access_key_secret", reason: "must be a string, got a number" },
  ]);
});

test("a value inside or around a secret is not echoed either", () => {
  const payload = seedPayload();
  payload["credentials"] = "AKID:hunter2";
  const result = validatePayload("fileupload_start", payload);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors, [
    { path: "$.payload.credentials", reason: "must be an object, got a string" },
  ]);
  const nested = validatePayload("flighttask_execute", {
    multi_dock_task: { wireless_link_topo: { secret_code: [1, 2, "s3cr3t"] } },
  });
  assert.ok(!nested.ok);
  assert.deepEqual(nested.errors, [{
    path: "$.payload.multi_dock_task.wireless_link_topo.secret_code[2]",
    reason: "must be an integer, got a string",
  }]);
});

test("unknown payload fields pass through at every level", () => {
  const payload = seedPayload();
  payload["file_store_dir"] = "logs/";
  payload["file_type"] = "text_log";
  (payload["credentials"] as Record<string, unknown>)["session_name"] = "x";
  const params = payload["params"] as { files: Record<string, unknown>[] };
  params.files[0]!["device_sn"] = "DOCK-1";
  assert.deepEqual(validatePayload("fileupload_start", payload), { ok: true });
  assert.deepEqual(validatePayload("cover_open", { anything: [1, 2, 3] }), { ok: true });
  assert.deepEqual(validatePayload("fly_to_point", { points: [{ latitude: 1, extra: true }] }), {
    ok: true,
  });
});

test("the payload must be an object", () => {
  for (const payload of [[], null, "x", 3]) {
    const result = validatePayload("cover_open", payload);
    assert.ok(!result.ok);
    assert.equal(result.errors[0]!.path, "$.payload");
  }
  assert.deepEqual(validatePayload("cover_open", undefined), {
    ok: false,
    errors: [{ path: "$.payload", reason: "is required" }],
  });
});

test("catalog-built schemas check types but require nothing", () => {
  assert.deepEqual(validatePayload("fly_to_point", {}), { ok: true });
  const result = validatePayload("fly_to_point", {
    fly_to_id: 9,
    max_speed: 1.5,
    points: [{ latitude: "north", longitude: 116.9, height: 100 }],
  });
  assert.ok(!result.ok);
  assert.deepEqual(paths(result), [
    "$.payload.fly_to_id",
    "$.payload.max_speed",
    "$.payload.points[0].latitude",
  ]);
});

test("enum_int fields take integers or digit strings, as DJI's log module ids do", () => {
  assert.deepEqual(validatePayload("fileupload_list", { module_list: ["0", "3"] }), { ok: true });
  assert.deepEqual(validatePayload("fileupload_list", { module_list: [0, 3] }), { ok: true });
  assert.deepEqual(paths(validatePayload("fileupload_list", { module_list: ["dock"] })), [
    "$.payload.module_list[0]",
  ]);
});

test("bool fields take true/false or 0/1, as the reference platform sends them", () => {
  assert.deepEqual(validatePayload("takeoff_to_point", { flight_safety_advance_check: 1 }), {
    ok: true,
  });
  assert.deepEqual(validatePayload("takeoff_to_point", { flight_safety_advance_check: false }), {
    ok: true,
  });
  assert.deepEqual(paths(validatePayload("takeoff_to_point", { flight_safety_advance_check: 2 })), [
    "$.payload.flight_safety_advance_check",
  ]);
});

test("DRC methods are validated from the reference platform's field types", () => {
  assert.deepEqual(validatePayload("drone_control", { seq: 1, x: 0.5, y: 0, h: 0, w: 0 }), {
    ok: true,
  });
  assert.deepEqual(paths(validatePayload("stick_control", { roll: 1024.5 })), ["$.payload.roll"]);
});

test("an unknown method is reported on command_type", () => {
  assert.deepEqual(validatePayload("self_destruct", {}), {
    ok: false,
    errors: [{ path: "$.command_type", reason: 'is not a DJI command, got "self_destruct"' }],
  });
});

test("every catalog method has a schema that accepts an empty payload except fileupload_start", () => {
  for (const { method } of listCommands()) {
    assert.ok(payloadSchema(method), method);
    assert.equal(validatePayload(method, {}).ok, method !== "fileupload_start", method);
  }
});
