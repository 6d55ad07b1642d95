// Postgres access for the command lifecycle: group-committed transitions (row + actor snapshot),
// the in-flight commands a shard restores, and the lookups late or foreign replies need.
import type { Sql } from "./db.ts";
import type { OutboxEvent } from "./event_outbox.ts";
import type { CommandContext, CommandInput } from "../command/command_facts.ts";
import type { CommandStatus } from "../command/status.ts";

/** One command's state after its latest transition(s), as the row stores it. */
export interface TransitionRow extends Omit<CommandContext, keyof CommandInput> {
  command_id: string;
  status: CommandStatus;
  updated_at: number;
  snapshot: unknown;
}

/** A command as the lifecycle needs it (never the decrypted payload): its machine context is
 * its columns; its stored snapshot holds only the machine's state. */
export interface LifecycleCommand extends CommandContext {
  partition: number;
  bid: string;
  status: CommandStatus;
  snapshot: unknown;
}

/** An in-flight command to restore; the sealed payload only while it may still need sending. */
export interface InFlightCommand extends LifecycleCommand {
  payload_enc?: Uint8Array;
  /** Claimed for sending before (see claimSends): it is never sent again. */
  sent: boolean;
}

/** A job that may still run on its dock: a command of a method whose job reports progress,
 * ACCEPTED, DELIVERED or SUCCEEDED, before its deadline, with no terminal progress yet. */
export interface UnfinishedJob {
  command_id: string;
  vendor: string;
  device_id: string;
  command_type: string;
  status: CommandStatus;
  deadline_at: number;
}

/** What became of a claim to send a command: `claimed` (send it now), `sent` (an earlier host
 * claimed it: it may have reached the device), `gone` (no longer in flight). */
export type SendClaim = "claimed" | "sent" | "gone";

export interface Outbound {
  bid: string;
  payload_enc: Uint8Array;
  status: CommandStatus;
}

/** A lifecycle event to commit with a batch of transitions. */
export interface TransitionEvent extends OutboxEvent {
  /** Committed whatever the rows do (a problem); otherwise only if its command's row moved. */
  always?: boolean;
}

export interface WrittenTransitions {
  /** The commands whose rows were updated. */
  applied: Set<string>;
  /** The events committed, by event id. */
  events: Set<string>;
}

export interface LifecycleStore {
  /** Writes a batch in one statement, with the lifecycle events it reports (in their order) and
   * the deletion of outbox events already stored in JetStream; a terminal row is never moved to
   * another status. */
  writeTransitions(
    rows: readonly TransitionRow[],
    events?: readonly TransitionEvent[],
    published?: readonly string[],
  ): Promise<WrittenTransitions>;
  /** Every ACCEPTED or DELIVERED command of the partitions, oldest first (context: the input
   * and `delivered_at`, all an in-flight command can have). */
  loadInFlight(partitions: readonly number[]): Promise<InFlightCommand[]>;
  /** The jobs of the partition's commands of `methods` that have not ended by `now` (their
   * deadline not passed, no terminal progress): a restore finds which still hold their class. */
  loadUnfinishedJobs(
    partition: number,
    methods: readonly string[],
    now: number,
  ): Promise<UnfinishedJob[]>;
  /** What the shard needs to host and send commands (one query for a batch of dispatches). */
  loadOutbound(commandIds: readonly string[]): Promise<Map<string, Outbound>>;
  /** The commands of these ids that exist (one query for a batch of late or stray replies). */
  findCommands(commandIds: readonly string[]): Promise<Map<string, LifecycleCommand>>;
  /** Claims in-flight commands for sending, each at most once ever; committed when it resolves.
   * `claim` identifies the attempt: a retry with the same one (the first answer was lost) finds
   * its own claims as claimed, not as sent by someone else. */
  claimSends(commandIds: readonly string[], claim: string): Promise<Map<string, SendClaim>>;
}

/** The fields of `o` that hold a value (a column's NULL is no field, as in the context). */
function optional<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out;
}

const iso = (ms: number | undefined) => ms === undefined ? null : new Date(ms).toISOString();
const ms = (d: Date | null | undefined) => d ? d.getTime() : undefined;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The in-flight commands of `partitions`, oldest first. Each is looked up by its key, in a
 * lateral subquery the planner may not flatten (`offset 0`): with the statistics of `commands`
 * stale after a burst (autovacuum off or behind), a plain join was planned as a scan of every
 * command for each partition, and a restart with 100,000 in flight took 12 s instead of 3. */
export function inFlightQuery(sql: Sql, partitions: readonly number[]) {
  return sql`
    select c.command_id, c.tenant_id, c.client_id, c.vendor, c.device_id, c.command_type,
           c.channel, c.partition, c.bid, c.status, c.accepted_at, c.deadline_at,
           c.delivered_at, c.snapshot, f.sending_at is not null as sent,
           case when c.status = 'ACCEPTED' and f.sending_at is null then c.payload_enc end
             as payload_enc
    from in_flight_commands f
    cross join lateral (
      select * from commands c
      where c.command_id = f.command_id and c.status in ('ACCEPTED', 'DELIVERED')
      offset 0
    ) c
    where f.partition = any(${partitions as number[]}::int[])
    order by f.accepted_at, f.command_id`;
}

export function createLifecycleStore(sql: Sql): LifecycleStore {
  const toCommand = (r: Record<string, any>): LifecycleCommand => ({
    command_id: r.command_id,
    tenant_id: r.tenant_id,
    client_id: r.client_id,
    vendor: r.vendor,
    device_id: r.device_id,
    command_type: r.command_type,
    channel: r.channel,
    partition: r.partition,
    bid: r.bid,
    status: r.status,
    accepted_at: ms(r.accepted_at)!,
    deadline_at: ms(r.deadline_at)!,
    snapshot: r.snapshot ?? undefined,
    ...optional({
      delivered_at: ms(r.delivered_at),
      response_received_at: ms(r.response_received_at),
      completed_at: ms(r.completed_at),
      response_code: r.response_code,
      response_message: r.response_message,
      vendor_response: r.vendor_response,
      failure_code: r.failure_code,
      failure_reason: r.failure_reason,
    }),
  });

  return {
    async writeTransitions(rows, events = [], published = []) {
      if (rows.length === 0 && events.length === 0 && published.length === 0) {
        return { applied: new Set(), events: new Set() };
      }
      const eventJson = sql.json(events.map((e, ord) => ({
        event_id: e.event_id,
        partition: e.partition,
        command_id: e.command_id ?? null,
        subject: e.subject,
        body: e.body,
        always: e.always === true,
        ord,
      })) as never);
      const json = sql.json(rows.map((r) => ({
        command_id: r.command_id,
        status: r.status,
        delivered_at: iso(r.delivered_at),
        response_received_at: iso(r.response_received_at),
        completed_at: iso(r.completed_at),
        response_code: r.response_code ?? null,
        response_message: r.response_message ?? null,
        vendor_response: r.vendor_response ?? null,
        failure_code: r.failure_code ?? null,
        failure_reason: r.failure_reason ?? null,
        updated_at: iso(r.updated_at),
        snapshot: r.snapshot,
      })) as never);
      // One statement for the whole batch: group commit is what makes thousands of transitions
      // per second affordable. The status guard keeps terminal rows as they are even if a
      // command were ever driven twice; only a TIMED_OUT row takes a late reply's fields.
      const ids = rows.map((r) => r.command_id);
      // A command handed over inside the process keeps its outbox row until here: the first
      // transition past ACCEPTED is proof it was carried. (For commands carried through
      // JetStream the relay has deleted the row already, and this deletes nothing.)
      // A command leaves the in-flight set with the update that makes it terminal.
      const updated = await sql`
        with carried as (delete from command_outbox where command_id = any(${ids}::uuid[])),
        moved as (
        update commands c set
          status = x.status,
          delivered_at = coalesce(x.delivered_at, c.delivered_at),
          response_received_at = coalesce(x.response_received_at, c.response_received_at),
          completed_at = coalesce(x.completed_at, c.completed_at),
          response_code = coalesce(x.response_code, c.response_code),
          response_message = coalesce(x.response_message, c.response_message),
          vendor_response = coalesce(x.vendor_response, c.vendor_response),
          failure_code = coalesce(x.failure_code, c.failure_code),
          failure_reason = coalesce(x.failure_reason, c.failure_reason),
          updated_at = x.updated_at,
          snapshot = x.snapshot
        from jsonb_to_recordset(${json}) as x(
          command_id uuid, status text, delivered_at timestamptz, response_received_at timestamptz,
          completed_at timestamptz, response_code text, response_message text,
          vendor_response jsonb, failure_code text, failure_reason text, updated_at timestamptz,
          snapshot jsonb)
        where c.command_id = x.command_id
          -- The planner cannot see how many rows jsonb_to_recordset yields (it guesses 100), so
          -- without this it joins by scanning the whole table; the key list makes it probe the
          -- primary key instead.
          and c.command_id = any(${ids}::uuid[])
          and (c.status in ('ACCEPTED', 'DELIVERED')
            -- a TIMED_OUT row takes a late reply's fields, once
            or (c.status = 'TIMED_OUT' and x.status = 'TIMED_OUT'
                and c.response_received_at is null and x.response_received_at is not null))
        returning c.command_id, c.status
        ), landed as (
          delete from in_flight_commands f using moved
          where f.command_id = moved.command_id and moved.status not in ('ACCEPTED', 'DELIVERED')
        ), published as (
          delete from event_outbox where event_id = any(${published as string[]}::uuid[])
        ), written as (
          -- A transition's event only if its row moved; seq follows the batch's order.
          insert into event_outbox (event_id, partition, command_id, subject, body)
          select e.event_id, e.partition, e.command_id, e.subject, e.body
          from jsonb_to_recordset(${eventJson}) as e(
            event_id uuid, partition integer, command_id uuid, subject text, body text,
            always boolean, ord integer)
          where e.always or e.command_id in (select command_id from moved)
          order by e.ord
          on conflict (event_id) do nothing
          returning event_id
        )
        select command_id, null::uuid as event_id from moved
        union all
        select null, event_id from written
        union all
        -- Committed by an earlier attempt of this batch whose answer was lost.
        select null, event_id from event_outbox
        where event_id = any(${events.map((e) => e.event_id)}::uuid[])`;
      const applied = new Set<string>();
      const written = new Set<string>();
      for (const r of updated) {
        if (r.command_id) applied.add(r.command_id as string);
        else written.add(r.event_id as string);
      }
      return { applied, events: written };
    },

    async loadInFlight(partitions) {
      if (partitions.length === 0) return [];
      const rows = await inFlightQuery(sql, partitions);
      return rows.map((r) => ({
        ...toCommand(r),
        sent: r.sent,
        ...(r.payload_enc ? { payload_enc: new Uint8Array(r.payload_enc) } : {}),
      }));
    },

    async loadUnfinishedJobs(partition, methods, now) {
      if (methods.length === 0) return [];
      // commands_jobs_by_deadline (migration 10): only commands whose job reports progress, and
      // of those only the ones whose deadline has not passed.
      const rows = await sql`
        select c.command_id, c.vendor, c.device_id, c.command_type, c.status, c.deadline_at
        from commands c
        where c.partition = ${partition} and c.progress_event is not null
          and c.deadline_at > ${iso(now)}::timestamptz
          and c.command_type = any(${methods as string[]}::text[])
          and c.status in ('ACCEPTED', 'DELIVERED', 'SUCCEEDED')
          and not exists (select 1 from command_progress p
                          where p.command_id = c.command_id and p.finished_at is not null)
        order by c.accepted_at, c.command_id`;
      return rows.map((r) => ({
        command_id: r.command_id,
        vendor: r.vendor,
        device_id: r.device_id,
        command_type: r.command_type,
        status: r.status,
        deadline_at: ms(r.deadline_at)!,
      }));
    },

    async loadOutbound(commandIds) {
      const out = new Map<string, Outbound>();
      if (commandIds.length === 0) return out;
      const rows = await sql`
        select command_id, bid, payload_enc, status from commands
        where command_id = any(${commandIds as string[]}::uuid[])`;
      for (const r of rows) {
        out.set(r.command_id, {
          bid: r.bid,
          payload_enc: new Uint8Array(r.payload_enc),
          status: r.status,
        });
      }
      return out;
    },

    async claimSends(commandIds, claim) {
      const out = new Map<string, SendClaim>();
      if (commandIds.length === 0) return out;
      // The left join reads the in-flight rows as they were before this statement's update.
      const rows = await sql<{ command_id: string; claim: SendClaim }[]>`
        with claimed as (
          update in_flight_commands set sending_at = now(), sending_by = ${claim}
          where command_id = any(${commandIds as string[]}::uuid[]) and sending_at is null
          returning command_id
        )
        select i.id as command_id,
               case when c.command_id is not null or f.sending_by = ${claim} then 'claimed'
                    when f.command_id is not null then 'sent'
                    else 'gone' end as claim
        from unnest(${commandIds as string[]}::uuid[]) as i(id)
        left join claimed c on c.command_id = i.id
        left join in_flight_commands f on f.command_id = i.id`;
      for (const r of rows) out.set(r.command_id, r.claim);
      return out;
    },

    async findCommands(commandIds) {
      const out = new Map<string, LifecycleCommand>();
      const ids = commandIds.filter((id) => UUID.test(id));
      if (ids.length === 0) return out;
      const rows = await sql`
        select command_id, tenant_id, client_id, vendor, device_id, command_type, channel,
               partition, bid, status, accepted_at, deadline_at, delivered_at,
               response_received_at, completed_at, response_code, response_message,
               vendor_response, failure_code, failure_reason, snapshot
        from commands where command_id = any(${ids}::uuid[])`;
      for (const r of rows) out.set(r.command_id, toCommand(r));
      return out;
    },
  };
}
