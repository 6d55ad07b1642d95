// Hosts the device registry of the partitions this shard owns: takes the bridge's presence
// facts, sweeps silent gateways offline, and writes to Postgres. A change of state (online,
// offline, topology) is committed at once with its events (the event outbox), which are then
// published; a device already online only moves last_seen_at, which waits in memory for the next
// periodic write, so telemetry costs no statement per message.
import type { JsMsg } from "@nats-io/jetstream";
import {
  createPresenceRegistry,
  type PresenceRegistry,
  type PresenceWrites,
} from "../device/presence_registry.ts";
import { type DeviceEvent, storedDeviceEvent } from "../device/device_event.ts";
import type { DeviceRecord } from "../device/device_record.ts";
import type { PresenceFact } from "../bus/messages.ts";
import { type EventPublisher, publishInOrder } from "../bus/event_publisher.ts";
import type { DeviceStore } from "../store/device_store.ts";
import type { EventOutbox, OutboxEvent } from "../store/event_outbox.ts";
import { newEventId } from "../command/ids.ts";
import { type Clock, nextTurn } from "../async/time.ts";
import { exponential, retry } from "../async/retry.ts";
import type { Logger } from "../runtime/log.ts";
import { takeStreamMessage } from "../bus/stream_message.ts";

export interface PresenceHost {
  /** Loads a partition's devices; call before its facts are taken. */
  restore(partition: number): Promise<void>;
  drop(partition: number): void;
  /** Resolves once what the fact changed is committed (its events then published). */
  take(fact: PresenceFact): Promise<void>;
  /** A fact from the shard's JetStream consumer: acked once taken. */
  handle(msg: JsMsg): void;
  /** What is known of a device here: whether it is online, when it was last seen. */
  device(deviceId: string): Readonly<DeviceRecord> | undefined;
  /** Writes what waits (last_seen_at too) and stops the timers. */
  stop(): Promise<void>;
}

export interface PresenceHostOptions {
  store: DeviceStore;
  outbox: EventOutbox;
  events: EventPublisher;
  offlineAfterMs: number;
  partitionOf(deviceId: string): number;
  clock: Clock;
  log: Logger;
  count?: (name: string, n?: number) => void;
  /** Told at once when a device comes online or goes offline. */
  onlineChanged?(device: Readonly<DeviceRecord>): void;
  /** How often silent gateways are looked for; default a quarter of the offline delay, ≤ 1 s. */
  sweepMs?: number;
  /** How often last_seen_at of online devices is written; default a third of the offline delay,
   * at most 10 s (a restart ages presence by it, so it stays well inside the delay). */
  lastSeenWriteMs?: number;
}

/** The waits between registry writes while Postgres is away. */
const WRITE_BACKOFF = exponential(100, 5_000);

export function createPresenceHost(o: PresenceHostOptions): PresenceHost {
  const registry: PresenceRegistry = createPresenceRegistry({
    offlineAfterMs: o.offlineAfterMs,
    partitionOf: o.partitionOf,
    newEventId,
    onlineChanged: o.onlineChanged,
  });
  const sweepMs = o.sweepMs ?? Math.min(1_000, o.offlineAfterMs / 4);
  const writeMs = o.lastSeenWriteMs ?? Math.min(10_000, o.offlineAfterMs / 3);
  let stopped = false;
  let stopping = false;
  // One write at a time, in order: device events must reach the outbox in the order they happen.
  let writing: Promise<void> = Promise.resolve();
  let scheduled: Promise<void> | undefined;
  let publishing: Promise<void> = Promise.resolve();
  let lastLazyWrite = o.clock.now();

  /** Writes what the registry holds (everything when `lazy`) after the writes before it; taken
   * when its turn comes, so the changes made while Postgres was slow go in one write. */
  const write = (lazy: boolean): Promise<void> =>
    writing = writing.then(() => persist(registry.take(lazy)));

  /** Writes rows and events, retrying while Postgres is away; then publishes the events. */
  const persist = async ({ rows, events }: PresenceWrites): Promise<void> => {
    if (rows.length === 0 && events.length === 0) return;
    const outboxEvents: OutboxEvent[] = events.map((e: DeviceEvent) => ({
      ...storedDeviceEvent(e),
      partition: o.partitionOf(e.gateway_sn),
    }));
    const partitioned = rows.map((r) => ({
      ...r,
      partition: o.partitionOf(r.kind === "gateway" ? r.device_id : r.gateway_sn ?? r.device_id),
    }));
    try {
      await retry(() => o.store.write(partitioned, outboxEvents, o.clock.now()), {
        clock: o.clock,
        backoff: WRITE_BACKOFF,
        giveUp: (err, attempt) => {
          o.log.error("device registry write failed, retrying", {
            err,
            rows: rows.length,
            attempt,
          });
          o.count?.("device_write_errors");
          // Stopping gives up: state changes are found again (update_topo is sent again until
          // answered, the next message makes a gateway online), last_seen_at only lags.
          return stopped || stopping;
        },
      });
    } catch {
      return;
    }
    o.count?.("device_writes");
    if (outboxEvents.length > 0) publish(outboxEvents);
  };

  /** Publishes committed events in order; their outbox rows go once JetStream has them. */
  const publish = (events: OutboxEvent[]) => {
    publishing = publishing.then(async () => {
      const stored = await publishInOrder(o.events, events, {
        clock: o.clock,
        log: o.log,
        stopped: () => stopped,
      });
      if (!stored) return; // the partition's next owner publishes what is left
      o.count?.("device_events", events.length);
      await o.outbox.remove(events.map((e) => e.event_id)).catch((err) =>
        o.log.warn("could not delete published device events from the outbox", { err })
      );
    });
  };

  /** One write for the changes of one turn of the event loop. */
  const commitSoon = (): Promise<void> =>
    scheduled ??= new Promise<void>((r) => nextTurn(r)).then(() => {
      scheduled = undefined;
      return write(false);
    });

  let timer: unknown;
  const tick = () => {
    timer = o.clock.setTimeout(() => {
      if (stopped) return;
      registry.sweep(o.clock.now());
      const lazy = o.clock.now() - lastLazyWrite >= writeMs;
      if (lazy) lastLazyWrite = o.clock.now();
      if (lazy || registry.urgent()) void write(lazy);
      tick();
    }, sweepMs);
  };
  tick();

  const take = (fact: PresenceFact): Promise<void> => {
    if (fact.kind === "topology") registry.topology(fact.gateway, fact.topo, fact.at);
    else for (const s of fact.devices) registry.seen(s);
    return registry.urgent() ? commitSoon() : Promise.resolve();
  };

  return {
    async restore(partition) {
      registry.load(await o.store.load(partition));
      // Aged at once by last_seen_at: a gateway silent for the offline delay before this process
      // took the partition must not count as listening until the first sweep.
      registry.sweep(o.clock.now());
    },
    drop(partition) {
      // What waits for the periodic write goes now: the partition's next owner loads these rows.
      const taken = registry.take(true);
      writing = writing.then(() => persist(taken));
      registry.drop(partition);
    },
    take,
    handle(msg) {
      takeStreamMessage<PresenceFact>(msg, { log: o.log, what: "presence fact", take });
    },
    device: (id) => registry.get(id),
    async stop() {
      stopping = true;
      o.clock.clearTimeout(timer);
      await write(true);
      stopped = true;
      let t: unknown;
      await Promise.race([publishing, new Promise<void>((r) => t = o.clock.setTimeout(r, 2_000))]);
      o.clock.clearTimeout(t);
    },
  };
}
