// Imports point one way: http → command/store/bus; shard → machines/command/store/bus; bridge →
// vendor port/bus; machines → the command module only; DJI is reached through the vendor port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  forbidden,
  importCycles,
  importEdges,
  importSpecifiers,
  isForbidden,
  layerOf,
} from "../../tools/import_directions.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

// Arrows against the direction that are still to be removed. The list may only shrink: an arrow
// not listed fails the test, and so does a listed one that no longer exists.
const NOT_YET_REMOVED: readonly string[] = [];

test("no import in src/ or machines/ points against the intended direction", () => {
  const wrong = forbidden(importEdges(root)).map((e) => `${e.from} -> ${e.to}`).sort();
  assert.deepEqual(wrong, [...NOT_YET_REMOVED].sort());
});

test("no files of src/ or machines/ import each other, directly or round a loop", () => {
  assert.deepEqual(importCycles(importEdges(root)), []);
});

test("a loop of imports is found however long it is", () => {
  const e = (from: string, to: string) => ({ from, to });
  assert.deepEqual(importCycles([e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d")]), [
    ["a", "b", "c"],
  ]);
  assert.deepEqual(importCycles([e("a", "b"), e("b", "c")]), []);
});

test("the rules forbid the arrows the layering names and allow the ones it intends", () => {
  assert.equal(layerOf("machines/command_machine.ts"), "machines");
  assert.equal(layerOf("src/vendors/dji/catalog.ts"), "src/vendors/dji");
  assert.equal(layerOf("src/vendors/vendor_adapter.ts"), "src/vendors");
  assert.equal(layerOf("src/main.ts"), "src/main");
  for (
    const [from, to] of [
      ["machines", "src/bus"],
      ["machines", "src/time"],
      ["src/command", "machines"],
      ["src/store", "src/bus"],
      ["src/bridge", "src/shard"],
      ["src/http", "src/vendors/dji"],
      ["src/shard", "src/vendors/dji"],
      ["src/vendors", "src/vendors/dji"],
    ]
  ) assert.ok(isForbidden(from, to), `${from} -> ${to} should be forbidden`);
  for (
    const [from, to] of [
      ["machines", "src/command"],
      ["src/http", "src/store"],
      ["src/http", "src/vendors"],
      ["src/shard", "machines"],
      ["src/bridge", "src/bus"],
      ["src/bus", "src/store"],
      ["src/vendors/dji", "src/command"],
      ["src/main", "src/vendors/dji"],
    ]
  ) assert.ok(!isForbidden(from, to), `${from} -> ${to} should be allowed`);
});

test("relative imports, re-exports and dynamic imports are all read", () => {
  const source = [
    'import type { A } from "../a.ts";',
    "import {\n  b,\n  c,\n} from './b.ts';",
    'export { d } from "./d.ts";',
    'const e = await import("../e.ts");',
    'import { Hono } from "hono";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), ["../a.ts", "./b.ts", "./d.ts", "../e.ts"]);
});
