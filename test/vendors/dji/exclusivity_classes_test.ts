import assert from "node:assert/strict";
import { test } from "node:test";
import {
  EXCLUSIVITY_CLASSES,
  exclusivityClassOf,
} from "../../../src/vendors/dji/exclusivity_classes.ts";
import { findCommand } from "../../../src/vendors/dji/catalog.ts";
import { DJI_RESULT_TEXTS } from "../../../src/vendors/dji/result_codes_data.ts";

test("every class's methods are catalog commands that report progress, each in one class", () => {
  const seen = new Set<string>();
  for (const c of EXCLUSIVITY_CLASSES) {
    for (const method of c.methods) {
      assert.ok(findCommand(method)?.progress_event, `${c.name}: ${method} reports no progress`);
      assert.ok(!seen.has(method), `${method} is in two classes`);
      seen.add(method);
    }
  }
});

test("every busy code is one DJI documents", () => {
  for (const c of EXCLUSIVITY_CLASSES) {
    for (const code of c.busy_codes) {
      assert.ok(DJI_RESULT_TEXTS[code], `${c.name}: ${code} is not in DJI's table`);
    }
  }
});

test("a remote-debug job's class is remote_debug; a switch has none", () => {
  assert.equal(exclusivityClassOf("cover_open")?.name, "remote_debug");
  assert.deepEqual(exclusivityClassOf("drone_open")?.busy_codes, [514116]);
  assert.equal(exclusivityClassOf("supplement_light_open"), undefined);
});
