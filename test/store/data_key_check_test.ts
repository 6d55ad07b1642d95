// A DOWNLINK_DATA_KEY other than the one the database was created with is refused at start-up,
// before anything is sealed with it or fails to open.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ConfigError, loadConfig } from "../../src/runtime/config.ts";
import { startDownlink } from "../../src/composition_root.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { checkDataKey } from "../../src/store/data_key_check.ts";
import { dropNamespace } from "../support/harness.ts";
import { testEnv, uniqueName } from "../support/test_env.ts";
import { dataCipher, openStorage } from "../../src/composition_root.ts";

const KEY_A = Buffer.alloc(32, 0xa1).toString("base64");
const KEY_B = Buffer.alloc(32, 0xb2).toString("base64");
const namespaces: string[] = [];

function configFor(ns: string, key: string) {
  return loadConfig(
    testEnv({ DOWNLINK_NAMESPACE: ns, DOWNLINK_DB_SCHEMA: ns, DOWNLINK_DATA_KEY: key }),
  );
}

after(async () => {
  for (const ns of namespaces) await dropNamespace(configFor(ns, KEY_A));
});

test("a second start with another data key is refused naming the schema and the fix", async () => {
  const ns = uniqueName();
  namespaces.push(ns);
  const first = await startDownlink(configFor(ns, KEY_A), { log: silentLogger });
  await first.stop();

  const outcome = await startDownlink(configFor(ns, KEY_B), { log: silentLogger }).catch((e) => e);
  if (!(outcome instanceof Error)) {
    await outcome.stop();
    assert.fail("Downlink started with a data key that does not open its data");
  }
  assert.ok(outcome instanceof ConfigError, String(outcome));
  assert.equal(
    outcome.message,
    `DOWNLINK_DATA_KEY does not open the data in ${ns} (it was sealed with another key): ` +
      "set the key this database was created with",
  );

  const again = await startDownlink(configFor(ns, KEY_A), { log: silentLogger });
  await again.stop();
});

test("a database from before the check is refused when its client secrets do not open", async () => {
  const ns = uniqueName();
  namespaces.push(ns);
  const a = configFor(ns, KEY_A);
  const { sql, clients, close } = await openStorage(a, { poolSize: 1 });
  try {
    await clients.createClient({ tenantId: uniqueName("acme"), name: "ops", devices: ["dock-1"] });
    // As a database upgraded from version 5 has it: clients, but no check value yet.
    await sql`delete from data_key_check`;

    await assert.rejects(
      checkDataKey(sql, dataCipher(configFor(ns, KEY_B)), ns),
      /DOWNLINK_DATA_KEY does not open the data in/,
    );
    assert.equal((await sql`select count(*)::int as n from data_key_check`)[0].n, 0);
    await checkDataKey(sql, dataCipher(a), ns);
    assert.equal((await sql`select count(*)::int as n from data_key_check`)[0].n, 1);
  } finally {
    await close();
  }
});
