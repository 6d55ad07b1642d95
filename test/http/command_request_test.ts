import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCommandRequest } from "../../src/http/command_request.ts";
import { ValidationError } from "../../src/http/errors.ts";
import { vendorRegistry } from "../../src/vendors/vendor_registry.ts";
import { vendor as dji, vendors as onlyDji } from "../../src/composition_root.ts";
import { acmeAdapter } from "../support/acme_vendor.ts";
import { seedCommand } from "../support/api_fixtures.ts";

const both = vendorRegistry([dji, acmeAdapter]);
const refusal = (body: unknown, vendors = both) => {
  try {
    parseCommandRequest(body, 30, vendors);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  assert.fail("the body was accepted");
};

test('with DJI alone a vendor that is not a string is told it must be "dji"', () => {
  const e = refusal(seedCommand({ vendor: 1 }), onlyDji);
  assert.deepEqual(e.details, [{ path: "$.vendor", reason: 'must be "dji", got 1' }]);
});

test("with two vendors a vendor that is not a string is told the registered names", () => {
  const e = refusal(seedCommand({ vendor: 1 }));
  assert.deepEqual(e.details, [{
    path: "$.vendor",
    reason: 'must be one of "dji", "acme", got 1',
  }]);
});

test("an unregistered vendor is refused UNSUPPORTED_VENDOR naming every registered one", () => {
  const e = refusal(seedCommand({ vendor: "autel" }));
  assert.equal(e.code, "UNSUPPORTED_VENDOR");
  assert.equal(e.message, 'Cannot accept command: vendor must be one of dji, acme, got "autel"');
});

test("a command is checked against its own vendor's catalog and payload contract", () => {
  const acme = (o: Record<string, unknown>) =>
    seedCommand({ vendor: "acme", command_type: "blink", payload: { times: 2 }, ...o });
  const ok = parseCommandRequest(acme({}), 30, both);
  assert.equal(ok.vendor, "acme");
  assert.equal(ok.command_type, "blink");
  assert.equal(refusal(acme({ payload: { times: 11 } })).details?.[0].path, "$.payload.times");
  const notAcme = refusal(acme({ command_type: "fileupload_start" }));
  assert.equal(notAcme.code, "UNSUPPORTED_COMMAND");
  assert.match(notAcme.message, /is not in the acme catalog/);
  assert.equal(refusal(seedCommand({ command_type: "blink" })).code, "UNSUPPORTED_COMMAND");
});
