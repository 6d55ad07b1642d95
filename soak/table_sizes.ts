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
  /** n_live_tup and n_dead_tup from pg_stat_user_tables (the statistics lag a moment behind):
   * a queue table's live rows should come back to near 0, its dead rows be vacuumed. */
  liveTuples: number;
  deadTuples: number;
}

export async function readTableSizes(
  sql: postgres.Sql,
  schema: string,
): Promise<Record<WatchedTable, TableSize>> {
  const rows = await sql<
    { name: string; bytes: string; live: string | null; dead: string | null }[]
  >`
    select t.name,
           pg_total_relation_size(format('%I.%I', ${schema}::text, t.name)::regclass) as bytes,
           s.n_live_tup as live, s.n_dead_tup as dead
    from unnest(${sql.array([...WATCHED_TABLES])}::text[]) as t(name)
    left join pg_stat_user_tables s on s.schemaname = ${schema} and s.relname = t.name`;
  const out = {} as Record<WatchedTable, TableSize>;
  for (const r of rows) {
    out[r.name as WatchedTable] = {
      bytes: Number(r.bytes),
      liveTuples: Number(r.live ?? 0),
      deadTuples: Number(r.dead ?? 0),
    };
  }
  return out;
}

/** Exact rows left in the queue tables (after the drain they should be none), with the
 * statuses of the commands whose outbox rows are left. */
export async function countQueueRows(
  sql: postgres.Sql,
  schema: string,
): Promise<Record<string, number>> {
  const s = sql(schema);
  const [counts] = await sql<{ cmd: string; ev: string; fl: string }[]>`
    select (select count(*) from ${s}.command_outbox) as cmd,
           (select count(*) from ${s}.event_outbox) as ev,
           (select count(*) from ${s}.in_flight_commands) as fl`;
  const out: Record<string, number> = {
    command_outbox: Number(counts.cmd),
    event_outbox: Number(counts.ev),
    in_flight_commands: Number(counts.fl),
  };
  const left = await sql<{ status: string; n: string }[]>`
    select c.status, count(*) as n from ${s}.command_outbox o
    join ${s}.commands c using (command_id) group by c.status`;
  for (const r of left) out[`command_outbox of ${r.status} commands`] = Number(r.n);
  return out;
}
