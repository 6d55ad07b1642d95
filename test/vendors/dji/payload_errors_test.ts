import assert from "node:assert/strict";
import { test } from "node:test";
import { type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { toPayloadErrors } from "../../../src/vendors/dji/payload_errors.ts";

function errorsOf(schema: TSchema, value: unknown, secrets: readonly string[] = []) {
  return toPayloadErrors(TypeCompiler.Compile(schema).Errors(value), value, secrets);
}

test("a number out of a two-sided range names the whole range", () => {
  const schema = Type.Object({
    speed: Type.Integer({ minimum: 0, maximum: 15 }),
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
  });
  assert.deepEqual(errorsOf(schema, { speed: 99, latitude: -91 }), [
    { path: "$.payload.speed", reason: "must be 0-15, got 99" },
    { path: "$.payload.latitude", reason: "must be from -90 to 90, got -91" },
  ]);
});

test("a one-sided range names its one bound", () => {
  const schema = Type.Object({
    index: Type.Integer({ minimum: 0 }),
    ceiling: Type.Number({ maximum: 10 }),
  });
  assert.deepEqual(errorsOf(schema, { index: -1, ceiling: 11 }), [
    { path: "$.payload.index", reason: "must be >= 0, got -1" },
    { path: "$.payload.ceiling", reason: "must be <= 10, got 11" },
  ]);
});

test("item counts and lengths name the count seen, not the value", () => {
  const schema = Type.Object({
    one: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1 }),
    few: Type.Array(Type.Unknown(), { maxItems: 2 }),
    some: Type.Array(Type.Unknown(), { minItems: 1 }),
    text: Type.String({ maxLength: 3 }),
  });
  assert.deepEqual(errorsOf(schema, { one: [], few: [1, 2, 3], some: [], text: "abcd" }), [
    { path: "$.payload.one", reason: "must have exactly 1 item, got 0" },
    { path: "$.payload.few", reason: "must have at most 2 items, got 3" },
    { path: "$.payload.some", reason: "must have at least 1 item, got 0" },
    { path: "$.payload.text", reason: "must be at most 3 characters long, got 4" },
  ]);
});

test("a single allowed value is named as it must be written", () => {
  const schema = Type.Object({ status: Type.Literal("cancel") });
  assert.deepEqual(errorsOf(schema, { status: "go" }), [
    { path: "$.payload.status", reason: 'must be "cancel", got "go"' },
  ]);
});

test("an out-of-range secret is described by kind only", () => {
  const schema = Type.Object({ code: Type.Integer({ maximum: 9 }) });
  assert.deepEqual(errorsOf(schema, { code: 31337 }, ["code"]), [
    { path: "$.payload.code", reason: "must be <= 9, got a number" },
  ]);
});
