// The NATS connection and the JetStream topology (streams, durable consumers, KV buckets)
// that every role relies on. Creating is idempotent: each process ensures what it needs.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { coalesceWrites } from "./coalesce_writes.ts";
import { EVENTS_STREAM, type TopologyNames } from "./subjects.ts";
import { EVENT_SUBJECTS } from "../command/lifecycle_event.ts";
import { DEVICE_EVENT_SUBJECTS } from "../device/device_event.ts";

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A first connect that gets no answer gives up after 3 s, so start-up reports an address
    // that swallows packets within its 10 s (dependency_unreachable.ts retries for 5 s).
    timeout: 3_000,
    // Capturing a stack trace for every request (each JetStream publish is one) cost ~8% of
    // the CPU under load; errors still say what failed.
    noAsyncTraces: true,
  });
  coalesceNatsWrites(nc);
  return nc;
}

/** nats.js writes to its socket once per microtask checkpoint: coalesced per event-loop turn
 * (measured by the benchmark: 4.7 → 3.0 write calls per command). The socket is an internal of
 * the Node transport; where it is not found, writes stay as they were. */
function coalesceNatsWrites(nc: NatsConnection): void {
  const patch = () =>
    coalesceWrites(
      (nc as unknown as { protocol?: { transport?: { socket?: unknown } } }).protocol?.transport
        ?.socket,
    );
  patch();
  (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") patch();
  })().catch(() => {});
}

const DAY_NS = 24 * 60 * 60 * 1e9;
const DUPLICATE_WINDOW_NS = 5 * 60 * 1e9;
/** The events stream drops a second copy of an event (same Nats-Msg-Id) published within this
 * long of the first. A copy is published only when a process died between an event's publish and
 * the deletion of its outbox row, by the shard that takes the partition next: a restart within
 * ten minutes publishes no duplicate. nats-server keeps one entry per message of the window
 * (~100 B): 3 events per command at 200 commands/s is ~360,000 entries, tens of MB. */
const EVENTS_DUPLICATE_WINDOW_NS = 10 * 60 * 1e9;

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager["streams"]["add"]>[0],
): Promise<void> {
  try {
    const info = await jsm.streams.info(config.name!);
    // Subjects are added, never taken away: a process of an earlier version (a rolling upgrade,
    // another deployment on the same NATS) must not drop the subjects a newer one publishes on,
    // such as the device events'.
    const subjects = [...new Set([...(info.config.subjects ?? []), ...(config.subjects ?? [])])];
    await jsm.streams.update(config.name!, { ...config, subjects });
  } catch (err) {
    if (!String((err as Error).message).includes("not found")) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Another process created it between our look and our add.
      if (!String((addErr as Error).message).includes("already in use")) throw addErr;
    }
  }
}

/** Ensures the events stream and this namespace's internal streams exist. */
export async function ensureStreams(nc: NatsConnection, names: TopologyNames): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, {
    name: EVENTS_STREAM,
    subjects: [...EVENT_SUBJECTS, ...DEVICE_EVENT_SUBJECTS],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 7 * DAY_NS,
    duplicate_window: EVENTS_DUPLICATE_WINDOW_NS,
  });
  // Internal streams are work queues: a message is gone once its consumer acked it.
  for (
    const [name, subjects] of [
      [names.shardStream, names.shardSubjects],
      [names.bridgeStream, names.bridgeSubjects],
    ] as const
  ) {
    await ensureStream(jsm, {
      name,
      subjects: [subjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: 7 * DAY_NS,
      duplicate_window: DUPLICATE_WINDOW_NS,
    });
  }
}

/** Ensures a durable pull consumer with explicit acks. */
export async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  durable: string,
  filterSubject: string,
  options: { ackWaitMs?: number; maxAckPending?: number } = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: filterSubject,
    ack_wait: (options.ackWaitMs ?? 30_000) * 1e6,
    max_ack_pending: options.maxAckPending ?? 20_000,
    max_deliver: -1,
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    const message = String((err as Error).message);
    if (!message.includes("already exists") && !message.includes("already in use")) throw err;
  }
}

/** Deletes a namespace's internal streams (tests clean up after themselves with it). */
export async function deleteNamespaceStreams(
  nc: NatsConnection,
  names: TopologyNames,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (
    const name of [
      names.shardStream,
      names.bridgeStream,
      `KV_${names.leaseBucket}`,
      `KV_${names.bridgeRegistryBucket}`,
      `KV_${names.bridgeHeartbeatBucket}`,
    ]
  ) {
    await jsm.streams.delete(name).catch(() => {});
  }
}
