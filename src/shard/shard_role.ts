// The shard role: owns partitions through KV leases, restores their in-flight commands, and
// drives them with device-shard actors fed from each partition's durable JetStream consumer.
import { broadcastPressure } from "../bus/pressure_broadcast.ts";
import { consumeSteadily } from "../bus/steady_consume.ts";
import { type ConsumerMessages, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { ensureConsumer, ensureStreams } from "../bus/nats.ts";
import { createLifecycleStore } from "../store/lifecycle_store.ts";
import { createEventOutbox } from "../store/event_outbox.ts";
import { publishInOrder } from "../bus/event_publisher.ts";
import { partitionOf } from "../command/partition.ts";
import { createTransitionWriter } from "./transition_writer.ts";
import { createPipelinePressure, type PipelinePressure } from "./pipeline_pressure.ts";
import type { HostedMachines } from "./actor_step.ts";
import { createDeviceHost, type DeviceHost, NOTHING_TO_SETTLE } from "./device_host.ts";
import { startPartitionLeases } from "./partition_leases.ts";
import { createInspection } from "./inspection.ts";
import type { Link, ShardEnd } from "../link/link.ts";
import type { DeliveredFact } from "../bus/messages.ts";
import { createPresenceHost, type PresenceHost } from "./presence_host.ts";
import { createDeviceStore } from "../store/device_store.ts";
import { ALWAYS_LISTENING, gatewayPresence } from "./gateway_listening.ts";
import { createJobEventHost } from "./job_event_host.ts";
import { createJobEventStore } from "../store/job_event_store.ts";
import { createDeviceRequestHost } from "./device_request_host.ts";
import { createDeviceRequestStore } from "../store/device_request_store.ts";
import { createRequestReplySender } from "../bus/request_reply.ts";

export interface ShardRole extends RunningRole {
  /** How far behind this shard is (reply lag, commit latency, in-flight commands). */
  pressure: PipelinePressure;
  /** Partitions this process drives now. */
  owned(): number[];
  host: DeviceHost;
  /** The device registry of the partitions this shard owns (who is online, last seen when). */
  presence: PresenceHost;
  metrics: Record<string, number>;
  /** This shard as an in-process link reaches it. */
  end: ShardEnd;
}

export interface ShardRoleOptions {
  /** What carries claimed commands to a bridge. */
  link: Pick<Link, "command">;
  /** The device shard and command machines this shard's host runs (the root's
   * `hostedMachines()`). */
  machines: HostedMachines;
}

/** How long a delivered fact handed over in process waits for its command's reply. */
const DELIVERY_HOLD_MS = 5;

/** How long taking over a partition waits for JetStream to store the events left in its outbox;
 * past it the lease is released and taken again at the next round. */
const LEFTOVER_PUBLISH_MS = 5_000;

/** Messages pulled per partition and not yet acked: bounds memory, keeps batches large. */
const MAX_IN_FLIGHT_PER_PARTITION = 2_000;

export async function startShardRole(
  ctx: RoleContext,
  { link, machines }: ShardRoleOptions,
): Promise<ShardRole> {
  const { config, names, nc, log } = ctx;
  await ensureStreams(nc, names);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const metrics: Record<string, number> = {};
  const count = (name: string, n = 1) => {
    metrics[name] = (metrics[name] ?? 0) + n;
  };
  const store = createLifecycleStore(ctx.sql);
  const outbox = createEventOutbox(ctx.sql);
  const pressure = createPipelinePressure(config, {
    clock: ctx.clock,
    inFlight: () => host.size().commands,
    liveActors: () => ({ commands: host.liveCommands(), devices: host.liveDevices() }),
  });
  const writer = createTransitionWriter({
    onCommit: (ms) => pressure.commit(ms),
    store,
    outbox,
    events: ctx.events,
    partitionOf: (device) => partitionOf(device, config.partitions),
    clock: ctx.clock,
    log,
    onMetric: count,
  });
  const presence = createPresenceHost({
    store: createDeviceStore(ctx.sql),
    outbox,
    events: ctx.events,
    offlineAfterMs: config.deviceOfflineAfterSeconds * 1_000,
    partitionOf: (device) => partitionOf(device, config.partitions),
    clock: ctx.clock,
    log,
    count,
    // Waiting commands go (or keep waiting) the moment their gateway's presence changes.
    onlineChanged: config.deliverWhenOffline
      ? undefined
      : (d) => host.gatewayPresence(d.device_id, gatewayPresence(d)),
  });
  const jobEvents = createJobEventHost({
    publishInLine: (events) => writer.publishCommitted(events),
    store: createJobEventStore(ctx.sql),
    outbox,
    events: ctx.events,
    partitionOf: (device) => partitionOf(device, config.partitions),
    clock: ctx.clock,
    log,
    count,
    vendors: ctx.vendors,
    // The next command of the job's class may go (one job per class on a dock).
    onJobFinished: (device_id, command_id) => host.jobFinished(device_id, command_id),
  });
  const requests = createDeviceRequestHost({
    store: createDeviceRequestStore(ctx.sql),
    outbox,
    events: ctx.events,
    replies: createRequestReplySender(ctx.publisher, names),
    partitionOf: (device) => partitionOf(device, config.partitions),
    timing: {
      graceMs: config.deviceRequestGraceSeconds * 1_000,
      expiryMs: config.deviceRequestExpirySeconds * 1_000,
    },
    vendors: ctx.vendors,
    clock: ctx.clock,
    log,
    count,
  });
  const inspection = config.inspect ? await createInspection(log) : undefined;
  // A dock answers about a millisecond after the broker's PUBACK. Holding the delivered fact
  // that long lets DELIVERED and the outcome share one row write and one commit, as they do
  // when both come in one JetStream batch; the reply releases its command's fact first.
  const heldDeliveries = new Map<string, DeliveredFact>();
  const releaseHeld = (command_id: string) => {
    const held = heldDeliveries.get(command_id);
    if (!held) return;
    heldDeliveries.delete(command_id);
    host.fact(held, NOTHING_TO_SETTLE);
  };
  const host: DeviceHost = createDeviceHost({
    beforeReply: releaseHeld,
    replyTaken: (receivedAt) => pressure.replyTaken(receivedAt),
    link,
    machines,
    store,
    writer,
    vendors: ctx.vendors,
    clock: ctx.clock,
    log,
    inspect: inspection?.inspect,
    count,
    presenceOf: config.deliverWhenOffline
      ? () => ALWAYS_LISTENING
      : (id) => gatewayPresence(presence.device(id)),
    ...(config.holdByClass
      ? {
        exclusivity: {
          of: (vendor, method) => ctx.vendors.of(vendor).exclusivityOf(method),
          lastingMethods: [...new Set(ctx.vendors.adapters.flatMap((v) => v.lastingJobMethods))],
        },
      }
      : {}),
  });

  let stopping = false;
  const consumers = new Map<number, ConsumerMessages>();
  /** Partitions restored and consumed: facts for their devices can be handled here. */
  const hosting = new Set<number>();

  /** Publishes the events a previous owner (or this process, before a crash) committed for the
   * partition and did not get stored: they come before any event this owner produces. */
  async function publishLeftovers(p: number): Promise<number> {
    const giveUpAt = ctx.clock.now() + LEFTOVER_PUBLISH_MS;
    let total = 0;
    for (;;) {
      const events = await outbox.pending([p], 1_000);
      if (events.length === 0) return total;
      const stored = await publishInOrder(ctx.events, events, {
        clock: ctx.clock,
        log,
        stopped: () => stopping || ctx.clock.now() > giveUpAt,
      });
      if (!stored) throw new Error(`lifecycle events of partition ${p} could not be published`);
      await outbox.remove(events.map((e) => e.event_id));
      total += events.length;
      count("events_republished", events.length);
    }
  }

  async function gain(p: number, stillHeld: () => boolean): Promise<void> {
    const started = ctx.clock.now();
    // The events left in the outbox are read after the in-flight commands: a command accepted
    // meanwhile is then restored with its accepted event already published, whatever became of
    // the relay that should have published it.
    let republished = 0;
    const restored = await host.restore(p, async () => {
      republished = await publishLeftovers(p);
      // After the leftovers: the device events a previous owner committed are out before this
      // owner's next ones for the same gateways. Before the commands are driven: a restored
      // command goes only to a gateway the registry knows online.
      await presence.restore(p);
      // After the leftovers too (a new request's event before anything this owner says of it).
      await requests.restore(p);
    });
    // Lost meanwhile (a restore can outlast the lease's TTL): the next owner's consumer is not
    // ours to replace; the partition's onLose drops what was restored.
    if (!stillHeld()) {
      log.warn("partition no longer held after its restore (lease lost, or stopping)", {
        partition: p,
      });
      return;
    }
    // A fresh consumer: messages the previous owner had pulled and not acked (it died, or lost
    // the lease) would otherwise wait out their ack wait (30 s) before coming here, and a
    // reply held that long turns into a time-out although the dock answered in time.
    await jsm.consumers.delete(names.shardStream, names.shardConsumer(p)).catch(() => {});
    await ensureConsumer(nc, names.shardStream, names.shardConsumer(p), names.shardFilter(p), {
      maxAckPending: MAX_IN_FLIGHT_PER_PARTITION * 2,
    });
    const consumer = await js.consumers.get(names.shardStream, names.shardConsumer(p));
    const messages = await consumeSteadily(consumer, {
      maxMessages: MAX_IN_FLIGHT_PER_PARTITION,
      log,
      name: names.shardConsumer(p),
    });
    if (!stillHeld()) {
      messages.stop();
      return;
    }
    consumers.set(p, messages);
    hosting.add(p);
    log.info("partition taken over", {
      partition: p,
      restored,
      events_republished: republished,
      ms: ctx.clock.now() - started,
    });
    (async () => {
      const presenceSubject = names.presenceSubject(p);
      const eventPrefix = names.eventSubjectPrefix(p);
      const requestPrefix = names.requestSubjectPrefix(p);
      for await (const msg of messages) {
        if (msg.subject === presenceSubject) presence.handle(msg);
        else if (msg.subject.startsWith(eventPrefix)) jobEvents.handle(msg);
        else if (msg.subject.startsWith(requestPrefix)) requests.handle(msg);
        else host.handle(msg, p);
      }
    })().catch((err) => log.error("partition consumer stopped", { err, partition: p }));
  }

  async function lose(p: number): Promise<void> {
    hosting.delete(p);
    const messages = consumers.get(p);
    consumers.delete(p);
    messages?.stop();
    host.drop(p);
    presence.drop(p);
    requests.drop(p);
  }

  const partitions = Array.from({ length: config.partitions }, (_, i) => i);
  const leases = await startPartitionLeases({
    nc,
    bucket: names.leaseBucket,
    instanceId: config.instanceId,
    partitions,
    ttlSeconds: config.leaseTtlSeconds,
    log,
    onGain: gain,
    onLose: lose,
  });
  await leases.ready;
  // API processes without a shard refuse new commands while this one is behind.
  const broadcast = broadcastPressure(nc, names.pressureSubject, {
    instance: config.instanceId,
    overloaded: () => pressure.overloaded(),
    clock: ctx.clock,
  });
  let sweeper: unknown;
  const sweep = () => {
    sweeper = ctx.clock.setTimeout(() => {
      host.sweepIdle();
      sweep();
    }, 30_000);
  };
  sweep();

  let releaseTimer: unknown;
  const releaseDeliveries = () => {
    releaseTimer = undefined;
    for (const fact of heldDeliveries.values()) host.fact(fact, NOTHING_TO_SETTLE);
    heldDeliveries.clear();
  };
  const end: ShardEnd = {
    hosts: (p) => hosting.has(p),
    dispatch(command) {
      if (!hosting.has(command.partition)) return false;
      host.dispatch(command);
      return true;
    },
    delivered(fact) {
      heldDeliveries.set(fact.command_id, fact);
      releaseTimer ??= ctx.clock.setTimeout(releaseDeliveries, DELIVERY_HOLD_MS);
    },
    reply: (fact) =>
      new Promise<void>((resolve, reject) =>
        host.fact(fact, {
          ack: resolve,
          nak: () => reject(new Error("the shard could not handle the reply now")),
        })
      ),
    presence: (partition, fact) => hosting.has(partition) ? presence.take(fact) : undefined,
  };

  return {
    pressure,
    owned: () => leases.owned(),
    host,
    presence,
    metrics,
    end,
    async stop() {
      stopping = true;
      broadcast.stop();
      ctx.clock.clearTimeout(sweeper);
      if (releaseTimer !== undefined) ctx.clock.clearTimeout(releaseTimer);
      releaseDeliveries();
      hosting.clear();
      for (const m of consumers.values()) m.stop();
      consumers.clear();
      // Let what was recorded commit and its messages be acked before letting go (the writer
      // gives up on a commit that fails now: the next owner gets the messages again).
      await presence.stop();
      await jobEvents.stop();
      await requests.stop();
      await writer.stop();
      await leases.stop();
      host.stop();
      inspection?.stop();
    },
  };
}
