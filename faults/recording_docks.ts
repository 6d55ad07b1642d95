// Simulated docks that keep a record of every publish they receive, per tid, with the MQTT
// packet's DUP flag, and of when the broker acknowledged their replies. The suite judges each
// command's final state against what its dock actually did.
import type { MqttClient } from "mqtt";
import { connectMqtt } from "../src/bridge/mqtt_connection.ts";
import { createDockPresence } from "../src/cli/dock_presence.ts";

/** How one dock treats every command: answer with this `data.result`, or stay silent. */
export type DockBehaviour = { result: number } | "silent";

/** What happened to one command (tid) at its dock. */
export interface DockRecord {
  sn: string;
  /** Copies received without the DUP flag (the first delivery and any new publish). */
  plain: number;
  /** Copies received with the DUP flag (the broker resending an unacknowledged one). */
  dup: number;
  /** Arrival times of the copies without DUP, in order. */
  plainAt: number[];
  /** When the dock first published its reply, and when the broker first PUBACKed one. */
  replySentAt?: number;
  replyAckedAt?: number;
}

export interface RecordingDocks {
  records: Map<string, DockRecord>;
  behaviourOf(sn: string): DockBehaviour | undefined;
  /** Resolves once every dock's update_topo was answered: Downlink knows them online. */
  answered(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRecordingDocks(o: {
  mqttUrl: string;
  docks: ReadonlyMap<string, DockBehaviour>;
  connections?: number;
}): Promise<RecordingDocks> {
  const records = new Map<string, DockRecord>();
  const sns = [...o.docks.keys()];
  const connections = Math.max(1, Math.min(o.connections ?? 3, sns.length));
  const clients: MqttClient[] = [];
  const tag = crypto.randomUUID().slice(0, 8);
  const topic = /^thing\/product\/([^/]+)\/services$/;
  // Every dock, silent or not, is online as a real one is: update_topo on each (re)connect, osd.
  const presence = createDockPresence({ sns });

  const onMessage = (client: MqttClient, name: string, bytes: Uint8Array, dup: boolean) => {
    const sn = topic.exec(name)?.[1];
    const behaviour = sn === undefined ? undefined : o.docks.get(sn);
    if (sn === undefined || behaviour === undefined) return;
    let body: { tid?: string; bid?: string; method?: string };
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return;
    }
    if (typeof body.tid !== "string") return;
    const now = Date.now();
    let record = records.get(body.tid);
    if (!record) records.set(body.tid, record = { sn, plain: 0, dup: 0, plainAt: [] });
    if (dup) record.dup++;
    else {
      record.plain++;
      record.plainAt.push(now);
    }
    if (behaviour === "silent") return;
    // A dock answers every copy it gets, as a real one would execute every command it reads.
    const reply = JSON.stringify({
      tid: body.tid,
      bid: body.bid,
      method: body.method,
      timestamp: now,
      gateway: sn,
      data: { result: behaviour.result },
    });
    const r = record;
    r.replySentAt ??= now;
    client.publish(`thing/product/${sn}/services_reply`, reply, { qos: 1 }, (err) => {
      if (!err) r.replyAckedAt ??= Date.now();
    });
  };

  for (let i = 0; i < connections; i++) {
    const group = sns.filter((_, j) => j % connections === i);
    // A clean session, like the simulator's: what the broker held for a dock while it was
    // away is lost, and the command is reported as never having reached the dock.
    const client = await connectMqtt({ url: o.mqttUrl, clientId: `faults-dock-${tag}-${i}` });
    client.on("message", (name, bytes, packet) => onMessage(client, name, bytes, packet.dup));
    await client.subscribeAsync(group.map((sn) => `thing/product/${sn}/services`), { qos: 1 });
    clients.push(client);
    await presence.attach(client, group);
  }

  return {
    records,
    behaviourOf: (sn) => o.docks.get(sn),
    answered: (ms) => presence.answered(ms),
    async stop() {
      presence.stop();
      await Promise.allSettled(clients.map((c) => c.endAsync(true)));
    },
  };
}
