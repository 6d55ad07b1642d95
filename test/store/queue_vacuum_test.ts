// The queue tables are vacuumed by Downlink itself: their dead rows do not wait for autovacuum.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { openPostgres, openStorage } from "../../src/composition_root.ts";
import type { Sql } from "../../src/store/db.ts";
import { QUEUE_TABLES, startQueueVacuum } from "../../src/store/queue_vacuum.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { systemClock } from "../../src/async/time.ts";
import { testEnv } from "../support/test_env.ts";

/** Holds `api_nonces` of `schema` locked (ACCESS EXCLUSIVE) in a transaction until released: a
 * vacuum pass then waits on it, holding its advisory lock. */
async function lockNonces(sql: Sql, schema: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => locked = r);
  const blocker = sql.begin(async (tx) => {
    await tx.unsafe(`lock table "${schema}".api_nonces in access exclusive mode`);
    locked();
    await held;
  });
  await isLocked;
  return {
    release: () => {
      release();
      return blocker.then(() => {});
    },
  };
}

test("a vacuum pass leaves no dead rows in the queue tables", async () => {
  const config = loadConfig(testEnv());
  const { sql } = await openStorage(config, { poolSize: 3 });
  const log = createLogger("silent");
  const a = startQueueVacuum(openPostgres(config, { poolSize: 1 }), {
    clock: systemClock,
    log,
    everyMs: 3_600_000,
  });
  const b = startQueueVacuum(openPostgres(config, { poolSize: 1 }), {
    clock: systemClock,
    log,
    everyMs: 3_600_000,
  });
  try {
    for (let i = 0; i < 3; i++) {
      await sql`insert into event_outbox (event_id, partition, subject, body)
        select gen_random_uuid(), 0, 's', 'b' from generate_series(1, 500)`;
      await sql`delete from event_outbox`;
    }
    const dead = async () =>
      (await sql<{ n: number }[]>`
        select n_dead_tup::int as n from pg_stat_user_tables
        where schemaname = ${config.dbSchema} and relname = 'event_outbox'`)[0].n;
    // Statistics reach pg_stat_user_tables when the session reports them; force it.
    await sql`select pg_stat_force_next_flush()`.catch(() => {});
    const ran = await Promise.all([a.run(), b.run()]);
    assert.ok(ran.some(Boolean), "one of the two vacuumed");
    const vacuumed = await sql<{ relname: string; last_vacuum: Date | null }[]>`
      select relname, last_vacuum from pg_stat_user_tables
      where schemaname = ${config.dbSchema} and relname = any(${[...QUEUE_TABLES]})`;
    assert.deepEqual(
      vacuumed.filter((r) => r.last_vacuum !== null).map((r) => r.relname).sort(),
      [...QUEUE_TABLES].sort(),
    );
    assert.equal(await dead(), 0);
  } finally {
    await a.stop();
    await b.stop();
    await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await sql.end({ timeout: 1 });
  }
});

test("a vacuum in another schema of the database does not stop this one", async () => {
  const log = createLogger("silent");
  const here = loadConfig(testEnv());
  const there = loadConfig(testEnv());
  const { sql: sqlHere } = await openStorage(here, { poolSize: 2 });
  const { sql: sqlThere } = await openStorage(there, { poolSize: 3 });
  const vHere = startQueueVacuum(openPostgres(here, { poolSize: 1 }), {
    clock: systemClock,
    log,
    everyMs: 3_600_000,
  });
  const vThere = startQueueVacuum(openPostgres(there, { poolSize: 1 }), {
    clock: systemClock,
    log,
    everyMs: 3_600_000,
  });
  try {
    // The other deployment's vacuum holds its lock and waits on a table we keep locked.
    const lock = await lockNonces(sqlThere, there.dbSchema);
    const thereRun = vThere.run();
    // Until it holds its advisory lock (its VACUUM then waits on the table).
    for (;;) {
      const [{ n }] = await sqlHere<{ n: number }[]>`
        select count(*)::int as n from pg_locks
        where locktype = 'advisory' and granted and database =
          (select oid from pg_database where datname = current_database())`;
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    try {
      assert.equal(await vHere.run(), true, "this schema's vacuum ran");
    } finally {
      await lock.release();
    }
    assert.equal(await thereRun, true);
  } finally {
    await vHere.stop();
    await vThere.stop();
    await sqlHere.unsafe(`drop schema if exists "${here.dbSchema}" cascade`);
    await sqlThere.unsafe(`drop schema if exists "${there.dbSchema}" cascade`);
    await sqlHere.end({ timeout: 1 });
    await sqlThere.end({ timeout: 1 });
  }
});

test("a vacuum pass keeps an emptied queue table's pages (no exclusive lock to cut them)", async () => {
  const config = loadConfig(testEnv());
  const { sql } = await openStorage(config, { poolSize: 2 });
  const v = startQueueVacuum(openPostgres(config, { poolSize: 1 }), {
    clock: systemClock,
    log: createLogger("silent"),
    everyMs: 3_600_000,
  });
  try {
    await sql`insert into event_outbox (event_id, partition, subject, body)
      select gen_random_uuid(), 0, 's', repeat('b', 200) from generate_series(1, 2000)`;
    await sql`delete from event_outbox`;
    const bytes = async () =>
      (await sql<{ n: number }[]>`
        select pg_relation_size(${`"${config.dbSchema}".event_outbox`}::regclass)::int as n`)[0].n;
    const before = await bytes();
    assert.ok(before > 8192 * 10, `the table grew (${before} bytes)`);
    assert.equal(await v.run(), true);
    // Truncating the empty tail would have taken an ACCESS EXCLUSIVE lock on a table every
    // accept inserts into; the pages are reused instead.
    assert.equal(await bytes(), before);
  } finally {
    await v.stop();
    await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await sql.end({ timeout: 1 });
  }
});

test("the vacuum's session dying mid-pass is a failed pass, not a crashed process", async () => {
  const config = loadConfig(testEnv());
  const { sql } = await openStorage(config, { poolSize: 2 });
  const session = openPostgres(config, { poolSize: 1 });
  const warnings: string[] = [];
  const log = createLogger("silent");
  const v = startQueueVacuum(session, {
    clock: systemClock,
    log: { ...log, warn: (msg: string) => void warnings.push(msg) },
    everyMs: 3_600_000,
  });
  try {
    // The pass holds its advisory lock and waits on a table kept locked here; then its backend
    // is terminated, as when PostgreSQL restarts or an operator ends the session.
    const lock = await lockNonces(sql, config.dbSchema);
    // The vacuum's one session: this test ends it and no other one.
    const [{ pid }] = await session<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pass = v.run();
    // Until its VACUUM waits on the locked table.
    for (;;) {
      const [{ waiting }] = await sql<{ waiting: boolean }[]>`
        select exists (select 1 from pg_stat_activity
          where pid = ${pid} and query like 'vacuum (analyze%') as waiting`;
      if (waiting) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await sql`select pg_terminate_backend(${pid})`;
    await lock.release();
    assert.equal(await pass, false, "the pass failed");
    assert.deepEqual(warnings, ["could not vacuum the queue tables; trying again in a minute"]);
    // The next pass gets a new session and vacuums.
    assert.equal(await v.run(), true);
  } finally {
    await v.stop();
    await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await sql.end({ timeout: 1 });
  }
});

test("the vacuum refuses a pooled client: its lock and VACUUM need one session", () => {
  const sql = openPostgres(loadConfig(testEnv()), { poolSize: 2 });
  assert.throws(
    () => startQueueVacuum(sql, { clock: systemClock, log: createLogger("silent") }),
    /needs a client of its own with one connection \(max: 1\), got max 2/,
  );
  return sql.end({ timeout: 1 });
});
