// The Postgres nonce store on real Postgres: a nonce is fresh once per client within its
// retention, across API instances; one turn's claims share one statement; the prune deletes
// expired nonces; an unreachable Postgres is an error the API answers 503.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { SimulatedClock } from "xstate";
import { type Config, loadConfig } from "../../src/runtime/config.ts";
import type { Sql } from "../../src/store/db.ts";
import { createPostgresNonceStore, type PostgresNonceStore } from "../../src/store/nonce_store.ts";
import { dependencyDown } from "../../src/http/errors.ts";
import { newNonce } from "../../src/http/signing.ts";
import { eventually } from "../support/api_fixtures.ts";
import { startTcpProxy } from "../support/tcp_proxy.ts";
import { testEnv } from "../support/test_env.ts";
import { openPostgres, openStorage } from "../../src/composition_root.ts";

const T0 = Date.parse("2026-04-22T12:00:00.000Z");

let config: Config;
let sql: Sql;

before(async () => {
  config = loadConfig(testEnv());
  ({ sql } = await openStorage(config, { poolSize: 4 }));
});
after(async () => {
  await sql?.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
  await sql?.end({ timeout: 1 });
});

/** A store on `db` whose clock the test moves; closed by the returned stop(). */
function storeOn(db: Sql, options: { pruneBatch?: number } = {}) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const store = createPostgresNonceStore(db, { clock, ...options });
  return { clock, store };
}

async function withStore(
  fn: (s: { clock: SimulatedClock; store: PostgresNonceStore }) => Promise<void>,
): Promise<void> {
  const s = storeOn(sql);
  try {
    await fn(s);
  } finally {
    await s.store.close();
  }
}

test("a fresh nonce is claimed once; the same nonce again is a replay", () =>
  withStore(async ({ store }) => {
    const nonce = newNonce();
    assert.equal(await store.claim("ak_1", nonce, 300), true);
    assert.equal(await store.claim("ak_1", nonce, 300), false);
    // Nonces are per client.
    assert.equal(await store.claim("ak_2", nonce, 300), true);
    const [row] = await sql`select first_used_at, expires_at from api_nonces
      where client_id = 'ak_1' and nonce = ${nonce}`;
    assert.equal(row.first_used_at.toISOString(), "2026-04-22T12:00:00.000Z");
    assert.equal(row.expires_at.toISOString(), "2026-04-22T12:05:00.000Z");
  }));

test("a nonce used longer ago than the retention is fresh again, and that use renews it", () =>
  withStore(async ({ clock, store }) => {
    const nonce = newNonce();
    assert.equal(await store.claim("ak_r", nonce, 10), true);
    clock.increment(10_000);
    assert.equal(await store.claim("ak_r", nonce, 10), false, "exactly the retention ago");
    clock.increment(1);
    assert.equal(await store.claim("ak_r", nonce, 10), true);
    clock.increment(9_999);
    assert.equal(await store.claim("ak_r", nonce, 10), false, "renewed by the last claim");
  }));

test("claims of one turn share one statement, and a nonce twice in it is fresh once", async () => {
  let inserts = 0;
  const counted = postgres(config.databaseUrl, {
    max: 2,
    onnotice: () => {},
    connection: { search_path: config.dbSchema },
    debug: (_conn, query) => {
      if (/insert into api_nonces/.test(query)) inserts++;
    },
  }) as unknown as Sql;
  const { store } = storeOn(counted);
  try {
    const twice = newNonce();
    const claims = [
      ...Array.from({ length: 100 }, () => store.claim("ak_t", newNonce(), 300)),
      store.claim("ak_t", twice, 300),
      store.claim("ak_t", twice, 300),
      store.claim("ak_t", twice, 300),
    ];
    const results = await Promise.all(claims);
    assert.equal(inserts, 1);
    assert.deepEqual(results.slice(0, 100), Array(100).fill(true));
    assert.deepEqual(results.slice(100), [true, false, false]);
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from api_nonces where client_id = 'ak_t'`;
    assert.equal(n, 101);
  } finally {
    await store.close();
    await counted.end({ timeout: 1 });
  }
});

test("the asynchronous commit of a claim does not leak into the pooled connection", async () => {
  const one = openPostgres(config, { poolSize: 1 });
  const { store } = storeOn(one);
  try {
    assert.equal(await store.claim("ak_w", newNonce(), 300), true);
    const [{ setting }] = await one<{ setting: string }[]>`
      select current_setting('synchronous_commit') as setting`;
    assert.equal(setting, "on");
  } finally {
    await store.close();
    await one.end({ timeout: 1 });
  }
});

test("two API instances share their nonces, and race for one exactly once", async () => {
  const other = openPostgres(config, { poolSize: 2 });
  const a = storeOn(sql);
  const b = storeOn(other);
  try {
    const nonce = newNonce();
    assert.equal(await a.store.claim("ak_s", nonce, 300), true);
    assert.equal(await b.store.claim("ak_s", nonce, 300), false);

    for (let i = 0; i < 10; i++) {
      const raced = newNonce();
      const results = await Promise.all([
        a.store.claim("ak_s", raced, 10),
        b.store.claim("ak_s", raced, 10),
      ]);
      assert.equal(results.filter(Boolean).length, 1, `fresh nonce ${i}`);
      // Expired for both instances: again exactly one of them takes it.
      a.clock.increment(10_001);
      b.clock.increment(10_001);
      const again = await Promise.all([
        a.store.claim("ak_s", raced, 10),
        b.store.claim("ak_s", raced, 10),
      ]);
      assert.equal(again.filter(Boolean).length, 1, `expired nonce ${i}`);
    }
  } finally {
    await a.store.close();
    await b.store.close();
    await other.end({ timeout: 1 });
  }
});

test("every minute the prune deletes expired nonces in batches, until close()", async () => {
  await sql`delete from api_nonces`;
  const { clock, store } = storeOn(sql, { pruneBatch: 3 });
  const timers = () => (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
  const count = async () =>
    (await sql<{ n: number }[]>`select count(*)::int as n from api_nonces`)[0].n;
  try {
    await Promise.all(Array.from({ length: 7 }, () => store.claim("ak_p", newNonce(), 10)));
    const kept = newNonce();
    assert.equal(await store.claim("ak_p", kept, 3600), true);
    clock.increment(59_999);
    assert.equal(await count(), 8, "nothing pruned before the minute");

    clock.increment(1);
    await eventually(async () => (await count()) === 1 || undefined, 5_000, "the prune");
    const rows = await sql`select nonce from api_nonces`;
    assert.deepEqual(rows.map((r) => r.nonce), [kept]);
    assert.equal(await store.claim("ak_p", kept, 3600), false, "an unexpired nonce stays");
  } finally {
    await store.close();
  }
  assert.equal(timers(), 0, "close() leaves no prune armed");
});

test("the prune returns how many it deleted and leaves unexpired nonces", () =>
  withStore(async ({ clock, store }) => {
    await sql`delete from api_nonces`;
    await Promise.all([
      store.claim("ak_q", newNonce(), 5),
      store.claim("ak_q", newNonce(), 5),
      store.claim("ak_q", newNonce(), 50),
    ]);
    clock.increment(5_000);
    assert.equal(await store.prune(), 0, "not expired at exactly the retention");
    clock.increment(1);
    assert.equal(await store.prune(), 2);
    assert.equal(await store.prune(), 0);
  }));

test("with Postgres unreachable a claim rejects with an error the API answers 503", async () => {
  const url = new URL(config.databaseUrl);
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  const through = openPostgres({ ...config, databaseUrl: proxy.url(config.databaseUrl) }, {
    poolSize: 2,
  });
  const { store } = storeOn(through);
  try {
    assert.equal(await store.claim("ak_d", newNonce(), 300), true);
    await proxy.close();
    const nonce = newNonce();
    const results = await Promise.allSettled([
      store.claim("ak_d", nonce, 300),
      store.claim("ak_d", nonce, 300),
    ]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.equal(dependencyDown((r as PromiseRejectedResult).reason), "Postgres");
    }
    await proxy.open();
    assert.equal(await store.claim("ak_d", nonce, 300), true, "a failed claim spends nothing");
  } finally {
    await store.close();
    await through.end({ timeout: 1 }).catch(() => {});
    await proxy.stop();
  }
});
