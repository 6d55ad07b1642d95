import assert from "node:assert/strict";
import { test } from "node:test";
import { describeKind, describeValue } from "../../src/json/describe_value.ts";

test("short scalars are shown as they are", () => {
  assert.equal(describeValue(301), "301");
  assert.equal(describeValue("soon"), '"soon"');
  assert.equal(describeValue(false), "false");
  assert.equal(describeValue(null), "null");
});

test("long strings are cut and containers are named by kind", () => {
  assert.equal(describeValue("x".repeat(100)), `"${"x".repeat(60)}…"`);
  assert.equal(describeValue({ a: 1 }), "an object");
  assert.equal(describeValue([1]), "an array");
  assert.equal(describeValue(undefined), "nothing");
});

test("describeKind never shows the value", () => {
  assert.equal(describeKind("hunter2"), "a string");
  assert.equal(describeKind(42), "a number");
});
