// Group commit of accepted commands: the accepts queued while the previous batch was committing
// are inserted, with their outbox rows, by one statement. One commit (one WAL flush, one round
// trip) then serves many requests, which is what keeps accept latency flat at 1,000+ requests/s.
import { Buffer } from "node:buffer";
import type { Sql } from "./db.ts";
import { createGroupCommit } from "./group_commit.ts";

/** A command row as accepted: everything the relay needs to carry it to its shard. */
export interface AcceptedCommand {
  command_id: string;
  tenant_id: string;
  client_id: string;
  idempotency_key: string;
  request_hash: string;
  vendor: string;
  device_id: string;
  command_type: string;
  channel: string;
  partition: number;
  bid: string;
  payload_enc: Uint8Array;
  timeout_seconds: number;
  accepted_at: Date;
  deadline_at: Date;
  /** Seconds an outbox pass leaves the outbox row alone: non-zero when a shard in this process
   * takes the command straight from the API (its first transition commit deletes the row). */
  outbox_hold_seconds: number;
}

/** Inserted: this row is now committed. Existing: the key was taken; its row's identity. */
export type InsertResult =
  | { inserted: true }
  | { inserted: false; existing?: { command_id: string; accepted_at: Date; request_hash: string } };

const MAX_BATCH = 500;

export interface AcceptBatcher {
  insert(row: AcceptedCommand): Promise<InsertResult>;
}

export function createAcceptBatcher(sql: Sql): AcceptBatcher {
  async function insertBatch(rows: readonly AcceptedCommand[]): Promise<InsertResult[]> {
    const input = sql.json(rows.map((r) => ({
      ...r,
      payload_enc: Buffer.from(r.payload_enc).toString("base64"),
      accepted_at: r.accepted_at.toISOString(),
      deadline_at: r.deadline_at.toISOString(),
    })) as never);
    // One statement is one transaction: the command rows and their outbox rows commit together
    // or not at all. A key taken already (or twice in this batch) is skipped, not an error; a
    // concurrent first request with the same key waits on the unique index, then skips.
    const inserted = await sql<{ command_id: string }[]>`
      with input as (
        select * from jsonb_to_recordset(${input}) as x(
          command_id uuid, tenant_id text, client_id text, idempotency_key text,
          request_hash text, vendor text, device_id text, command_type text, channel text,
          partition integer, bid uuid, payload_enc text, timeout_seconds integer,
          accepted_at timestamptz, deadline_at timestamptz, outbox_hold_seconds integer)
      ), ins as (
        insert into commands (command_id, tenant_id, client_id, idempotency_key, request_hash,
          vendor, device_id, command_type, channel, partition, bid, payload_enc, status,
          timeout_seconds, accepted_at, deadline_at, updated_at)
        select command_id, tenant_id, client_id, idempotency_key, request_hash, vendor,
          device_id, command_type, channel, partition, bid, decode(payload_enc, 'base64'),
          'ACCEPTED', timeout_seconds, accepted_at, deadline_at, accepted_at
        from input
        on conflict (client_id, idempotency_key) do nothing
        returning command_id, accepted_at
      ), outbox as (
        insert into command_outbox (command_id, created_at, carry_after)
        select ins.command_id, ins.accepted_at,
               now() + input.outbox_hold_seconds * interval '1 second'
        from ins join input using (command_id)
      )
      select command_id from ins`;
    const ok = new Set(inserted.map((r) => r.command_id));
    const taken = rows.filter((r) => !ok.has(r.command_id));
    const existing = new Map<
      string,
      { command_id: string; accepted_at: Date; request_hash: string }
    >();
    if (taken.length > 0) {
      const found = await sql<
        {
          client_id: string;
          idempotency_key: string;
          command_id: string;
          accepted_at: Date;
          request_hash: string;
        }[]
      >`
        select c.client_id, c.idempotency_key, c.command_id, c.accepted_at, c.request_hash
        from commands c
        join unnest(${taken.map((r) => r.client_id)}::text[], ${
        taken.map((r) => r.idempotency_key)
      }::text[]) as k(client_id, idempotency_key)
          on c.client_id = k.client_id and c.idempotency_key = k.idempotency_key`;
      for (const f of found) existing.set(`${f.client_id}\u0000${f.idempotency_key}`, f);
    }
    return rows.map((r) =>
      ok.has(r.command_id) ? { inserted: true } : {
        inserted: false,
        existing: existing.get(`${r.client_id}\u0000${r.idempotency_key}`),
      }
    );
  }

  const group = createGroupCommit<
    { row: AcceptedCommand; settle: (r: Promise<InsertResult>) => void }
  >((queued) => {
    const written: Promise<unknown>[] = [];
    for (let i = 0; i < queued.length; i += MAX_BATCH) {
      const batch = queued.slice(i, i + MAX_BATCH);
      const results = insertBatch(batch.map((b) => b.row));
      batch.forEach((b, i) => b.settle(results.then((r) => r[i])));
      written.push(results);
    }
    return Promise.allSettled(written);
  });

  return {
    insert(row) {
      return new Promise<InsertResult>((resolve, reject) => {
        group.add({ row, settle: (r) => r.then(resolve, reject) });
      });
    },
  };
}
