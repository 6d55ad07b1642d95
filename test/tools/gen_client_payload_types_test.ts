// src/client/payload_types.ts is what the catalog's schemas say: a catalog or generator change
// without `npm run gen:client-types` fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  PAYLOAD_TYPES_FILE,
  payloadTypesSource,
  typeOf,
} from "../../tools/gen_client_payload_types.ts";
import { listCommands } from "../../src/vendors/dji/catalog.ts";

test("src/client/payload_types.ts is generated from the catalog as it is", () => {
  assert.equal(
    readFileSync(PAYLOAD_TYPES_FILE, "utf8"),
    payloadTypesSource(),
    "src/client/payload_types.ts is stale: run `npm run gen:client-types`",
  );
});

test("every catalog command has a payload type", () => {
  const source = payloadTypesSource();
  for (const { method } of listCommands()) {
    assert.match(source, new RegExp(`^  ${method}: `, "m"), method);
  }
});

test("a schema becomes its type: required and optional fields, enums, arrays, limits", () => {
  assert.equal(
    typeOf({
      type: "object",
      required: ["mode"],
      properties: {
        mode: { anyOf: [{ const: 0 }, { const: "0" }] },
        speed: { type: "number", minimum: 0, maximum: 15 },
        points: { type: "array", items: { type: "object", properties: {} } },
        tags: { type: "array", items: { type: "string" } },
      },
    }),
    [
      "{",
      '  mode: 0 | "0";',
      "  /** 0 to 15 */",
      "  speed?: number;",
      "  points?: Array<Record<string, unknown>>;",
      "  tags?: string[];",
      "}",
    ].join("\n"),
  );
});
