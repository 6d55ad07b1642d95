// The lifecycle events committed but not yet known to be stored in JetStream (see migration 5):
// their rows are written by the statements that commit the state they report (the accept, the
// transitions); this is what reads and deletes them.
import type { Sql } from "./db.ts";

/** A lifecycle event as the outbox keeps it: its body is published exactly as stored. */
export interface OutboxEvent {
  event_id: string;
  /** The partition of the event's device: its shard publishes what a crash left. */
  partition: number;
  command_id?: string;
  subject: string;
  body: string;
}

export interface EventOutbox {
  /** Up to `limit` events of the partitions, oldest first. */
  pending(partitions: readonly number[], limit: number): Promise<OutboxEvent[]>;
  /** Forgets events JetStream has stored. */
  remove(eventIds: readonly string[]): Promise<void>;
}

export function createEventOutbox(sql: Sql): EventOutbox {
  return {
    async pending(partitions, limit) {
      if (partitions.length === 0) return [];
      const rows = await sql<OutboxEvent[]>`
        select event_id, partition, command_id, subject, body from event_outbox
        where partition = any(${partitions as number[]}::int[])
        order by seq
        limit ${limit}`;
      return rows.map((r) => ({
        event_id: r.event_id,
        partition: r.partition,
        ...(r.command_id ? { command_id: r.command_id } : {}),
        subject: r.subject,
        body: r.body,
      }));
    },
    async remove(eventIds) {
      if (eventIds.length === 0) return;
      // A deletion lost in a crash only makes a restore publish the event again, which the
      // stream's duplicate window drops: no need to wait for the WAL flush.
      await sql.begin(async (tx) => {
        await tx`set local synchronous_commit = off`;
        await tx`delete from event_outbox where event_id = any(${eventIds as string[]}::uuid[])`;
      });
    },
  };
}
