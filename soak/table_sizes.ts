// How big Downlink's tables are and how many dead rows they hold: the queue tables (outboxes,
// in-flight set, nonces) must stay small with autovacuum off, by Downlink's own vacuum.
import type postgres from "postgres";

export const WATCHED_TABLES = [
  "commands",
  "command_outbox",
  "event_outbox",
  "in_flight_commands",
  "api_nonces",
] as const;
export type WatchedTable = typeof WATCHED_TABLES[number];

export interface TableSize {
  /** pg_total_relation_size: heap, indexes and TOAST. */
  bytes: number;
  /** n_dead_tup from pg_stat_user_tables (the statistics lag a moment behind). */
  deadTuples: number;
}

export async function readTableSizes(
  sql: postgres.Sql,
  schema: string,
): Promise<Record<WatchedTable, TableSize>> {
  const rows = await sql<{ name: string; bytes: string; dead: string | null }[]>`
    select t.name,
           pg_total_relation_size(format('%I.%I', ${schema}::text, t.name)::regclass) as bytes,
           s.n_dead_tup as dead
    from unnest(${sql.array([...WATCHED_TABLES])}::text[]) as t(name)
    left join pg_stat_user_tables s on s.schemaname = ${schema} and s.relname = t.name`;
  const out = {} as Record<WatchedTable, TableSize>;
  for (const r of rows) {
    out[r.name as WatchedTable] = { bytes: Number(r.bytes), deadTuples: Number(r.dead ?? 0) };
  }
  return out;
}
