// The MQTT bridge role: carries ToDevice messages from JetStream to the docks (the only place a
// payload is decrypted), carries the docks' replies back to the shard owning the device, and
// tells that shard which devices are there (update_topo, answered with status_reply; any message
// heard, coalesced). Docks' events travel with the replies: stored in JetStream for the shard,
// then answered with events_reply when they ask for one. Docks' requests travel the same way to
// the shard, which records them; their answers come back on the bridge stream and go out on
// requests_reply. It speaks every registered vendor's wire: a device message belongs to the
// vendor whose filter it matched (the registry refuses overlapping filters), a command goes out
// on its own vendor's.
import { consumeSteadily } from "../bus/steady_consume.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { v5 } from "uuid";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import type { MqttClient } from "mqtt";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { ensureConsumer, ensureStreams } from "../bus/nats.ts";
import type {
  DeliveredFact,
  EventFact,
  PresenceFact,
  ReplyFact,
  RequestFact,
  RequestReply,
  ToDevice,
  TopologyFact,
} from "../bus/messages.ts";
import { createSeenCoalescer } from "./seen_coalescer.ts";
import { connectMqtt, subscribe } from "./mqtt_connection.ts";
import { startReplySessionAdoption } from "./reply_session_adoption.ts";
import {
  PROBE_GATEWAY_PREFIX,
  type ReplyPathProbe,
  startReplyPathProbe,
} from "./reply_path_probe.ts";
import type { BridgeEnd, Link, OutboundCommand } from "../link/link.ts";
import { constant, retryAfter } from "../async/retry.ts";
import { createLimiter } from "../async/limiter.ts";
import { partitionOf } from "../command/partition.ts";
import { storedEvent, unownedProblem } from "../command/lifecycle_event.ts";
import type { VendorAdapter, VendorWire } from "../vendors/vendor_adapter.ts";
import { topicMatches } from "../vendors/topic_filter.ts";

export interface BridgeRole extends RunningRole {
  metrics: Record<string, number>;
  /** This bridge as an in-process link reaches it. */
  end: BridgeEnd;
  /** False while no reply connection is subscribed (a broker restart forgets shared
   * subscriptions until each connection subscribes again), and while no probe comes back through
   * the broker (see reply_path_probe.ts). */
  hearsReplies(): boolean;
}

export interface BridgeRoleOptions {
  /** What carries the facts (delivered, reply, presence) to the device's shard. */
  link: Pick<Link, "delivered" | "reply" | "presence">;
  /** Probe timing (tests shorten it); defaults in reply_path_probe.ts. */
  probe?: { intervalMs?: number; deafAfterMs?: number };
}

/** What became of one attempt to publish a command to its device. `unsendable`: its payload does
 * not open, or no vendor served here is its: never sent, its deadline ends it. */
type Delivery = "delivered" | "expired" | "unsendable" | "retry";

/** A filter of the reply connections, with the vendor and the kind of message it takes. */
interface ReplyRoute {
  filter: string;
  vendor: VendorAdapter;
  kind: "reply" | "event" | "request";
}

/** The first route whose filter `topic` matches (a loop: no closure per message, telemetry being
 * most of them); the registry refuses filters that overlap, so there is at most one. */
function routeOf<R extends { filter: string }>(routes: readonly R[], topic: string): R | undefined {
  for (const r of routes) if (topicMatches(r.filter, topic)) return r;
  return undefined;
}

/** A failed publish of a command handed over in process is tried again after this long. */
const LOCAL_RETRY = constant(500);
/** A publish that found no broker connection, or was not PUBACKed (logged where it failed). */
const NOT_PUBLISHED = new Error("command not published to the broker");

/** Commands published and not yet PUBACKed. Mosquitto's default queues drop QoS 1 bursts, so the
 * bridge never has more than this in flight towards the broker. */
const MAX_IN_FLIGHT = 256;
/** Connections that take device replies. Each acknowledges a reply (PUBACK) only once JetStream
 * stored it, and mqtt.js reads a connection's next packet only after that (keep-alive answers
 * included); the connections of the shared subscription take replies in parallel. */
const REPLY_CONNECTIONS = 16;
/** Broker keeps the bridge's session (its shared subscription, queued replies) this long. */
const SESSION_EXPIRY_SECONDS = 60;

export async function startBridgeRole(
  ctx: RoleContext,
  { link, probe: probeTiming }: BridgeRoleOptions,
): Promise<BridgeRole> {
  const { config, names, nc, log, clock } = ctx;
  const { vendors } = ctx;
  const replyRoutes: ReplyRoute[] = vendors.adapters.flatMap((vendor) => [
    ...vendor.wire.replyTopics.map((filter) => ({ filter, vendor, kind: "reply" as const })),
    { filter: vendor.wire.eventsTopic, vendor, kind: "event" as const },
    { filter: vendor.wire.requestsTopic, vendor, kind: "request" as const },
  ]);
  /** Presence topics the reply connections take (their messages are stored before the broker
   * has its PUBACK): the presence connection leaves them out. */
  const ON_REPLY_CONNECTIONS = new Set<string>(
    replyRoutes.filter((r) => r.kind !== "reply").map((r) => r.filter),
  );
  const presenceRoutes = vendors.adapters.flatMap((vendor) =>
    vendor.wire.presenceTopics.filter((t) => !ON_REPLY_CONNECTIONS.has(t)).map((filter) => ({
      filter,
      vendor,
    }))
  );
  const js = jetstream(nc);
  const metrics: Record<string, number> = {};
  const count = (name: string) => {
    metrics[name] = (metrics[name] ?? 0) + 1;
  };
  /** A PUBACK this slow is logged (a local broker answers in about a millisecond). */
  const SLOW_PUBACK_MS = 1_000;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  await ensureStreams(nc, names);
  await ensureConsumer(nc, names.bridgeStream, names.bridgeConsumer, names.bridgeSubjects, {
    maxAckPending: MAX_IN_FLIGHT * 4,
  });

  // Commands out: a publish not PUBACKed before a crash is redelivered by JetStream, so this
  // connection needs no broker session. The reply connections below keep theirs (clean=false,
  // a stable client id per instance): a reconnect or restart resumes them with the replies
  // queued meanwhile.
  const mqtt: MqttClient = await connectMqtt({
    url: config.mqttUrl,
    clock,
    clientId: `${config.namespace}-bridge-${config.instanceId}`,
    clean: true,
    onError: (err) => log.warn("mqtt error (reconnecting)", { err }),
  });
  mqtt.on("reconnect", () => count("mqtt_reconnects"));

  // Replies: shared among the bridges of this namespace (and among this bridge's reply
  // connections), one copy to one connection. A reply is acknowledged to the broker only after
  // JetStream stored it: a crash in between leaves it unacknowledged in the broker session,
  // which delivers it again on reconnect.
  // Everything a reply handler uses is set up before the first reply connection exists: a
  // resumed session hands over what the broker queued for it as soon as it connects.
  // Events and requests share the reply connections and their rule: acknowledged to the broker
  // only once stored (and an event answered), so a crash in between has the broker send them
  // again.
  const replyFilters = replyRoutes.map((r) => `$share/${names.mqttShareGroup}/${r.filter}`);
  // Probes travel as replies of a serial no dock can have, one per bridge instance; the bridge
  // that takes one hands it back to its sender over core NATS (at most once: a lost probe only
  // makes the next one count).
  // Namespaces share a broker (each with its own share group, each taking a copy): a probe
  // names its namespace, and another namespace's bridges drop it.
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");
  const probeNamespace = token(config.namespace);
  const probeToken = token(config.instanceId);
  // On the first registered vendor's reply topic: every bridge subscribes to it.
  const probePrefix = `${PROBE_GATEWAY_PREFIX}.`;
  const probeLevel = `/${probePrefix}`;
  const probeTopic = vendors.adapters[0].wire.replyTopicOf(
    `${probePrefix}${probeNamespace}.${probeToken}`,
  );
  const probe: ReplyPathProbe = startReplyPathProbe({
    clock,
    log,
    count,
    ...probeTiming,
    send: (sentAt) =>
      mqtt.publishAsync(
        probeTopic,
        JSON.stringify({ method: "downlink_probe", timestamp: sentAt, data: { sent_at: sentAt } }),
        { qos: 1 },
      ).then(() => {}),
    repair: async (attempt) => {
      if (attempt === 1) {
        await Promise.all(replyClients.map((c) => subscribe(c, replyFilters)));
      } else {
        // A new connection subscribes on connect (connectMqtt's `subscriptions`).
        for (const c of replyClients) dropConnection(c);
      }
    },
  });
  const probeSub = nc.subscribe(names.replyProbeSubject(probeToken), {
    callback: (_err, msg) => probe.heard(Number(decoder.decode(msg.data))),
  });

  // Before the reply connections: a resumed session hands over the replies queued for it as soon
  // as it connects, and each notes its gateway as seen.
  const toShard = (partition: number, fact: PresenceFact): Promise<void> =>
    link.presence(fact, partition);
  const seen = createSeenCoalescer({
    clock,
    intervalMs: Math.min(1_000, config.deviceOfflineAfterSeconds * 250),
    partitionOf: (device) => partitionOf(device, config.partitions),
    send: (partition, fact) => {
      toShard(partition, fact).catch((err) => {
        // The next message from these devices tells the same again.
        count("presence_forward_errors");
        log.warn("could not hand devices seen to their shard", { err, partition });
      });
    },
  });
  const replyClients: MqttClient[] = [];
  const replyClientId = (bridge: string, i: number) =>
    `${config.namespace}-bridge-${bridge}-replies-${i}`;
  /** Acknowledges (PUBACKs) a reply once it is handed on; without, the broker sends it again. */
  const takeReply = (
    client: () => MqttClient | undefined,
  ): NonNullable<Parameters<typeof connectMqtt>[0]["customHandleAcks"]> =>
  (topic, message, _packet, done) => {
    onReply(topic, message).then(
      () => done(0),
      (err) => {
        count("reply_forward_errors");
        log.error("could not hand a device reply to its shard; the broker will resend it", {
          err,
          topic,
        });
        // No PUBACK: drop the connection so the broker resends it on reconnect.
        done(err as Error);
        const c = client();
        if (c) dropConnection(c);
      },
    );
  };
  // Reply connections subscribed since their latest connect. A command is published only while
  // one is: after a broker restart the commands connection may be back before the reply
  // connections have subscribed again, and a dock's quick answer would find no subscriber.
  const listening = new Set<number>();
  for (let i = 0; i < REPLY_CONNECTIONS; i++) {
    // The handler can only name its connection once the connection exists.
    const self: { client?: MqttClient } = {};
    const client: MqttClient = await connectMqtt({
      url: config.mqttUrl,
      clock,
      clientId: replyClientId(config.instanceId, i),
      clean: false,
      sessionExpirySeconds: SESSION_EXPIRY_SECONDS,
      subscriptions: replyFilters,
      onListening: (on) => on ? listening.add(i) : listening.delete(i),
      onError: (err) => log.warn("mqtt error on a reply connection (reconnecting)", { err }),
      customHandleAcks: takeReply(() => self.client),
      onCreated: (c) => self.client = c,
    });
    client.on("reconnect", () => count("mqtt_reconnects"));
    replyClients.push(client);
  }
  // Presence: update_topo and telemetry, shared among the bridges of this namespace. A clean
  // session: a message lost in a crash costs nothing (a dock sends update_topo again until it is
  // answered, and telemetry every 2 s), so nothing here waits for an acknowledgement.
  /** Answers an update_topo once its shard has the topology (or JetStream stored it): a device
   * that gets no status_reply sends it again, so a failure here is retried by the dock. */
  async function onStatus(
    wire: VendorWire,
    gateway: string,
    bytes: Uint8Array,
    at: number,
  ): Promise<void> {
    const parsed = wire.parseStatusMessage(bytes, config.maxReplyBytes);
    if (!parsed.ok) {
      count("status_messages_dropped");
      log.warn("status message not understood; not answered", { gateway, detail: parsed.detail });
      seen.note({ device_id: gateway, at, gateway: true });
      return;
    }
    const fact: TopologyFact = {
      kind: "topology",
      gateway,
      at,
      topo: { gateway: parsed.topo.gateway, sub_devices: parsed.topo.sub_devices },
    };
    await toShard(partitionOf(gateway, config.partitions), fact);
    // QoS 1 where DJI's demo uses 2: a duplicate reply is harmless, and QoS 1 is what the
    // rest of Downlink speaks.
    await mqtt.publishAsync(
      wire.statusReplyTopic(gateway),
      JSON.stringify(
        wire.buildStatusReply({
          tid: parsed.topo.tid,
          bid: parsed.topo.bid,
          timestamp: clock.now(),
        }),
      ),
      { qos: 1 },
    );
    count("status_replies");
  }
  const presenceClient: MqttClient = await connectMqtt({
    url: config.mqttUrl,
    clock,
    clientId: `${config.namespace}-bridge-${config.instanceId}-presence`,
    clean: true,
    // Not events or requests: the reply connections take those (onEvent and onRequest note the
    // gateway seen). The same filter in the same share group on both would hand each message to
    // one of them at random.
    subscriptions: presenceRoutes.map((r) => `$share/${names.mqttShareGroup}/${r.filter}`),
    onError: (err) => log.warn("mqtt error on the presence connection (reconnecting)", { err }),
  });
  presenceClient.on("message", (topic, bytes) => {
    const wire = routeOf(presenceRoutes, topic)?.vendor.wire;
    const where = wire?.presenceTopic(topic);
    if (!wire || !where) return;
    const at = clock.now();
    if (where.channel === "status") {
      onStatus(wire, where.serial, bytes, at).catch((err) => {
        count("status_reply_errors");
        log.warn("update_topo not answered; the device will send it again", {
          err,
          gateway: where.serial,
        });
      });
      return;
    }
    const firmware = where.channel === "state"
      ? wire.firmwareOfState(bytes, config.maxReplyBytes)
      : undefined;
    const telemetry = where.channel === "osd" || where.channel === "state";
    const via = telemetry ? wire.envelopeGateway(bytes) : undefined;
    seen.note({
      device_id: where.serial,
      at,
      gateway: !telemetry,
      ...(via ? { via } : {}),
      ...(firmware ? { firmware_version: firmware } : {}),
    });
  });

  const adoption = await startReplySessionAdoption({
    nc,
    registryBucket: names.bridgeRegistryBucket,
    heartbeatBucket: names.bridgeHeartbeatBucket,
    ttlSeconds: config.leaseTtlSeconds,
    instanceId: config.instanceId,
    connections: REPLY_CONNECTIONS,
    clientId: replyClientId,
    filters: replyFilters,
    mqttUrl: config.mqttUrl,
    onReply: takeReply(() => undefined),
    clock,
    log,
    count,
  });

  /** Takes a probe off the reply path: true when `topic` is a probe's. */
  function takeProbe(topic: string, bytes: Uint8Array): boolean {
    // A probe's serial is a whole topic level: a device's serial may contain the prefix.
    let at = 0;
    if (!topic.startsWith(probePrefix)) {
      at = topic.indexOf(probeLevel) + 1;
      if (at === 0) return false;
    }
    const end = topic.indexOf("/", at);
    const [namespace, sender] = topic.slice(at + probePrefix.length, end < 0 ? undefined : end)
      .split(".");
    if (namespace !== probeNamespace || !sender) return true;
    let sentAt: number;
    try {
      sentAt = Number(JSON.parse(decoder.decode(bytes)).data.sent_at);
    } catch {
      return true;
    }
    if (sender === probeToken) probe.heard(sentAt);
    else nc.publish(names.replyProbeSubject(sender), encoder.encode(String(sentAt)));
    return true;
  }

  /** Stores a dock's event in JetStream for its gateway's shard, then, when it asks (need_reply:
   * 1), answers it on events_reply. Recorded first: the answer tells the dock it need not send
   * it again, which is only true once it cannot be lost. JetStream rather than Postgres because
   * the bridge writes nothing to Postgres and the shard that links the event to its command
   * reads the shard stream anyway; each copy the broker or the dock sends again is answered
   * again (the dock re-sends when our answer was lost) and stored once: the message id is the
   * message's hash, which the stream's duplicate window drops. */
  async function onEvent(vendor: VendorAdapter, topic: string, bytes: Uint8Array): Promise<void> {
    const received_at = clock.now();
    const wire = vendor.wire;
    const parsed = wire.parseDeviceEvent(topic, bytes, config.maxReplyBytes);
    if (!parsed.ok) {
      count(`events_dropped_${parsed.reason.toLowerCase()}`);
      log.warn("device event not understood; dropped and not answered", {
        topic,
        reason: parsed.reason,
        detail: parsed.detail.slice(0, 200),
        bytes: bytes.byteLength,
      });
      return;
    }
    seen.note({ device_id: parsed.gateway, at: received_at, gateway: true });
    const fact: EventFact = {
      kind: "event",
      vendor: vendor.name,
      gateway: parsed.gateway,
      received_at,
      event: parsed.event,
    };
    const partition = partitionOf(parsed.gateway, config.partitions);
    await ctx.publisher.publish(
      names.eventSubject(partition, parsed.gateway),
      encoder.encode(JSON.stringify(fact)),
      messageEventId(topic, bytes),
    );
    count("events");
    if (!parsed.event.need_reply) return;
    // QoS 1 where DJI's demo uses 2, as for status_reply: a duplicate answer is harmless.
    await mqtt.publishAsync(
      wire.eventsReplyTopic(parsed.gateway),
      JSON.stringify(wire.buildEventsReply(parsed.event, clock.now())),
      { qos: 1 },
    );
    count("events_replies");
  }

  /** Stores a dock's request in JetStream for its gateway's shard, which records it (and answers
   * it again if it was answered: the dock sends a request again when our answer was lost). The
   * answer comes later, from a client or from Downlink itself, on the bridge stream. No message
   * id: a copy stored twice is one row (its id is the gateway's and tid's), and every copy the
   * dock sends must reach the shard, which answers it again if it can. */
  async function onRequest(vendor: VendorAdapter, topic: string, bytes: Uint8Array): Promise<void> {
    const received_at = clock.now();
    const parsed = vendor.wire.parseDeviceRequest(topic, bytes, config.maxReplyBytes);
    if (!parsed.ok) {
      if (parsed.gateway) seen.note({ device_id: parsed.gateway, at: received_at, gateway: true });
      count(`requests_dropped_${parsed.reason.toLowerCase()}`);
      log.warn("device request not understood; dropped and not answered", {
        topic,
        reason: parsed.reason,
        detail: parsed.detail.slice(0, 200),
        bytes: bytes.byteLength,
      });
      return;
    }
    seen.note({ device_id: parsed.gateway, at: received_at, gateway: true });
    const fact: RequestFact = {
      kind: "request",
      vendor: vendor.name,
      gateway: parsed.gateway,
      received_at,
      request: parsed.request,
    };
    await ctx.publisher.publish(
      names.requestSubject(partitionOf(parsed.gateway, config.partitions), parsed.gateway),
      encoder.encode(JSON.stringify(fact)),
    );
    count("requests");
  }

  /** Publishes an answer to a dock's request on requests_reply, then settles it with JetStream:
   * a crash in between publishes it again, which a dock ignores (it waits for one answer per
   * tid). QoS 1 where DJI's demo uses 2, as for status_reply. */
  async function answerRequest(msg: JsMsg, reply: RequestReply): Promise<void> {
    const wire = vendors.of(reply.vendor).wire;
    await mqtt.publishAsync(
      wire.requestsReplyTopic(reply.gateway),
      JSON.stringify(wire.buildRequestsReply(reply, reply.answer, clock.now())),
      { qos: 1 },
    );
    count("requests_replies");
    msg.ack();
  }

  /** Resolves once the reply (or the problem it is) is stored in JetStream. */
  async function onReply(topic: string, bytes: Uint8Array): Promise<void> {
    if (takeProbe(topic, bytes)) return;
    const route = routeOf(replyRoutes, topic);
    if (!route) {
      // Only a session subscribed under other filters (an earlier registration) hands these.
      count("replies_dropped_no_vendor");
      log.warn("device message on a topic no registered vendor subscribes to; dropped", { topic });
      return;
    }
    if (route.kind === "event") return await onEvent(route.vendor, topic, bytes);
    if (route.kind === "request") return await onRequest(route.vendor, topic, bytes);
    const received_at = clock.now();
    const parsed = route.vendor.wire.parseDeviceReply(topic, bytes, config.maxReplyBytes);
    if (!parsed.ok) {
      count(`replies_dropped_${parsed.reason.toLowerCase()}`);
      // The reason and detail describe the shape, never the whole body.
      log.warn("malformed device reply dropped", {
        topic,
        reason: parsed.reason,
        detail: parsed.detail.slice(0, 200),
        bytes: bytes.byteLength,
      });
      // No PUBACK until the problem is stored: a broker resend of the same message then makes
      // the same event id, which the stream's duplicate window drops.
      await ctx.events.publish(storedEvent({
        ...unownedProblem(
          received_at,
          `MALFORMED_REPLY_${parsed.reason}`,
          parsed.detail.slice(0, 200),
          {
            ...(parsed.gateway ? { device_id: parsed.gateway } : {}),
          },
        ),
        event_id: messageEventId(topic, bytes),
      }));
      return;
    }
    count("replies");
    // A reply proves its gateway is there; a mark in memory, off the reply's way.
    seen.note({ device_id: parsed.gateway, at: received_at, gateway: true });
    const fact: ReplyFact = {
      kind: "reply",
      vendor: route.vendor.name,
      gateway: parsed.gateway,
      channel: parsed.channel,
      received_at,
      reply: parsed.reply,
    };
    await link.reply(fact, partitionOf(parsed.gateway, config.partitions));
  }

  /** Publishes the command to its device (QoS 1) and resolves once the broker PUBACKed it. */
  async function publishToDevice(m: OutboundCommand): Promise<Delivery> {
    if (clock.now() >= m.deadline_at) {
      // Its command has timed out (or is about to): a dock must not act on it now.
      count("expired_not_sent");
      return "expired";
    }
    if (listening.size === 0) return "retry";
    let data: unknown;
    try {
      data = JSON.parse(ctx.cipher.openText(m.payload_enc, m.command_id));
    } catch (err) {
      // Never log the payload; the error says only that it did not open.
      log.error("command payload could not be opened; not sent", {
        command_id: m.command_id,
        err: (err as Error).name,
      });
      return "unsendable";
    }
    // A command that names no vendor is from before commands named one (DJI's). One that names a
    // vendor this bridge does not serve (a deployment half updated) must not go in another
    // vendor's envelope.
    const vendor = m.vendor === undefined ? vendors.of(undefined) : vendors.get(m.vendor);
    if (!vendor) {
      log.error("command names a vendor this bridge does not serve; not sent", {
        command_id: m.command_id,
        vendor: m.vendor,
        served: vendors.names,
      });
      count("unknown_vendor_not_sent");
      return "unsendable";
    }
    const wire = vendor.wire;
    const envelope = wire.buildServicesEnvelope({
      tid: m.command_id,
      bid: m.bid,
      method: m.method,
      data,
      timestamp: clock.now(),
    });
    const started = clock.now();
    try {
      await mqtt.publishAsync(wire.deviceTopic(m.channel, m.device_id), JSON.stringify(envelope), {
        qos: 1,
      });
      const ms = clock.now() - started;
      // The device's next command waits for this PUBACK: a slow broker shows here first.
      if (ms >= SLOW_PUBACK_MS) {
        log.warn("the broker took long to acknowledge a command", {
          ms,
          command_id: m.command_id,
        });
      }
    } catch (err) {
      log.warn("mqtt publish failed, will retry", { err, command_id: m.command_id });
      return "retry";
    }
    count("delivered");
    return "delivered";
  }

  /** Tells the device's shard the broker has the command. */
  async function reportDelivered(m: OutboundCommand): Promise<void> {
    const fact: DeliveredFact = {
      kind: "delivered",
      command_id: m.command_id,
      device_id: m.device_id,
      at: clock.now(),
    };
    await link.delivered(fact, partitionOf(m.device_id, config.partitions));
  }

  /** A command from the bridge stream (sent by a shard in another process, or before this
   * bridge ran). Acknowledged to JetStream before it is published: a redelivery after a publish
   * would reach the dock a second time, so the stream's copy is settled first, and this bridge
   * then tries until the broker takes it or its deadline passes (as for one handed over in process). A
   * crash in between loses the send, and its deadline ends the command: the shard claimed it
   * for sending once, and no one sends it again. */
  async function deliver(msg: JsMsg): Promise<void> {
    let wire: ToDevice | RequestReply;
    try {
      wire = JSON.parse(decoder.decode(msg.data));
    } catch (err) {
      log.error("undecodable bridge message dropped", { err, subject: msg.subject });
      msg.term();
      return;
    }
    if ("kind" in wire && wire.kind === "request_reply") return await answerRequest(msg, wire);
    wire = wire as ToDevice;
    const settled = await msg.ackAck().catch(() => false);
    if (!settled) {
      // Not settled: JetStream delivers it again (here or to another bridge), and that copy is
      // the one published.
      log.warn("could not settle a command with JetStream; it will come again", {
        command_id: wire.command_id,
      });
      return;
    }
    await deliverCommand({ ...wire, payload_enc: Buffer.from(wire.payload_enc, "base64") });
  }

  /** A command to publish (handed over in process, or settled with the bridge stream): tried
   * until the broker PUBACKs it or its deadline passes, with the same tid and bid each time. A
   * crash on the way is not retried by anyone: the command may have reached the dock. */
  async function deliverCommand(m: OutboundCommand): Promise<void> {
    // First attempts are made here, the helper joins only when one fails: no retry machinery
    // on the way of the commands that go through at once.
    let outcome = await publishToDevice(m);
    if (outcome === "retry") {
      const publish = async () => {
        const outcome = await publishToDevice(m);
        if (outcome === "retry") throw NOT_PUBLISHED;
        return outcome;
      };
      outcome = await retryAfter(NOT_PUBLISHED, publish, {
        clock,
        backoff: LOCAL_RETRY,
        giveUp: () => stopping,
      }).catch(() => "retry" as const);
    }
    if (outcome !== "delivered") return;
    try {
      return await reportDelivered(m);
    } catch (err) {
      await retryAfter(err, () => reportDelivered(m), {
        clock,
        backoff: LOCAL_RETRY,
        giveUp: (err, attempt) => {
          if (attempt < 5 && !stopping) return false;
          // Its reply (or its deadline) still ends the command; only DELIVERED goes unrecorded.
          log.error("could not report a delivery to its shard", { err, command_id: m.command_id });
          return true;
        },
      }).catch(() => {});
    }
  }

  // At most MAX_IN_FLIGHT commands towards the broker, from the stream and handed over.
  const limiter = createLimiter(MAX_IN_FLIGHT);
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  const run = async (work: () => Promise<void>, onError: (err: unknown) => void) => {
    await limiter.acquire();
    const p = work().catch(onError).finally(() => {
      inFlight.delete(p);
      limiter.release();
    });
    inFlight.add(p);
  };

  const end: BridgeEnd = {
    send(m) {
      if (stopping) return false;
      void run(
        () => deliverCommand(m),
        (err) => log.error("bridge delivery failed", { err, command_id: m.command_id }),
      );
      return true;
    },
  };

  const consumer = await js.consumers.get(names.bridgeStream, names.bridgeConsumer);
  const messages = await consumeSteadily(consumer, {
    maxMessages: MAX_IN_FLIGHT,
    log,
    name: names.bridgeConsumer,
  });
  const loop = (async () => {
    for await (const msg of messages) {
      await run(() => deliver(msg), (err) => {
        log.error("bridge delivery failed", { err });
        msg.nak(1_000);
      });
    }
  })().catch((err) => log.error("bridge consumer stopped", { err }));

  return {
    metrics,
    end,
    // A reply that reaches the broker while no connection of the share group is subscribed has
    // no subscriber, and the broker drops it: until one is, the bridge is deaf and says so.
    hearsReplies: () => listening.size > 0 && probe.healthy(),
    async stop() {
      stopping = true;
      probe.stop();
      probeSub.unsubscribe();
      await adoption.stop();
      messages.stop();
      await loop;
      await Promise.allSettled([...inFlight]);
      await presenceClient.endAsync().catch(() => {});
      seen.stop();
      await mqtt.endAsync().catch(() => {});
      await Promise.allSettled(replyClients.map((c) => c.endAsync()));
    },
  };
}

/** The id of the problem a device message is: the same for every copy the broker sends. */
function messageEventId(topic: string, bytes: Uint8Array): string {
  const digest = createHash("sha256").update(topic).update("\n").update(bytes).digest("hex");
  return v5(digest, MALFORMED_REPLY_NAMESPACE);
}
const MALFORMED_REPLY_NAMESPACE = "5f0d7a52-3c1e-4a8e-9a61-7d2b8f4c0e11";

/** Closes the connection's socket: mqtt.js reconnects, and the new connection subscribes. */
function dropConnection(client: MqttClient): void {
  (client.stream as unknown as { destroy?: () => void })?.destroy?.();
}
