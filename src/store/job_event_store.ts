// Where a dock's events are recorded in Postgres: an event no command claims goes into the event
// outbox as a device event, to be published by its shard.
import type { Sql } from "./db.ts";
import type { OutboxEvent } from "./event_outbox.ts";

export interface JobEventStore {
  /** Commits the events into the outbox (an event already there is left as it is). */
  recordEvents(events: readonly OutboxEvent[]): Promise<void>;
}

export function createJobEventStore(sql: Sql): JobEventStore {
  return {
    async recordEvents(events) {
      if (events.length === 0) return;
      const json = sql.json(
        events.map((e, ord) => ({ ...e, command_id: e.command_id ?? null, ord })) as never,
      );
      await sql`
        insert into event_outbox (event_id, partition, command_id, subject, body)
        select x.event_id, x.partition, x.command_id, x.subject, x.body
        from jsonb_to_recordset(${json}) as x(
          event_id uuid, partition integer, command_id uuid, subject text, body text, ord integer)
        order by x.ord
        on conflict (event_id) do nothing`;
    },
  };
}
