// Coalesces the messages that prove devices alive before they travel to the shards: per device
// only its latest time, per partition one SeenFact per interval. Ten thousand docks sending osd
// every 2 s become a few messages per second per partition instead of thousands.
import type { Sighting } from "../device/presence_registry.ts";
import type { SeenFact } from "../bus/messages.ts";
import type { Clock } from "../async/time.ts";

export interface SeenCoalescer {
  note(sighting: Sighting): void;
  /** Sends what is noted now (stop() does too). */
  flush(): void;
  stop(): void;
}

export interface SeenCoalescerOptions {
  clock: Clock;
  /** How long a sighting may wait before it travels: bounds how late "online" is noticed. */
  intervalMs: number;
  partitionOf(deviceId: string): number;
  send(partition: number, fact: SeenFact): void;
}

export function createSeenCoalescer(o: SeenCoalescerOptions): SeenCoalescer {
  let noted = new Map<string, Sighting>();
  let timer: unknown;

  const flush = () => {
    o.clock.clearTimeout(timer);
    timer = undefined;
    const batch = noted;
    noted = new Map();
    const byPartition = new Map<number, Sighting[]>();
    for (const s of batch.values()) {
      // An aircraft's sighting goes where its gateway's presence is kept.
      const p = o.partitionOf(s.via ?? s.device_id);
      const list = byPartition.get(p) ?? [];
      list.push(s);
      byPartition.set(p, list);
    }
    for (const [p, devices] of byPartition) o.send(p, { kind: "seen", devices });
  };

  return {
    note(s) {
      const prev = noted.get(s.device_id);
      noted.set(
        s.device_id,
        prev
          ? {
            device_id: s.device_id,
            at: Math.max(prev.at, s.at),
            gateway: prev.gateway || s.gateway,
            ...(s.via ?? prev.via ? { via: s.via ?? prev.via } : {}),
            ...(s.firmware_version ?? prev.firmware_version
              ? { firmware_version: s.firmware_version ?? prev.firmware_version }
              : {}),
          }
          : s,
      );
      timer ??= o.clock.setTimeout(flush, o.intervalMs);
    },
    flush,
    stop: flush,
  };
}
