// Backpressure across processes. A shard knows how far behind it is (shard/pipeline_pressure.ts);
// an API process without a shard of its own would otherwise accept commands the shards can only
// time out. Each shard says every second, over core NATS, why new commands should wait (or that
// they need not); each API refuses new commands while any shard's latest word, younger than a
// few seconds, names a reason. A shard that stops talking stops counting: its partitions move to
// another shard, whose word then counts.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Clock } from "../async/time.ts";

/** How often a shard says how it is. */
export const PRESSURE_EVERY_MS = 1_000;
/** A word older than this no longer counts. */
const STALE_AFTER_MS = 3 * PRESSURE_EVERY_MS;

interface Word {
  instance: string;
  reason: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The shard's side: publishes `overloaded()` every second until stopped. */
export function broadcastPressure(
  nc: NatsConnection,
  subject: string,
  o: { instance: string; overloaded(): string | undefined; clock: Clock },
): { stop(): void } {
  let timer: unknown;
  let stopped = false;
  const tell = () => {
    if (stopped) return;
    const word: Word = { instance: o.instance, reason: o.overloaded() ?? null };
    try {
      nc.publish(subject, encoder.encode(JSON.stringify(word)));
    } catch {
      // NATS is away: the API's readiness says so, and an old word goes stale by itself.
    }
    timer = o.clock.setTimeout(tell, PRESSURE_EVERY_MS);
  };
  tell();
  return {
    stop() {
      stopped = true;
      o.clock.clearTimeout(timer);
    },
  };
}

export interface PressureWatch {
  /** A shard's reason for new commands to wait, or undefined. */
  overloaded(): string | undefined;
  close(): void;
}

/** The API's side: the latest word of every shard. */
export function watchPressure(
  nc: NatsConnection,
  subject: string,
  o: {
    clock: Clock; /** This process's shard: asked directly, so its word is ignored. */
    self?: string;
  },
): PressureWatch {
  const latest = new Map<string, { reason: string | null; at: number }>();
  const sub: Subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      try {
        const word = JSON.parse(decoder.decode(msg.data)) as Word;
        if (typeof word.instance !== "string" || word.instance === o.self) return;
        latest.set(word.instance, {
          reason: typeof word.reason === "string" ? word.reason : null,
          at: o.clock.now(),
        });
      } catch {
        // not a word of ours
      }
    },
  });
  return {
    overloaded() {
      const now = o.clock.now();
      for (const [instance, w] of latest) {
        if (now - w.at > STALE_AFTER_MS) latest.delete(instance);
        else if (w.reason) return `shard ${instance}: ${w.reason}`;
      }
      return undefined;
    },
    close: () => sub.unsubscribe(),
  };
}
