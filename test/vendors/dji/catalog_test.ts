import assert from "node:assert/strict";
import { test } from "node:test";
import { findCommand, listCommands } from "../../../src/vendors/dji/catalog.ts";

const DRC_DOWN = ["drone_control", "stick_control", "drone_emergency_stop", "heart_beat"];

test("the catalog holds the 101 services methods plus the 4 DRC methods", () => {
  const commands = listCommands();
  assert.equal(commands.length, 105);
  assert.equal(commands.filter((c) => c.channel === "services").length, 101);
  assert.equal(new Set(commands.map((c) => c.method)).size, 105);
});

test("every catalog method has a channel, a module, a summary and devices", () => {
  for (const command of listCommands()) {
    assert.ok(command.channel === "services" || command.channel === "drc", command.method);
    assert.ok(command.module.length > 0, command.method);
    assert.ok(command.summary.length > 0, command.method);
    assert.ok(command.devices.length > 0, command.method);
  }
});

test("DRC methods travel on the drc channel and nothing else does", () => {
  const drc = listCommands().filter((c) => c.channel === "drc").map((c) => c.method).sort();
  assert.deepEqual(drc, [...DRC_DOWN].sort());
  for (const method of DRC_DOWN) assert.equal(findCommand(method)?.module, "drc");
  // drc_mode_enter opens the DRC link but is itself a services command.
  assert.equal(findCommand("drc_mode_enter")?.channel, "services");
});

test("flight_areas_get is not a command because the device sends it to the cloud", () => {
  assert.equal(findCommand("flight_areas_get"), undefined);
});

test("fileupload_start is in the seed's file module with its fields, secrets and progress event", () => {
  const entry = findCommand("fileupload_start");
  assert.ok(entry);
  assert.equal(entry.module, "file");
  assert.equal(entry.channel, "services");
  assert.equal(entry.progress_event, "fileupload_progress");
  assert.deepEqual([...entry.secret_fields], [
    "credentials.access_key_secret",
    "credentials.security_token",
  ]);
  const expire = entry.fields.find((f) => f.path === "credentials.expire");
  assert.equal(expire?.type, "int");
  const bootIndex = entry.fields.find((f) => f.path === "params.files[].list[].boot_index");
  assert.equal(bootIndex?.type, "int");
});

test("fields named like passwords, tokens or secrets are marked secret", () => {
  assert.deepEqual([...(findCommand("drc_mode_enter")?.secret_fields ?? [])], [
    "mqtt_broker.password",
  ]);
  const everySecret = listCommands().flatMap((c) => c.secret_fields);
  for (const path of everySecret) assert.match(path, /secret|password|token/i);
  const everyField = listCommands().flatMap((c) => c.fields.map((f) => f.path));
  const named = everyField.filter((p) => /secret|password|token/i.test(p.split(".").at(-1)!));
  assert.equal(everySecret.length, named.length);
});

test("enum keys are parsed from DJI's JSON and from its loose notations", () => {
  const action = findCommand("air_conditioner_mode_switch")?.fields.find((f) =>
    f.path === "action"
  );
  assert.deepEqual([...(action?.enum ?? [])], ["0", "1", "2", "3"]);
  const outOfControl = findCommand("in_flight_wayline_deliver")?.fields.find(
    (f) => f.path === "out_of_control_action",
  );
  assert.deepEqual([...(outOfControl?.enum ?? [])], ["0", "1", "2"]);
});

test("fly_to_point carries the reference platform's required fields and DJI's limits", () => {
  const fields = new Map(findCommand("fly_to_point")!.fields.map((f) => [f.path, f]));
  for (const path of ["fly_to_id", "max_speed", "points"]) {
    assert.equal(fields.get(path)?.required, true, path);
  }
  assert.equal(fields.get("points[].latitude")?.required, undefined);
  assert.deepEqual(
    [fields.get("max_speed")?.minimum, fields.get("max_speed")?.maximum],
    [0, 15],
  );
  assert.deepEqual(
    [fields.get("points")?.min_items, fields.get("points")?.max_items],
    [1, 1],
  );
  assert.deepEqual(
    [fields.get("points[].latitude")?.minimum, fields.get("points[].latitude")?.maximum],
    [-90, 90],
  );
});

test("a field only the reference platform lists is added with its type, required as it says", () => {
  const index = findCommand("speaker_play_volume_set")?.fields.find((f) => f.path === "index");
  assert.deepEqual({ ...index }, { path: "index", type: "int", required: true });
});

test("enums DJI's table cuts short hold the whole documented set", () => {
  const exposure = findCommand("camera_exposure_set")?.fields.find((f) =>
    f.path === "exposure_value"
  );
  assert.equal(exposure?.enum?.length, 32);
  assert.deepEqual(exposure?.enum?.slice(-2), ["31", "255"]);
});

test("findCommand finds nothing for unknown names, prototype keys included", () => {
  assert.equal(findCommand("no_such_method"), undefined);
  assert.equal(findCommand("__proto__"), undefined);
  assert.equal(findCommand("constructor"), undefined);
});

test("the catalog cannot be changed by a caller", () => {
  const entry = findCommand("cover_open")!;
  assert.throws(() => {
    (entry as { summary: string }).summary = "changed";
  }, TypeError);
  assert.throws(() => {
    (listCommands() as unknown as unknown[]).push({});
  }, TypeError);
});
