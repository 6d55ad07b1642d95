// The MQTT bridge role: carries ToDevice messages from JetStream to the docks (the only place a
// payload is decrypted) and carries the docks' replies back to the shard owning the device.
import { Buffer } from "node:buffer";
import { jetstream, type JsMsg } from "@nats-io/jetstream";
import type { MqttClient } from "mqtt";
import type { RoleContext, RunningRole } from "../role_context.ts";
import { ensureConsumer, ensureStreams } from "../bus/nats.ts";
import type { DeliveredFact, ReplyFact, ToDevice } from "../bus/messages.ts";
import { partitionOf } from "../bus/subjects.ts";
import {
  buildServicesEnvelope,
  deviceTopic,
  parseDeviceReply,
  REPLY_TOPICS,
} from "../vendors/dji/envelope.ts";
import { unownedProblem } from "../shard/lifecycle_event.ts";
import { connectMqtt } from "./mqtt_connection.ts";

export interface BridgeRole extends RunningRole {
  metrics: Record<string, number>;
}

/** Commands published and not yet PUBACKed. Mosquitto's default queues drop QoS 1 bursts, so the
 * bridge never has more than this in flight towards the broker. */
const MAX_IN_FLIGHT = 256;
/** Connections that take device replies. Each acknowledges a reply (PUBACK) only once JetStream
 * has stored it, which mqtt.js does one message at a time per connection; several connections
 * in the shared subscription take replies in parallel. */
const REPLY_CONNECTIONS = 4;
/** Broker keeps the bridge's session (its shared subscription, queued replies) this long. */
const SESSION_EXPIRY_SECONDS = 60;

export async function startBridgeRole(ctx: RoleContext): Promise<BridgeRole> {
  const { config, names, nc, log, clock } = ctx;
  const js = jetstream(nc);
  const metrics: Record<string, number> = {};
  const count = (name: string) => {
    metrics[name] = (metrics[name] ?? 0) + 1;
  };
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
    clientId: `${config.namespace}-bridge-${config.instanceId}`,
    clean: true,
    onError: (err) => log.warn("mqtt error (reconnecting)", { err }),
  });
  mqtt.on("reconnect", () => count("mqtt_reconnects"));

  // Replies: shared among the bridges of this namespace (and among this bridge's reply
  // connections), one copy to one connection. A reply is acknowledged to the broker only after
  // JetStream stored it: a crash in between leaves it unacknowledged in the broker session,
  // which delivers it again on reconnect.
  const replyClients: MqttClient[] = [];
  for (let i = 0; i < REPLY_CONNECTIONS; i++) {
    const client: MqttClient = await connectMqtt({
      url: config.mqttUrl,
      clientId: `${config.namespace}-bridge-${config.instanceId}-replies-${i}`,
      clean: false,
      sessionExpirySeconds: SESSION_EXPIRY_SECONDS,
      onError: (err) => log.warn("mqtt error on a reply connection (reconnecting)", { err }),
      customHandleAcks: (topic, message, _packet, done) => {
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
            (client.stream as unknown as { destroy?: () => void })?.destroy?.();
          },
        );
      },
    });
    client.on("reconnect", () => count("mqtt_reconnects"));
    await client.subscribeAsync(
      REPLY_TOPICS.map((t) => `$share/${names.mqttShareGroup}/${t}`),
      { qos: 1 },
    );
    replyClients.push(client);
  }

  /** Resolves once the reply (or the problem it is) is stored in JetStream. */
  async function onReply(topic: string, bytes: Uint8Array): Promise<void> {
    const received_at = clock.now();
    const parsed = parseDeviceReply(topic, bytes, config.maxReplyBytes);
    if (!parsed.ok) {
      count(`replies_dropped_${parsed.reason.toLowerCase()}`);
      // The reason and detail describe the shape, never the whole body.
      log.warn("malformed device reply dropped", {
        topic,
        reason: parsed.reason,
        detail: parsed.detail.slice(0, 200),
        bytes: bytes.byteLength,
      });
      await ctx.events.publish(
        "problem",
        unownedProblem(
          received_at,
          `MALFORMED_REPLY_${parsed.reason}`,
          parsed.detail.slice(0, 200),
          {
            ...(parsed.gateway ? { device_id: parsed.gateway } : {}),
          },
        ),
      );
      return;
    }
    count("replies");
    const fact: ReplyFact = {
      kind: "reply",
      gateway: parsed.gateway,
      channel: parsed.channel,
      received_at,
      reply: parsed.reply,
    };
    const subject = names.factSubject(
      partitionOf(parsed.gateway, config.partitions),
      parsed.gateway,
    );
    await js.publish(subject, encoder.encode(JSON.stringify(fact)));
  }

  async function deliver(msg: JsMsg): Promise<void> {
    let m: ToDevice;
    try {
      m = JSON.parse(decoder.decode(msg.data));
    } catch (err) {
      log.error("undecodable bridge message dropped", { err, subject: msg.subject });
      msg.term();
      return;
    }
    if (clock.now() >= m.deadline_at) {
      // Its command has timed out (or is about to): a dock must not act on it now.
      count("expired_not_sent");
      msg.ack();
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(ctx.cipher.openText(Buffer.from(m.payload_enc, "base64"), m.command_id));
    } catch (err) {
      // Never log the payload; the error says only that it did not open.
      log.error("command payload could not be opened; not sent", {
        command_id: m.command_id,
        err: (err as Error).name,
      });
      msg.term();
      return;
    }
    const envelope = buildServicesEnvelope({
      tid: m.command_id,
      bid: m.bid,
      method: m.method,
      data,
      timestamp: clock.now(),
    });
    try {
      await mqtt.publishAsync(deviceTopic(m.channel, m.device_id), JSON.stringify(envelope), {
        qos: 1,
      });
    } catch (err) {
      log.warn("mqtt publish failed, will retry", { err, command_id: m.command_id });
      msg.nak(500);
      return;
    }
    const fact: DeliveredFact = {
      kind: "delivered",
      command_id: m.command_id,
      device_id: m.device_id,
      at: clock.now(),
    };
    const subject = names.factSubject(partitionOf(m.device_id, config.partitions), m.device_id);
    try {
      await js.publish(subject, encoder.encode(JSON.stringify(fact)), {
        msgID: `${m.command_id}.delivered`,
      });
    } catch (err) {
      log.warn("delivered fact publish failed, will retry", { err, command_id: m.command_id });
      msg.nak(500);
      return;
    }
    count("delivered");
    msg.ack();
  }

  const consumer = await js.consumers.get(names.bridgeStream, names.bridgeConsumer);
  const messages = await consumer.consume({ max_messages: MAX_IN_FLIGHT });
  const inFlight = new Set<Promise<void>>();
  let wake: (() => void) | undefined;
  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= MAX_IN_FLIGHT) await new Promise<void>((r) => wake = r);
      const p = deliver(msg).catch((err) => {
        log.error("bridge delivery failed", { err });
        msg.nak(1_000);
      }).finally(() => {
        inFlight.delete(p);
        wake?.();
        wake = undefined;
      });
      inFlight.add(p);
    }
  })().catch((err) => log.error("bridge consumer stopped", { err }));

  return {
    metrics,
    async stop() {
      messages.stop();
      await loop;
      await Promise.allSettled([...inFlight]);
      await mqtt.endAsync().catch(() => {});
      await Promise.allSettled(replyClients.map((c) => c.endAsync()));
    },
  };
}
