// Reads back what the public events stream holds for a subject filter: a subscriber replaying
// DOWNLINK_EVENTS sees exactly this, in this order.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "../../src/bus/subjects.ts";
import type { LifecycleEvent } from "../../src/command/lifecycle_event.ts";

/** Every message of the events stream on `filter`, oldest first. */
export async function streamEvents(nc: NatsConnection, filter: string): Promise<LifecycleEvent[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: filter });
  const out: LifecycleEvent[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
      let n = 0;
      for await (const m of batch) {
        out.push(m.json<LifecycleEvent>());
        n++;
        if (m.info.pending === 0) break;
      }
      if (n === 0 || (await consumer.info(true)).num_pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return out;
}
