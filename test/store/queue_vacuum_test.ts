// The queue tables are vacuumed by Downlink itself: their dead rows do not wait for autovacuum.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { createSql } from "../../src/store/db.ts";
import { runMigrations } from "../../src/store/migrations.ts";
import { QUEUE_TABLES, startQueueVacuum } from "../../src/store/queue_vacuum.ts";
import { createLogger } from "../../src/log.ts";
import { systemClock } from "../../src/time.ts";
import { testEnv } from "../support/test_env.ts";

test("a vacuum pass leaves no dead rows in the queue tables", async () => {
  const config = loadConfig(testEnv());
  const sql = createSql(config, { max: 3 });
  const log = createLogger("silent");
  const a = startQueueVacuum(sql, { clock: systemClock, log, everyMs: 3_600_000 });
  const b = startQueueVacuum(sql, { clock: systemClock, log, everyMs: 3_600_000 });
  try {
    await runMigrations(sql, config.dbSchema);
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
