// Publishes lifecycle events to the JetStream events stream, each with its event_id as the
// message id (the stream's duplicate window drops a second copy), and in order per command.
import type { AckedPublisher } from "./acked_publisher.ts";
import type { StoredEvent } from "../command/lifecycle_event.ts";
import type { Clock } from "../async/time.ts";
import { exponential, retry } from "../async/retry.ts";
import type { Logger } from "../runtime/log.ts";
import { deviceOfSubject } from "../device/device_event.ts";

export interface EventPublisher {
  /** Resolves once JetStream has stored the event (or had it already). */
  publish(event: StoredEvent): Promise<void>;
}

export function createEventPublisher(acked: AckedPublisher): EventPublisher {
  const encoder = new TextEncoder();
  return {
    publish: (e) => acked.publish(e.subject, encoder.encode(e.body), e.event_id),
  };
}

export interface PublishInOrderOptions {
  clock: Clock;
  log: Logger;
  /** Checked between attempts: true gives up (what was not stored stays in the outbox). */
  stopped(): boolean;
}

/**
 * Publishes `events` (in the order they were committed) until JetStream has stored each, keeping
 * each command's (and each device's) events in order: publishes are pipelined, but a command's next event is sent
 * only once its previous one is stored, since a lost publish followed by a stored one would put
 * them in the wrong order. Resolves with whether everything was stored.
 */
export async function publishInOrder(
  publisher: EventPublisher,
  events: readonly StoredEvent[],
  o: PublishInOrderOptions,
): Promise<boolean> {
  // Waves: the first event of every command (or device), then the second of each, …
  const waves: StoredEvent[][] = [];
  const seen = new Map<string, number>();
  for (const e of events) {
    const device = deviceOfSubject(e.subject);
    const key = e.command_id ?? (device === undefined ? undefined : `device:${device}`);
    const n = key === undefined ? 0 : seen.get(key) ?? 0;
    if (key !== undefined) seen.set(key, n + 1);
    (waves[n] ??= []).push(e);
  }
  for (let wave of waves) {
    // Each attempt publishes what the previous one failed to store.
    const publishWave = async () => {
      const results = await Promise.allSettled(wave.map((e) => publisher.publish(e)));
      const failed = wave.filter((_, i) => results[i].status === "rejected");
      if (failed.length === 0) return;
      const reason = (results.find((r) => r.status === "rejected") as PromiseRejectedResult)
        .reason;
      wave = failed;
      throw reason;
    };
    try {
      await retry(publishWave, {
        clock: o.clock,
        backoff: PUBLISH_BACKOFF,
        giveUp: (err, attempt) => {
          if (o.stopped()) return true;
          if (attempt === 0 || attempt % 20 === 0) {
            o.log.warn("lifecycle events not stored in JetStream yet; retrying", {
              events: wave.length,
              attempt,
              err,
            });
          }
          return false;
        },
      });
    } catch {
      return false;
    }
  }
  return true;
}

const PUBLISH_BACKOFF = exponential(100, 2_000);
