// The development client of the first start: made once, its secret said once, kept in a 0600
// file the CLI reads; made again only when this database does not know the file's client.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/runtime/config.ts";
import type { Sql } from "../../src/store/db.ts";
import type { ClientStore } from "../../src/store/client_store.ts";
import { ensureDevClient } from "../../src/dev/dev_client.ts";
import { resolveCredentials } from "../../src/cli/api_credentials.ts";
import { testEnv, uniqueName } from "../support/test_env.ts";
import { openStorage } from "../../src/composition_root.ts";

let sql: Sql;
let store: ClientStore;
let schema: string;
let dir: string;

before(async () => {
  schema = uniqueName();
  const config = loadConfig(testEnv({ DOWNLINK_NAMESPACE: schema, DOWNLINK_DB_SCHEMA: schema }));
  ({ sql, clients: store } = await openStorage(config, { poolSize: 2 }));
  dir = mkdtempSync(join(tmpdir(), "downlink-dev-client-"));
});
after(async () => {
  await sql?.unsafe(`drop schema if exists "${schema}" cascade`);
  await sql?.end({ timeout: 1 });
  rmSync(dir, { recursive: true, force: true });
});

test("the first start makes a client for every device, says its secret once and writes it 0600 for the CLI", async () => {
  const file = join(dir, "first", "client.json");
  const said: string[] = [];
  const id = await ensureDevClient({
    store,
    file,
    url: "http://127.0.0.1:8080",
    say: (l) => said.push(l),
  });

  const written = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(written.client_id, id);
  assert.equal(written.tenant_id, "dev");
  assert.deepEqual(written.devices, ["*"]);
  const known = await store.findCredentials(id);
  assert.equal(known?.secret, written.secret);
  assert.equal(said.filter((l) => l.includes(written.secret)).length, 1, said.join("\n"));
  assert.ok(said.some((l) => l.includes(id) && l.includes("tenant dev")), said.join("\n"));
  // The CLI's command commands find Downlink and the client in it.
  const creds = resolveCredentials({ "client-file": file }, {});
  assert.deepEqual(creds, {
    baseUrl: "http://127.0.0.1:8080",
    clientId: id,
    secret: written.secret,
    tenantId: "dev",
  });

  const again: string[] = [];
  const sameId = await ensureDevClient({
    store,
    file,
    url: "http://127.0.0.1:9090",
    say: (l) => again.push(l),
  });
  assert.equal(sameId, id);
  assert.ok(!again.some((l) => l.includes(written.secret)), "the secret was said again");
  const rewritten = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(rewritten.secret, written.secret);
  assert.equal(rewritten.url, "http://127.0.0.1:9090");
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test("a client file this database does not know is replaced by a new client", async () => {
  const file = join(dir, "stale.json");
  writeFileSync(file, JSON.stringify({ client_id: "ak_000000000000000000000000", secret: "sk_x" }));
  chmodSync(file, 0o644);
  const said: string[] = [];
  const id = await ensureDevClient({
    store,
    file,
    url: "http://127.0.0.1:8080",
    say: (l) => said.push(l),
  });
  assert.notEqual(id, "ak_000000000000000000000000");
  assert.match(said[0], /is not an active client of this database/);
  assert.equal(JSON.parse(readFileSync(file, "utf8")).client_id, id);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});
