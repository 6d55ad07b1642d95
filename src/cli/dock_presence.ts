// How simulated docks make themselves known, as real ones do (PROTOCOL §2.5, §8): `update_topo`
// with their aircraft on connect and on every reconnect, again until a `status_reply` answers it,
// and `osd` every 2 s while online. They can go silent (nothing at all, as a dock whose link is
// lost), lose their aircraft (an empty topology), and come back.
import type { MqttClient } from "mqtt";
import { type Clock, every, systemClock } from "../async/time.ts";

/** How a dock goes offline: nothing at all, or only its aircraft (an empty `sub_devices`). */
export type OfflineMode = "silent" | "empty-topology";

export interface DockPresenceOptions {
  /** The serials of the docks on this connection. */
  sns: readonly string[];
  /** The aircraft a dock lists in its topology; undefined lists none. Default `${sn}-aircraft`. */
  aircraftOf?: (sn: string) => string | undefined;
  /** Period of each dock's osd push; DJI docks push every 2 s (§8.2). */
  osdIntervalMs?: number;
  /** How long an unanswered update_topo waits before it is sent again. */
  resendMs?: number;
  /** What the docks' timestamps and periods are read on (default: the system clock). */
  clock?: Clock;
}

export interface DockPresence {
  /** Subscribes to the status replies of the docks on `client` and announces them on it, now and
   * on every reconnect. */
  attach(client: MqttClient, sns: readonly string[]): Promise<void>;
  /** True while the docks are silent (offline as if their link were lost): they send nothing,
   * and the simulator answers no command. */
  readonly silent: boolean;
  /** Comes online (again): update_topo with the aircraft, then osd. */
  online(): void;
  /** Goes offline as `mode` says. */
  offline(mode: OfflineMode): void;
  /** Resolves once every dock's latest update_topo has its status_reply. */
  answered(ms?: number): Promise<void>;
  /** update_topo messages sent and status_reply messages received, per dock. */
  counts(sn: string): { topo: number; replies: number };
  stop(): void;
}

const STATUS_REPLY = /^sys\/product\/([^/]+)\/status_reply$/;
/** Beyond this many docks on a connection, one wildcard subscription replaces one per dock. */
const WILDCARD_ABOVE = 50;

export function createDockPresence(o: DockPresenceOptions): DockPresence {
  const osdMs = o.osdIntervalMs ?? 2_000;
  const resendMs = o.resendMs ?? 5_000;
  const clock = o.clock ?? systemClock;
  const aircraftOf = o.aircraftOf ?? ((sn: string) => `${sn}-aircraft`);
  const clientOf = new Map<string, MqttClient>();
  /** The tid of each dock's update_topo waiting for its status_reply. */
  const unanswered = new Map<string, string>();
  const counts = new Map<string, { topo: number; replies: number }>();
  for (const sn of o.sns) counts.set(sn, { topo: 0, replies: 0 });
  let state: "online" | OfflineMode = "online";
  let waiters: Array<() => void> = [];
  let stopped = false;

  const publish = (sn: string, topic: string, body: unknown) => {
    const client = clientOf.get(sn);
    if (!client?.connected) return;
    client.publish(topic, JSON.stringify(body), { qos: topic.endsWith("/osd") ? 0 : 1 });
  };

  const announce = (sn: string) => {
    if (stopped || state === "silent") return;
    const tid = crypto.randomUUID();
    unanswered.set(sn, tid);
    counts.get(sn)!.topo++;
    const aircraft = state === "online" ? aircraftOf(sn) : undefined;
    publish(sn, `sys/product/${sn}/status`, {
      tid,
      bid: crypto.randomUUID(),
      timestamp: clock.now(),
      method: "update_topo",
      data: {
        // DJI Dock 2 with a Matrice 3D (product enums of §8.1).
        domain: "3",
        type: 2,
        sub_type: 0,
        device_secret: "simulated",
        nonce: "simulated",
        thing_version: "1.1.2",
        sub_devices: aircraft === undefined ? [] : [{
          sn: aircraft,
          domain: "0",
          type: 91,
          sub_type: 0,
          index: "A",
          device_secret: "simulated",
          nonce: "simulated",
          thing_version: "1.1.2",
        }],
      },
    });
  };

  const pushOsd = () => {
    if (state === "silent") return;
    for (const sn of clientOf.keys()) {
      const aircraft = state === "online" ? aircraftOf(sn) : undefined;
      publish(sn, `thing/product/${sn}/osd`, {
        tid: crypto.randomUUID(),
        bid: crypto.randomUUID(),
        timestamp: clock.now(),
        gateway: sn,
        data: {
          mode_code: 0,
          drone_in_dock: aircraft === undefined ? 0 : 1,
          ...(aircraft === undefined
            ? {}
            : { sub_device: { device_sn: aircraft, device_online_status: 1, device_paired: 1 } }),
        },
      });
    }
  };
  const stopOsd = every(clock, osdMs, pushOsd);
  // A real dock sends update_topo again until it is answered (§8.1).
  const stopResend = every(clock, resendMs, () => {
    for (const sn of [...unanswered.keys()]) announce(sn);
  });

  const settleWaiters = () => {
    if (unanswered.size > 0) return;
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };

  return {
    async attach(client, sns) {
      for (const sn of sns) clientOf.set(sn, client);
      const mine = new Set(sns);
      client.on("message", (topic, bytes) => {
        const sn = STATUS_REPLY.exec(topic)?.[1];
        if (sn === undefined || !mine.has(sn)) return;
        let body: { tid?: string; data?: { result?: number } };
        try {
          body = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          return;
        }
        counts.get(sn)!.replies++;
        if (body.tid === unanswered.get(sn) && body.data?.result === 0) {
          unanswered.delete(sn);
          settleWaiters();
        }
      });
      // A dock announces itself after every connect: the first, and each reconnect.
      client.on("connect", () => {
        for (const sn of sns) announce(sn);
      });
      const topics = sns.length > WILDCARD_ABOVE
        ? ["sys/product/+/status_reply"]
        : sns.map((sn) => `sys/product/${sn}/status_reply`);
      await client.subscribeAsync(topics, { qos: 1 });
      for (const sn of sns) announce(sn);
    },
    get silent() {
      return state === "silent";
    },
    online() {
      state = "online";
      for (const sn of clientOf.keys()) announce(sn);
      pushOsd();
    },
    offline(mode) {
      state = mode;
      if (mode === "silent") unanswered.clear();
      else for (const sn of clientOf.keys()) announce(sn);
      settleWaiters();
    },
    answered(ms = 10_000) {
      if (unanswered.size === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = clock.setTimeout(() => {
          reject(new Error(`no status_reply for ${[...unanswered.keys()].join(", ")} in ${ms} ms`));
        }, ms);
        waiters.push(() => {
          clock.clearTimeout(t);
          resolve();
        });
      });
    },
    counts: (sn) => ({ ...(counts.get(sn) ?? { topo: 0, replies: 0 }) }),
    stop() {
      stopped = true;
      stopOsd();
      stopResend();
    },
  };
}
