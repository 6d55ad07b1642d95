// Reads a tenant's lifecycle events back from the DOWNLINK_EVENTS stream after a run and checks
// them per command: one accepted, one delivered when the row was delivered, one completed when
// it is terminal, no event twice, and accepted before delivered before completed.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { EVENTS_STREAM } from "../src/bus/subjects.ts";

type Kind = "accepted" | "delivered" | "completed";
const KINDS: readonly Kind[] = ["accepted", "delivered", "completed"];

/** The events seen for one command, in stream order (problems left out). */
export type EventTrail = Map<string, Kind[]>;

export interface EventLog {
  trails: EventTrail;
  /** Events whose event_id was already seen (each repeat counted once). */
  repeatedIds: number;
  total: number;
}

/** Every event of `tenantId` in the stream, through an ordered consumer; bounded by `timeoutMs`. */
export async function readEvents(
  nc: NatsConnection,
  tenantId: string,
  timeoutMs = 60_000,
): Promise<EventLog> {
  // `.*`, not `.>`: nats-server 2.9 takes only a filter inside the stream's `tenant.*.command.*`.
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
    filter_subjects: `tenant.${tenantId}.command.*`,
  });
  const trails: EventTrail = new Map();
  const ids = new Set<string>();
  let repeatedIds = 0, total = 0;
  const until = Date.now() + timeoutMs;
  for (let done = false; !done && Date.now() < until;) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    let seen = 0;
    for await (const m of batch) {
      seen++;
      total++;
      const kind = m.subject.split(".").at(-1) as string;
      const event = m.json<{ event_id: string; command_id: string }>();
      if (ids.has(event.event_id)) repeatedIds++;
      ids.add(event.event_id);
      if ((KINDS as readonly string[]).includes(kind)) {
        const trail = trails.get(event.command_id) ?? [];
        trail.push(kind as Kind);
        trails.set(event.command_id, trail);
      }
      if (m.info.pending === 0) done = true;
    }
    if (seen === 0) done = true;
  }
  return { trails, repeatedIds, total };
}

/** Judges one command's trail against its final row. */
export function judgeTrail(
  trail: readonly Kind[],
  row: { terminal: boolean; delivered: boolean },
): { missing: string[]; doubled: string[]; outOfOrder: boolean } {
  const count = (k: Kind) => trail.filter((t) => t === k).length;
  const expected: Record<Kind, boolean> = {
    accepted: true,
    delivered: row.delivered,
    completed: row.terminal,
  };
  const missing: string[] = [], doubled: string[] = [];
  for (const k of KINDS) {
    const n = count(k);
    if (expected[k] && n === 0) missing.push(`${k} missing`);
    if (n > 1) doubled.push(`${k} ${n} times`);
    if (!expected[k] && n > 0) doubled.push(`${k} without the row's state`);
  }
  const rank = trail.map((k) => KINDS.indexOf(k));
  const outOfOrder = rank.some((r, i) => i > 0 && r < rank[i - 1]);
  return { missing, doubled, outOfOrder };
}
