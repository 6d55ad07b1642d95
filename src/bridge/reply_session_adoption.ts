// Takes over the reply sessions of a bridge that died. Bridges share device replies through an
// MQTT shared subscription on persistent sessions, so that a restarted bridge gets the replies
// that came while it was away. But a dead bridge's sessions stay in the share group until they
// expire, and the broker goes on queueing its share of the replies there: with two bridges, half
// of all replies. So every bridge registers its sessions and keeps a heartbeat in NATS KV; when
// a heartbeat lapses, one live bridge connects with the dead one's client ids, leaves the share
// group, takes what was queued, and ends the sessions.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { IClientOptions, MqttClient } from "mqtt";
import { connectMqtt } from "./mqtt_connection.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";

export interface ReplySessionAdoptionOptions {
  nc: NatsConnection;
  /** KV bucket of registrations (kept until adopted) and of heartbeats (expire after the TTL). */
  registryBucket: string;
  heartbeatBucket: string;
  ttlSeconds: number;
  /** This bridge's instance id (its reply sessions' client ids are made from it). */
  instanceId: string;
  /** Number of reply connections this bridge keeps (and so sessions a peer may leave). */
  connections: number;
  /** The client id of a bridge's reply connection `i`. */
  clientId(bridge: string, i: number): string;
  /** The shared-subscription filters the sessions hold. */
  filters: readonly string[];
  mqttUrl: string;
  /** Handles a reply taken from an adopted session, as from the bridge's own connections. */
  onReply: NonNullable<IClientOptions["customHandleAcks"]>;
  clock: Clock;
  log: Logger;
  count(name: string): void;
}

export interface ReplySessionAdoption {
  stop(): Promise<void>;
}

/** Registers this bridge and watches its peers; resolves once registered. */
export async function startReplySessionAdoption(
  o: ReplySessionAdoptionOptions,
): Promise<ReplySessionAdoption> {
  const kvm = new Kvm(o.nc);
  const registry = await kvm.create(o.registryBucket, { history: 1 });
  const heartbeats = await kvm.create(o.heartbeatBucket, {
    ttl: o.ttlSeconds * 1000,
    history: 1,
  });
  const encoder = new TextEncoder();
  const self = keyOf(o.instanceId);
  const registration = encoder.encode(
    JSON.stringify({ instance: o.instanceId, connections: o.connections }),
  );
  // The registration is put again with every heartbeat: a peer that took this bridge for dead
  // (NATS away longer than the TTL) deleted it after adopting.
  const beat = async () => {
    await heartbeats.put(self, encoder.encode("alive"));
    await registry.put(self, registration);
  };
  await beat();

  let stopped = false;
  let timer: unknown;
  let beatTimer: unknown;
  let round: Promise<void> = Promise.resolve();

  async function check(): Promise<void> {
    const peers: string[] = [];
    for await (const key of await registry.keys()) if (key !== self) peers.push(key);
    for (const peer of peers) {
      if (stopped) return;
      if (await heartbeats.get(peer)) continue;
      // One adopter per dead bridge: the claim expires with the TTL if this one dies too.
      try {
        await heartbeats.create(`adopting.${peer}`, encoder.encode(self));
      } catch {
        continue; // another bridge adopts it
      }
      const entry = (await registry.get(peer))?.json<{ instance: string; connections: number }>();
      if (!entry) continue;
      o.log.warn("a bridge stopped answering; taking over its reply sessions", {
        bridge: entry.instance,
        sessions: entry.connections,
      });
      const taken = await adopt(entry.instance, entry.connections);
      o.count("reply_sessions_adopted");
      o.log.info("reply sessions of a dead bridge taken over", {
        bridge: entry.instance,
        replies: taken,
      });
      await registry.delete(peer);
    }
  }

  /** Takes every session of a dead bridge at once: leaves the share group, takes what is
   * queued, ends the session. Resolves with the number of replies taken. */
  async function adopt(instance: string, connections: number): Promise<number> {
    const taken = await Promise.all(
      Array.from({ length: connections }, (_, i) => adoptSession(instance, i)),
    );
    return taken.reduce((a, b) => a + b, 0);
  }

  async function adoptSession(instance: string, i: number): Promise<number> {
    let taken = 0;
    let last = o.clock.now();
    let client: MqttClient;
    try {
      client = await connectMqtt({
        url: o.mqttUrl,
        clientId: o.clientId(instance, i),
        clean: false,
        sessionExpirySeconds: 60,
        reconnect: false,
        clock: o.clock,
        customHandleAcks: (topic, message, packet, done) => {
          last = o.clock.now();
          taken++;
          o.onReply(topic, message, packet, done);
        },
      });
    } catch (err) {
      o.log.warn("could not take over a reply session", { err, bridge: instance, session: i });
      return 0;
    }
    // Bounded: on a connection that closed meanwhile (its bridge came back and took its session)
    // mqtt.js would queue these for a reconnect that never comes.
    await within(client.unsubscribeAsync([...o.filters]), 2_000, o.clock).catch(() => {});
    // What the broker queued for the session comes right after the connect; wait until it has
    // been quiet for a moment (a few seconds at most).
    const started = o.clock.now();
    while (client.connected && o.clock.now() - last < 300 && o.clock.now() - started < 5_000) {
      await new Promise<void>((r) => o.clock.setTimeout(r, 100));
    }
    const ended = new Promise<void>((resolve) =>
      client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve())
    );
    await within(ended, 2_000, o.clock).catch(() => client.end(true));
    return taken;
  }

  const period = Math.max(500, (o.ttlSeconds * 1000) / 3);
  // The heartbeat keeps its own timer: an adoption round may take longer than the TTL.
  const heartbeatLoop = () => {
    if (stopped) return;
    beatTimer = o.clock.setTimeout(() => {
      beat().catch((err) => o.log.warn("bridge heartbeat not stored", { err }))
        .finally(heartbeatLoop);
    }, period);
  };
  heartbeatLoop();
  const loop = () => {
    if (stopped) return;
    timer = o.clock.setTimeout(() => {
      round = check().catch((err) => o.log.warn("reply session check failed", { err }))
        .finally(loop);
    }, period);
  };
  loop();

  return {
    async stop() {
      stopped = true;
      o.clock.clearTimeout(timer);
      o.clock.clearTimeout(beatTimer);
      await round;
    },
  };
}

/** `p`, or a rejection once `ms` passed: a bound on a stuck client. */
function within<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  let timer: unknown;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clock.clearTimeout(timer));
}

/** A KV key for an instance id (keys take letters, digits, `-`, `_`, `=`, `.` and `/`). */
function keyOf(instanceId: string): string {
  return instanceId.replace(/[^A-Za-z0-9_-]/g, "_");
}
