// Where a dock's events are recorded in Postgres: the command an event reports on (found by its
// gateway, its progress method and a link key), the job's latest progress with its
// command.progress event (one transaction, the event outbox), and an event no command claims
// as a device event in the same outbox.
import type { CommandInput } from "../command/command_facts.ts";
import type { Sql } from "./db.ts";
import type { OutboxEvent } from "./event_outbox.ts";
import type { CommandProgress } from "../command/progress.ts";
import type { CommandStatus } from "../command/status.ts";

/** command_progress as `to_jsonb` renders it (times as ISO text). */
export interface ProgressRow {
  status: string;
  percent: number | null;
  step: string | null;
  result: number | null;
  failure_reason: string | null;
  detail: Record<string, unknown> | null;
  device_timestamp: number | null;
  updated_at: string;
  finished_at: string | null;
  published_at: string | null;
  published_status: string | null;
}

export function progressOfRow(r: ProgressRow): CommandProgress {
  const p: CommandProgress = { status: r.status, updated_at: Date.parse(r.updated_at) };
  if (r.percent !== null) p.percent = r.percent;
  if (r.step !== null) p.step = r.step;
  if (r.result !== null) p.result = Number(r.result);
  if (r.failure_reason !== null) p.failure_reason = r.failure_reason;
  if (r.detail !== null) p.detail = r.detail;
  if (r.device_timestamp !== null) p.device_timestamp = Number(r.device_timestamp);
  if (r.finished_at !== null) p.finished_at = Date.parse(r.finished_at);
  if (r.published_at !== null) p.published_at = Date.parse(r.published_at);
  if (r.published_status !== null) p.published_status = r.published_status;
  return p;
}

/** The command an event reports on, with its job's progress so far. */
export type LinkedCommand =
  & Pick<
    CommandInput,
    "command_id" | "tenant_id" | "client_id" | "vendor" | "device_id" | "command_type"
  >
  & { status: CommandStatus; progress?: CommandProgress };

export interface JobEventStore {
  /** The newest command of `gateway` whose progress `method` reports and that one of `keys`
   * names, or undefined. */
  link(
    gateway: string,
    method: string,
    keys: readonly string[],
  ): Promise<LinkedCommand | undefined>;
  /** Stores the command's progress (unless a newer report is stored already) and commits the
   * events with it. */
  recordProgress(
    commandId: string,
    progress: CommandProgress,
    events: readonly OutboxEvent[],
  ): Promise<void>;
  /** Commits the events into the outbox (an event already there is left as it is). */
  recordEvents(events: readonly OutboxEvent[]): Promise<void>;
}

const iso = (ms: number | undefined) => ms === undefined ? null : new Date(ms).toISOString();

export function createJobEventStore(sql: Sql): JobEventStore {
  const insertEvents = async (tx: Sql, events: readonly OutboxEvent[]) => {
    if (events.length === 0) return;
    const json = sql.json(
      events.map((e, ord) => ({ ...e, command_id: e.command_id ?? null, ord })) as never,
    );
    await tx`
      insert into event_outbox (event_id, partition, command_id, subject, body)
      select x.event_id, x.partition, x.command_id, x.subject, x.body
      from jsonb_to_recordset(${json}) as x(
        event_id uuid, partition integer, command_id uuid, subject text, body text, ord integer)
      order by x.ord
      on conflict (event_id) do nothing`;
  };

  return {
    async link(gateway, method, keys) {
      if (keys.length === 0) return undefined;
      const [row] = await sql<
        (Omit<LinkedCommand, "progress"> & { progress: ProgressRow | null })[]
      >`
        select c.command_id, c.tenant_id, c.client_id, c.vendor, c.device_id, c.command_type,
               c.status, to_jsonb(p) as progress
        from commands c left join command_progress p using (command_id)
        where c.progress_keys && ${keys as string[]}::text[]
          and c.device_id = ${gateway}
          and c.progress_event = ${method}
        order by c.accepted_at desc
        limit 1`;
      if (!row) return undefined;
      const { progress, ...command } = row;
      return progress ? { ...command, progress: progressOfRow(progress) } : command;
    },

    async recordProgress(commandId, p, events) {
      await sql.begin(async (tx) => {
        // The guard keeps a newer report should two hosts ever write one command's progress
        // (a partition changing owner mid-write).
        await tx`
          insert into command_progress (command_id, status, percent, step, result,
            failure_reason, detail, device_timestamp, updated_at, finished_at, published_at,
            published_status)
          values (${commandId}, ${p.status}, ${p.percent ?? null}, ${p.step ?? null},
            ${p.result ?? null}, ${p.failure_reason ?? null},
            ${p.detail === undefined ? null : sql.json(p.detail as never)},
            ${p.device_timestamp ?? null}, ${iso(p.updated_at)}::timestamptz,
            ${iso(p.finished_at)}::timestamptz, ${iso(p.published_at)}::timestamptz,
            ${p.published_status ?? null})
          on conflict (command_id) do update set
            status = excluded.status, percent = excluded.percent, step = excluded.step,
            result = excluded.result, failure_reason = excluded.failure_reason,
            detail = excluded.detail, device_timestamp = excluded.device_timestamp,
            updated_at = excluded.updated_at,
            finished_at = coalesce(command_progress.finished_at, excluded.finished_at),
            published_at = excluded.published_at, published_status = excluded.published_status
          where command_progress.device_timestamp is null
             or excluded.device_timestamp is null
             or excluded.device_timestamp >= command_progress.device_timestamp`;
        await insertEvents(tx as unknown as Sql, events);
      });
    },

    async recordEvents(events) {
      await insertEvents(sql, events);
    },
  };
}
