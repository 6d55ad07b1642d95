// Every error code the API answers with becomes its own typed error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  apiError,
  DownlinkApiError,
  ERROR_CLASSES,
  ServiceUnavailableError,
} from "../../src/client/api_errors.ts";

test("each code maps to its class, a subclass of DownlinkApiError", () => {
  for (const [code, Class] of Object.entries(ERROR_CLASSES)) {
    const e = apiError(400, { code, message: "m", request_id: "r" });
    assert.equal(e.constructor, Class, code);
    assert.equal(e instanceof DownlinkApiError, true, code);
    assert.equal(e.code, code);
  }
});

test("every code the server's sources answer with has a class", () => {
  const dir = new URL("../../src/http/", import.meta.url);
  const source = readdirSync(dir).map((f) => readFileSync(new URL(f, dir), "utf8")).join("\n");
  // The codes given to the error classes and to the envelopes built by hand.
  const codes = new Set<string>();
  for (
    const m of source.matchAll(
      /(?:super\(\s*\d{3},\s*|(?:Auth|Validation|NotFound)Error\(\s*|errorBody\(\s*)"([A-Z_]+)"/g,
    )
  ) {
    codes.add(m[1]);
  }
  // And the members of the code unions (AuthCode, ValidationCode).
  for (const union of source.matchAll(/type \w+Code =([^;]+);/g)) {
    for (const m of union[1].matchAll(/"([A-Z_]+)"/g)) codes.add(m[1]);
  }
  assert.ok(codes.size >= 10, `found only ${[...codes].join(", ")}`);
  const missing = [...codes].filter((c) => !Object.hasOwn(ERROR_CLASSES, c));
  assert.deepEqual(missing, []);
});

test("a 503 keeps Retry-After; a body without an envelope still becomes an error", () => {
  const busy = apiError(
    503,
    { code: "SERVICE_UNAVAILABLE", message: "Service unavailable", request_id: "r1" },
    new Headers({ "retry-after": "1" }),
  );
  assert.equal(busy instanceof ServiceUnavailableError, true);
  assert.equal(busy.retryAfterSeconds, 1);
  assert.equal(busy.message, "503 SERVICE_UNAVAILABLE: Service unavailable");

  const bare = apiError(502, "Bad Gateway", new Headers({ "x-request-id": "r2" }));
  assert.equal(bare.constructor, DownlinkApiError);
  assert.equal(bare.code, "HTTP_502");
  assert.equal(bare.requestId, "r2");
});
