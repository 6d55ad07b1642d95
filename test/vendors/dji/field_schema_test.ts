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

test("fields are optional and extra fields pass", () => {
  const check = checker([{ path: "video_id", type: "text" }]);
  assert.equal(check.Check({}), true);
  assert.equal(check.Check({ other: 1 }), true);
  assert.equal(check.Check([]), false);
});
