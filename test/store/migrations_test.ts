import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { MIGRATIONS, runMigrations } from "../../src/store/migrations.ts";
import { testEnv } from "../support/test_env.ts";
import { openPostgres } from "../../src/composition_root.ts";

test("instances starting at once apply each migration exactly once", async () => {
  const config = loadConfig(testEnv());
  const pools = [
    openPostgres(config, { poolSize: 1 }),
    openPostgres(config, { poolSize: 1 }),
    openPostgres(config, { poolSize: 1 }),
  ];
  try {
    const results = await Promise.all(pools.map((sql) => runMigrations(sql, config.dbSchema)));
    const applied = results.flat().sort((a, b) => a - b);
    assert.deepEqual(applied, MIGRATIONS.map((m) => m.version));
    const rows = await pools[0]`select version from schema_migrations order by version`;
    assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    assert.deepEqual(await runMigrations(pools[1], config.dbSchema), []);
    const tables = await pools[0]`select table_name from information_schema.tables
      where table_schema = ${config.dbSchema} order by table_name`;
    assert.deepEqual(tables.map((r) => r.table_name), [
      "api_clients",
      "api_nonces",
      "command_outbox",
      "command_progress",
      "commands",
      "data_key_check",
      "device_grants",
      "device_requests",
      "devices",
      "event_outbox",
      "in_flight_commands",
      "schema_migrations",
      "tenants",
    ]);
  } finally {
    await pools[0].unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
  }
});

test("upgrading to the in-flight table keeps every in-flight command, and only those", async () => {
  const config = loadConfig(testEnv());
  const sql = openPostgres(config, { poolSize: 1 });
  try {
    // A deployment at version 3, with one command of each kind.
    await sql.unsafe(`create schema "${config.dbSchema}"`);
    await sql.unsafe(`create table "${config.dbSchema}".schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`);
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      await sql.unsafe(m.sql);
      await sql`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
    }
    const ids = {
      ACCEPTED: "0190b6c4-0000-7000-8000-000000000001",
      DELIVERED: "0190b6c4-0000-7000-8000-000000000002",
      SUCCEEDED: "0190b6c4-0000-7000-8000-000000000003",
    };
    for (const [status, id] of Object.entries(ids)) {
      await sql`insert into commands (command_id, tenant_id, client_id, idempotency_key,
          request_hash, vendor, device_id, command_type, channel, partition, bid, payload_enc,
          status, timeout_seconds, accepted_at, deadline_at, updated_at)
        values (${id}, 't', 'c', ${id}, 'h', 'dji', 'DOCK', 'fileupload_start', 'services', 7,
          ${id}, '\\x00', ${status}, 30, now(), now() + interval '30 seconds', now())`;
    }
    assert.deepEqual(await runMigrations(sql, config.dbSchema), [4, 5, 6, 7, 8, 9, 10, 11]);
    const rows =
      await sql`select command_id, partition from in_flight_commands order by command_id`;
    assert.deepEqual(rows.map((r) => [r.command_id, r.partition]), [
      [ids.ACCEPTED, 7],
      [ids.DELIVERED, 7],
    ]);
  } finally {
    await sql.unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await sql.end({ timeout: 1 });
  }
});
