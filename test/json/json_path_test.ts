import assert from "node:assert/strict";
import { test } from "node:test";
import { pointerToCatalogPath, pointerToJsonPath } from "../../src/json/json_path.ts";

test("array indexes become brackets and keys become dots", () => {
  const root = { params: { files: [{ list: {} }] } };
  assert.equal(
    pointerToJsonPath("/params/files/0/list", root, "$.payload"),
    "$.payload.params.files[0].list",
  );
});

test("a numeric key of an object stays a quoted key", () => {
  assert.equal(pointerToJsonPath("/0", { "0": 1 }), '$["0"]');
});

test("keys with odd characters are quoted and pointer escapes are undone", () => {
  assert.equal(pointerToJsonPath("/a~1b/c~0d/e f", {}), '$["a/b"]["c~d"]["e f"]');
});

test("the empty pointer is the root", () => {
  assert.equal(pointerToJsonPath("", {}, "$.payload"), "$.payload");
});

test("catalog paths drop indexes", () => {
  const root = { params: { files: [{}, { list: [] }] } };
  assert.equal(pointerToCatalogPath("/params/files/1/list", root), "params.files[].list");
});
