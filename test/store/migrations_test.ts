import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { createSql } from "../../src/store/db.ts";
import { MIGRATIONS, runMigrations } from "../../src/store/migrations.ts";
import { testEnv } from "../support/test_env.ts";

test("instances starting at once apply each migration exactly once", async () => {
  const config = loadConfig(testEnv());
  const pools = [
    createSql(config, { max: 1 }),
    createSql(config, { max: 1 }),
    createSql(config, { max: 1 }),
  ];
  try {
    const results = await Promise.all(pools.map((sql) => runMigrations(sql, config.dbSchema)));
    const applied = results.flat().sort();
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
      "commands",
      "device_grants",
      "schema_migrations",
      "tenants",
    ]);
  } finally {
    await pools[0].unsafe(`drop schema if exists "${config.dbSchema}" cascade`);
    await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
  }
});
