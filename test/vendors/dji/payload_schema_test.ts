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

/** A fly_to_point payload the reference platform and DJI's table both accept. */
function flyToPoint(): Record<string, any> {
  return {
    fly_to_id: "fly-1",
    max_speed: 12,
    points: [{ latitude: 22.5, longitude: 113.9, height: 120 }],
  };
}

/** A takeoff_to_point payload with every field the reference platform requires. */
function takeoffToPoint(): Record<string, any> {
  return {
    target_latitude: 22.5,
    target_longitude: 113.9,
    target_height: 120,
    security_takeoff_height: 50,
    rth_mode: 1,
    rth_altitude: 100,
    rc_lost_action: 2,
    exit_wayline_when_rc_lost: 1,
    commander_mode_lost_action: 1,
    commander_flight_mode: 1,
    commander_flight_height: 100,
    flight_id: "takeoff-1",
    flight_safety_advance_check: 0,
  };
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
    flight_id: "f-1",
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
  const flyTo = flyToPoint();
  flyTo["speed_hint"] = "fast";
  flyTo["points"][0]["extra"] = true;
  assert.deepEqual(validatePayload("fly_to_point", flyTo), { ok: true });
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

test("catalog-built schemas check the types of what is sent", () => {
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

test("a fly_to_point the reference platform accepts validates", () => {
  assert.deepEqual(validatePayload("fly_to_point", flyToPoint()), { ok: true });
});

test("fly_to_point without points is refused at $.payload.points", () => {
  const payload = flyToPoint();
  delete payload["points"];
  assert.deepEqual(validatePayload("fly_to_point", payload), {
    ok: false,
    errors: [{ path: "$.payload.points", reason: "is required" }],
  });
});

test("every field the reference platform requires is reported when missing", () => {
  assert.deepEqual(paths(validatePayload("fly_to_point", {})), [
    "$.payload.fly_to_id",
    "$.payload.max_speed",
    "$.payload.points",
  ]);
  assert.deepEqual(paths(validatePayload("camera_mode_switch", { camera_mode: 1 })), [
    "$.payload.payload_index",
  ]);
});

test("fields the reference platform leaves optional may be left out", () => {
  const payload = takeoffToPoint();
  assert.equal(payload["max_speed"], undefined);
  assert.deepEqual(validatePayload("takeoff_to_point", payload), { ok: true });
  assert.deepEqual(validatePayload("flighttask_execute", { flight_id: "f-1" }), { ok: true });
});

test("a max_speed of 99 is refused with DJI's documented 0-15", () => {
  const payload = flyToPoint();
  payload["max_speed"] = 99;
  assert.deepEqual(validatePayload("fly_to_point", payload), {
    ok: false,
    errors: [{ path: "$.payload.max_speed", reason: "must be 0-15, got 99" }],
  });
  payload["max_speed"] = 0;
  assert.deepEqual(validatePayload("fly_to_point", payload), { ok: true });
  payload["max_speed"] = 15;
  assert.deepEqual(validatePayload("fly_to_point", payload), { ok: true });
});

test("coordinates outside the globe are refused inside array items", () => {
  const payload = flyToPoint();
  payload["points"][0] = { latitude: 90.5, longitude: -181, height: 1 };
  assert.deepEqual(validatePayload("fly_to_point", payload), {
    ok: false,
    errors: [
      { path: "$.payload.points[0].latitude", reason: "must be from -90 to 90, got 90.5" },
      { path: "$.payload.points[0].longitude", reason: "must be from -180 to 180, got -181" },
      { path: "$.payload.points[0].height", reason: "must be 2-10000, got 1" },
    ],
  });
  payload["points"][0] = { latitude: -90, longitude: 180, height: 2 };
  assert.deepEqual(validatePayload("fly_to_point", payload), { ok: true });
});

test("fly_to_point takes exactly one point, as DJI documents", () => {
  const payload = flyToPoint();
  const point = payload["points"][0];
  payload["points"] = [point, point];
  assert.deepEqual(validatePayload("fly_to_point", payload), {
    ok: false,
    errors: [{ path: "$.payload.points", reason: "must have exactly 1 item, got 2" }],
  });
  payload["points"] = [];
  assert.deepEqual(paths(validatePayload("fly_to_point", payload)), ["$.payload.points"]);
});

test("documented enums refuse other values and name the allowed ones", () => {
  assert.deepEqual(validatePayload("air_conditioner_mode_switch", { action: 7 }), {
    ok: false,
    errors: [{ path: "$.payload.action", reason: "must be one of 0, 1, 2, 3, got 7" }],
  });
  assert.deepEqual(validatePayload("air_conditioner_mode_switch", { action: "3" }), { ok: true });
  const aim = { payload_index: "39-0-7", camera_type: "tele", locked: true, x: 0.5, y: 0.5 };
  assert.deepEqual(validatePayload("camera_aim", aim), {
    ok: false,
    errors: [{
      path: "$.payload.camera_type",
      reason: 'must be one of "ir", "wide", "zoom", got "tele"',
    }],
  });
  assert.deepEqual(validatePayload("fileupload_update", { status: "go", module_list: ["0"] }), {
    ok: false,
    errors: [{ path: "$.payload.status", reason: 'must be "cancel", got "go"' }],
  });
});

test("an enum DJI's table cuts short takes the whole set the reference platform gives", () => {
  const exposure = { payload_index: "39-0-7", camera_type: "zoom", exposure_value: "31" };
  assert.deepEqual(validatePayload("camera_exposure_set", exposure), { ok: true });
  exposure.exposure_value = "255";
  assert.deepEqual(validatePayload("camera_exposure_set", exposure), { ok: true });
  exposure.exposure_value = "32";
  assert.deepEqual(paths(validatePayload("camera_exposure_set", exposure)), [
    "$.payload.exposure_value",
  ]);
});

test("documented text lengths and array sizes are upper bounds", () => {
  const text = validatePayload("psdk_input_box_text_set", {
    psdk_index: 0,
    value: "x".repeat(129),
  });
  assert.deepEqual(text, {
    ok: false,
    errors: [{ path: "$.payload.value", reason: "must be at most 128 characters long, got 129" }],
  });
  const device = { sn: "SN1", product_version: "1.0", file_url: "https://x", md5: "m" };
  assert.deepEqual(validatePayload("ota_create", { devices: [device] }), { ok: true });
  assert.deepEqual(validatePayload("ota_create", { devices: [device, device, device] }), {
    ok: false,
    errors: [{ path: "$.payload.devices", reason: "must have at most 2 items, got 3" }],
  });
});

test("DRC methods are checked against the ranges the reference platform describes", () => {
  const sticks = { roll: 1024, pitch: 1024, throttle: 1024, yaw: 1024 };
  assert.deepEqual(validatePayload("stick_control", sticks), { ok: true });
  assert.deepEqual(validatePayload("stick_control", { ...sticks, roll: 2000 }), {
    ok: false,
    errors: [{ path: "$.payload.roll", reason: "must be 364-1684, got 2000" }],
  });
  assert.deepEqual(
    paths(validatePayload("drone_control", { seq: 1, x: -17.5, y: 0, h: 5.5, w: 0 })),
    ["$.payload.x", "$.payload.h"],
  );
});

test("enum_int fields take integers or digit strings, as DJI's log module ids do", () => {
  assert.deepEqual(validatePayload("fileupload_list", { module_list: ["0", "3"] }), { ok: true });
  assert.deepEqual(validatePayload("fileupload_list", { module_list: [0, 3] }), { ok: true });
  assert.deepEqual(paths(validatePayload("fileupload_list", { module_list: ["dock"] })), [
    "$.payload.module_list[0]",
  ]);
});

test("bool fields take true/false or 0/1, as the reference platform sends them", () => {
  const check = (value: unknown) =>
    validatePayload("takeoff_to_point", {
      ...takeoffToPoint(),
      flight_safety_advance_check: value,
    });
  assert.deepEqual(check(1), { ok: true });
  assert.deepEqual(check(false), { ok: true });
  assert.deepEqual(paths(check(2)), ["$.payload.flight_safety_advance_check"]);
});

test("DRC methods are validated from the reference platform's field types", () => {
  assert.deepEqual(validatePayload("drone_control", { seq: 1, x: 0.5, y: 0, h: 0, w: 0 }), {
    ok: true,
  });
  const sticks = { roll: 1024.5, pitch: 1024, throttle: 1024, yaw: 1024 };
  assert.deepEqual(paths(validatePayload("stick_control", sticks)), ["$.payload.roll"]);
});

test("an unknown method is reported on command_type", () => {
  assert.deepEqual(validatePayload("self_destruct", {}), {
    ok: false,
    errors: [{ path: "$.command_type", reason: 'is not a DJI command, got "self_destruct"' }],
  });
});

test("an empty payload validates exactly for the methods with no required field", () => {
  for (const { method, fields } of listCommands()) {
    assert.ok(payloadSchema(method), method);
    const requires = method === "fileupload_start" || fields.some((f) => f.required);
    assert.equal(validatePayload(method, {}).ok, !requires, method);
  }
  assert.deepEqual(validatePayload("cover_open", {}), { ok: true });
});
