import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_JSON_DEPTH, tooDeepAt } from "../../src/json/json_depth.ts";

/** `levels` objects nested as {"a":{"a":…}} around `inner`, as JSON text. */
const objects = (levels: number, inner = "1") =>
  '{"a":'.repeat(levels) + inner + "}".repeat(levels);
const arrays = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

test("the limit is 64 levels", () => {
  assert.equal(MAX_JSON_DEPTH, 64);
});

test("objects nested exactly 64 deep pass and 65 are refused at the 65th", () => {
  assert.equal(tooDeepAt(JSON.parse(objects(64))), undefined);
  assert.equal(tooDeepAt(JSON.parse(objects(65))), "$" + ".a".repeat(64));
});

test("arrays nested exactly 64 deep pass and 65 are refused at the 65th", () => {
  assert.equal(tooDeepAt(JSON.parse(arrays(64))), undefined);
  assert.equal(tooDeepAt(JSON.parse(arrays(65))), "$" + "[0]".repeat(64));
});

test("scalars and flat containers are within any limit", () => {
  for (const value of [null, 1, "x", true, {}, [], { a: 1, b: [1, 2] }]) {
    assert.equal(tooDeepAt(value), undefined);
  }
});

test("brackets inside strings do not count", () => {
  const text = objects(63, JSON.stringify("[[[[{{{{".repeat(100)));
  assert.equal(tooDeepAt(JSON.parse(text)), undefined);
  const keys = `{${JSON.stringify("{[".repeat(100))}:${objects(63)}}`;
  assert.equal(tooDeepAt(JSON.parse(keys)), undefined);
});

test("the path names keys and indexes as the API's other paths do", () => {
  const value = { payload: { params: [0, { "odd key": JSON.parse(arrays(63)) }] } };
  assert.equal(tooDeepAt(value), '$.payload.params[1]["odd key"]' + "[0]".repeat(60));
});

test("a value thousands of levels deep is refused without overflowing the stack", () => {
  assert.equal(tooDeepAt(JSON.parse(arrays(100_000)))?.length, 1 + 3 * 64);
  assert.ok(tooDeepAt(JSON.parse(objects(5_000)))?.startsWith("$.a.a"));
});

test("a smaller limit can be given", () => {
  assert.equal(tooDeepAt({ a: { b: {} } }, 2), "$.a.b");
  assert.equal(tooDeepAt({ a: { b: 1 } }, 2), undefined);
});
