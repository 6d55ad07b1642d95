import assert from "node:assert/strict";
import { test } from "node:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { schemaFromFields } from "../../../src/vendors/dji/field_schema.ts";

function checker(fields: Parameters<typeof schemaFromFields>[0]) {
  return TypeCompiler.Compile(schemaFromFields(fields));
}

test("array items described below name[] are checked as objects", () => {
  const check = checker([
    { path: "points", type: "array", items: "struct" },
    { path: "points[].height", type: "float" },
  ]);
  assert.equal(check.Check({ points: [{ height: 10.5 }] }), true);
  assert.equal(check.Check({ points: [{ height: "high" }] }), false);
  assert.equal(check.Check({ points: {} }), false);
});

test("array item types are checked when DJI gives one", () => {
  const check = checker([{ path: "flight_ids", type: "array", items: "text" }]);
  assert.equal(check.Check({ flight_ids: ["a", "b"] }), true);
  assert.equal(check.Check({ flight_ids: [1] }), false);
});

test("parents DJI never declared are objects", () => {
  const check = checker([{ path: "file.url", type: "text" }]);
  assert.equal(check.Check({ file: { url: "https://x" } }), true);
  assert.equal(check.Check({ file: "https://x" }), false);
});

test("a scalar DJI also gives sub-fields accepts either shape", () => {
  const check = checker([
    { path: "height", type: "float" },
    { path: "height.safe_land_height", type: "float" },
  ]);
  assert.equal(check.Check({ height: 12.5 }), true);
  assert.equal(check.Check({ height: { safe_land_height: 30 } }), true);
  assert.equal(check.Check({ height: "tall" }), false);
});

test("fields are optional unless marked required, and extra fields pass", () => {
  const check = checker([{ path: "video_id", type: "text" }]);
  assert.equal(check.Check({}), true);
  assert.equal(check.Check({ other: 1 }), true);
  assert.equal(check.Check([]), false);
});

test("a required field must be present; its siblings stay optional", () => {
  const check = checker([
    { path: "video_id", type: "text", required: true },
    { path: "video_quality", type: "int" },
  ]);
  assert.equal(check.Check({ video_id: "a/b/c" }), true);
  assert.equal(check.Check({ video_quality: 1 }), false);
});

test("numbers are held to their documented range, bounds included", () => {
  const check = checker([
    { path: "max_speed", type: "int", minimum: 0, maximum: 15 },
    { path: "points", type: "array", items: "struct" },
    { path: "points[].latitude", type: "float", minimum: -90, maximum: 90 },
  ]);
  assert.equal(check.Check({ max_speed: 15, points: [{ latitude: -90 }] }), true);
  assert.equal(check.Check({ max_speed: 16 }), false);
  assert.equal(check.Check({ max_speed: -1 }), false);
  assert.equal(check.Check({ points: [{ latitude: 90.000001 }] }), false);
});

test("enum_int keys are accepted as numbers or digits, enum_string keys as strings only", () => {
  const check = checker([
    { path: "action", type: "enum_int", enum: ["0", "1"] },
    { path: "camera_type", type: "enum_string", enum: ["wide", "zoom"] },
  ]);
  assert.equal(check.Check({ action: 1, camera_type: "zoom" }), true);
  assert.equal(check.Check({ action: "1" }), true);
  assert.equal(check.Check({ action: 2 }), false);
  assert.equal(check.Check({ action: "2" }), false);
  assert.equal(check.Check({ camera_type: "ir" }), false);
});

test("array item counts and text lengths are checked", () => {
  const check = checker([
    { path: "points", type: "array", items: "struct", min_items: 1, max_items: 1 },
    { path: "points[].height", type: "float" },
    { path: "keys", type: "array", items: "text", max_items: 1 },
    { path: "value", type: "text", max_length: 3 },
  ]);
  assert.equal(check.Check({ points: [{ height: 1 }], keys: ["flight"], value: "abc" }), true);
  assert.equal(check.Check({ points: [] }), false);
  assert.equal(check.Check({ points: [{}, {}] }), false);
  assert.equal(check.Check({ keys: ["a", "b"] }), false);
  assert.equal(check.Check({ value: "abcd" }), false);
});

test("the JSON Schema shows the same limits", () => {
  const schema = JSON.parse(JSON.stringify(schemaFromFields([
    { path: "fly_to_id", type: "text", required: true },
    { path: "max_speed", type: "int", required: true, minimum: 0, maximum: 15 },
    { path: "points", type: "array", items: "struct", min_items: 1, max_items: 1 },
    { path: "points[].latitude", type: "float", minimum: -90, maximum: 90 },
  ])));
  assert.deepEqual(schema.required, ["fly_to_id", "max_speed"]);
  assert.deepEqual(schema.properties.max_speed, { type: "integer", minimum: 0, maximum: 15 });
  assert.equal(schema.properties.points.minItems, 1);
  assert.equal(schema.properties.points.maxItems, 1);
  assert.deepEqual(schema.properties.points.items.properties.latitude, {
    type: "number",
    minimum: -90,
    maximum: 90,
  });
  assert.equal(schema.properties.fly_to_id.maxLength, undefined);
});
