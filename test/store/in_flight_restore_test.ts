// The in-flight commands of a partition are read back by their index whatever the planner
// believes of `commands`: autovacuum may be off (it is on this project's CI machine) or behind a
// burst, and a plan that scans every command once per partition made a restart with 100,000 in
// flight take 12 s instead of 3.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { openStorage } from "../../src/composition_root.ts";
import { inFlightQuery } from "../../src/store/lifecycle_store.ts";
import { testEnv } from "../support/test_env.ts";

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

test("a partition's in-flight commands are read by index, with no statistics on commands", async () => {
  const config = loadConfig(testEnv());
  const { sql, close } = await openStorage(config, { poolSize: 1 });
  try {
    // A burst accepted since the last analyze: 30,000 commands, 20,000 of them in flight over
    // 16 partitions; the small queue table is analyzed (Downlink's queue vacuum does), the
    // commands table is not.
    await sql`alter table commands set (autovacuum_enabled = false)`;
    await sql`
      insert into commands (command_id, tenant_id, client_id, idempotency_key, request_hash,
        vendor, device_id, command_type, channel, partition, bid, payload_enc, status,
        timeout_seconds, accepted_at, deadline_at, updated_at)
      select gen_random_uuid(), 't', 'c', 'k' || i, 'h', 'dji', 'SN' || (i % 3000),
        'fileupload_start', 'services', i % 16, gen_random_uuid(), '\\x00'::bytea,
        case when i % 3 = 0 then 'SUCCEEDED' else 'ACCEPTED' end,
        300, now(), now() + interval '5 minutes', now()
      from generate_series(1, 30000) i`;
    await sql`
      insert into in_flight_commands (command_id, partition, accepted_at)
      select command_id, partition, accepted_at from commands where status = 'ACCEPTED'`;
    await sql`analyze in_flight_commands`;
    const [{ "QUERY PLAN": plan }] = await sql`explain (format json) ${inFlightQuery(sql, [3])}`;
    const scans = planNodes(plan[0].Plan)
      .filter((n) => n["Relation Name"] === "commands")
      .map((n) => n["Node Type"]);
    assert.deepEqual(scans, ["Index Scan"], `commands read by ${scans.join(", ")}`);
  } finally {
    await sql.unsafe(`drop schema "${config.dbSchema}" cascade`);
    await close();
  }
});
