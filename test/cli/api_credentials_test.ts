// Where the API commands find Downlink and their client: flags, then the environment, then the
// client file; a missing client is one message naming every way to give one.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_URL, resolveCredentials } from "../../src/cli/api_credentials.ts";

const dir = mkdtempSync(join(tmpdir(), "downlink-credentials-"));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, ".downlink"));
writeFileSync(
  join(dir, ".downlink", "client.json"),
  JSON.stringify({ client_id: "ak_file", secret: "s_file", tenant_id: "acme" }),
);

test("flags win over the environment, which wins over the client file", () => {
  const env = { DOWNLINK_API_ID: "ak_env", DOWNLINK_API_SECRET: "s_env", DOWNLINK_URL: "http://e" };
  assert.deepEqual(resolveCredentials({ client: "ak_flag", secret: "s_flag" }, env, dir), {
    baseUrl: "http://e",
    clientId: "ak_flag",
    secret: "s_flag",
    tenantId: undefined,
  });
  assert.equal(resolveCredentials({}, env, dir).clientId, "ak_env");
  assert.deepEqual(resolveCredentials({}, {}, dir), {
    baseUrl: DEFAULT_URL,
    clientId: "ak_file",
    secret: "s_file",
    tenantId: "acme",
  });
});

test("no client anywhere is one message naming flags, variables and the file", () => {
  const empty = mkdtempSync(join(dir, "empty-"));
  assert.throws(
    () => resolveCredentials({}, {}, empty),
    /--client and --secret.*DOWNLINK_API_ID and DOWNLINK_API_SECRET.*--out \.downlink\/client\.json/s,
  );
  writeFileSync(join(empty, "client.json"), JSON.stringify({ client_id: "ak_x" }));
  assert.throws(() => resolveCredentials({}, {}, empty), /client\.json lacks secret/);
  assert.throws(
    () => resolveCredentials({ "client-file": join(empty, "nope.json") }, {}, empty),
    /cannot read the client file .*nope\.json/,
  );
});
