// Presence and topology of the gateways of the partitions one shard hosts, and of their aircraft:
// pure state, told what came and when, answering with the rows to write and the events to
// publish. Time is given with every call; the host keeps the clock and the timers.
import { rfc3339 } from "../command/timestamp.ts";
import type { ProductInfo, UpdateTopo } from "../vendors/vendor_adapter.ts";
import type { DeviceEvent, DeviceEventKind } from "./device_event.ts";
import type { DeviceRecord, SubDeviceView } from "./device_record.ts";

/** A message that proves `device_id` alive (its serial is the topic's). */
export interface Sighting {
  device_id: string;
  at: number;
  /** True when the topic only a gateway sends on (status, events, requests, services_reply):
   * an unknown serial is then a gateway, registered online. An unknown serial seen on osd or
   * state could be an aircraft, and is left for its gateway's update_topo to name. */
  gateway: boolean;
  /** The gateway that carried it, as the envelope names it (an aircraft's osd names its dock). */
  via?: string;
  firmware_version?: string;
}

/** What to persist: `rows` with their `events` in one transaction, events in this order. */
export interface PresenceWrites {
  rows: DeviceRecord[];
  events: DeviceEvent[];
}

export interface PresenceRegistry {
  /** Loads what Postgres holds for a partition this shard just took. */
  load(records: readonly DeviceRecord[]): void;
  /** Forgets the devices of a partition this shard let go. */
  drop(partition: number): void;
  /** A gateway's update_topo: it is online, and its aircraft are those it lists now. */
  topology(gatewaySn: string, topo: Pick<UpdateTopo, "gateway" | "sub_devices">, at: number): void;
  /** Any other message from a device. */
  seen(sighting: Sighting): void;
  /** Gateways silent for the offline delay go offline (and their aircraft with them). */
  sweep(now: number): void;
  /** The rows and events that must be written now: every change of state, with its events. A
   * message that only moves last_seen_at waits for `lazy` (the host's periodic write), so a dock's
   * telemetry does not cost a write per message. */
  take(lazy: boolean): PresenceWrites;
  /** True when changes of state wait for take(). */
  urgent(): boolean;
  /** A device as known here (the shard asks this before it sends, later). */
  get(deviceId: string): Readonly<DeviceRecord> | undefined;
  size(): number;
}

export interface PresenceRegistryOptions {
  offlineAfterMs: number;
  /** The partition of a gateway: its aircraft belong to the same. */
  partitionOf(gatewaySn: string): number;
  newEventId(): string;
  /** Told at once when a device comes online or goes offline (the shard's commands for it wait
   * or go on that), before the change is written. */
  onlineChanged?(device: Readonly<DeviceRecord>): void;
}

export function createPresenceRegistry(o: PresenceRegistryOptions): PresenceRegistry {
  const devices = new Map<string, DeviceRecord>();
  /** A gateway's aircraft as its latest update_topo listed them. */
  const topologies = new Map<string, string[]>();
  const urgentIds = new Set<string>();
  const lazyIds = new Set<string>();
  let events: DeviceEvent[] = [];

  const changed = (id: string) => {
    urgentIds.add(id);
    lazyIds.delete(id);
  };
  const touched = (id: string) => {
    if (!urgentIds.has(id)) lazyIds.add(id);
  };

  const subDevicesOf = (gatewaySn: string): SubDeviceView[] =>
    (topologies.get(gatewaySn) ?? []).flatMap((sn) => {
      const a = devices.get(sn);
      if (!a) return [];
      return [{
        device_id: a.device_id,
        ...(a.model ? { model: a.model } : {}),
        ...(a.type !== undefined ? { type: a.type } : {}),
        ...(a.sub_type !== undefined ? { sub_type: a.sub_type } : {}),
        ...(a.firmware_version ? { firmware_version: a.firmware_version } : {}),
        online: a.online,
      }];
    });

  const emit = (g: DeviceRecord, kind: DeviceEventKind, at: number) => {
    events.push({
      event_id: o.newEventId(),
      event_type: `device.${kind}`,
      device_id: g.device_id,
      gateway_sn: g.device_id,
      online: g.online,
      ...(g.model ? { model: g.model } : {}),
      ...(g.firmware_version ? { firmware: g.firmware_version } : {}),
      sub_devices: subDevicesOf(g.device_id),
      occurred_at: rfc3339(at),
    });
  };

  const gatewayOf = (sn: string): DeviceRecord => {
    let g = devices.get(sn);
    if (!g || g.kind !== "gateway") {
      // A serial once listed as an aircraft that now holds a connection is a gateway.
      g = { device_id: sn, kind: "gateway", online: false };
      devices.set(sn, g);
    }
    return g;
  };

  /** Marks a gateway alive at `at`; true when that brought it online (its event emitted). */
  const alive = (g: DeviceRecord, at: number): boolean => {
    if (g.last_seen_at === undefined || at > g.last_seen_at) g.last_seen_at = at;
    if (g.online) {
      touched(g.device_id);
      return false;
    }
    g.online = true;
    g.online_since = at;
    changed(g.device_id);
    emit(g, "online", at);
    o.onlineChanged?.(g);
    return true;
  };

  const sameProduct = (a: ProductInfo, b: ProductInfo) =>
    a.domain === b.domain && a.type === b.type && a.sub_type === b.sub_type;
  const setProduct = (d: DeviceRecord, p: ProductInfo) => {
    for (const k of ["domain", "type", "sub_type", "model"] as const) {
      if (p[k] === undefined) delete d[k];
      else (d as unknown as Record<string, unknown>)[k] = p[k];
    }
  };

  const takeOffline = (sn: string, at: number) => {
    const a = devices.get(sn);
    if (!a || !a.online) return;
    a.online = false;
    delete a.online_since;
    if (a.last_seen_at === undefined || at > a.last_seen_at) a.last_seen_at = at;
    changed(sn);
    o.onlineChanged?.(a);
  };

  return {
    load(records) {
      for (const r of records) devices.set(r.device_id, { ...r });
      for (const r of records) {
        if (r.kind !== "aircraft" || !r.online || !r.gateway_sn) continue;
        const list = topologies.get(r.gateway_sn) ?? [];
        list.push(r.device_id);
        topologies.set(r.gateway_sn, list);
      }
    },
    drop(partition) {
      for (const [id, d] of devices) {
        const owner = d.kind === "gateway" ? id : d.gateway_sn;
        if (owner !== undefined && o.partitionOf(owner) !== partition) continue;
        devices.delete(id);
        topologies.delete(id);
        urgentIds.delete(id);
        lazyIds.delete(id);
      }
    },
    topology(gatewaySn, topo, at) {
      const g = gatewayOf(gatewaySn);
      let moved = !sameProduct(g, topo.gateway);
      if (moved) {
        setProduct(g, topo.gateway);
        changed(gatewaySn);
      }
      alive(g, at);
      const before = topologies.get(gatewaySn) ?? [];
      const now = topo.sub_devices.map((s) => s.device_id);
      const listed = new Set(now);
      for (const sn of before) {
        if (!listed.has(sn)) {
          takeOffline(sn, at);
          moved = true;
        }
      }
      for (const s of topo.sub_devices) {
        let a = devices.get(s.device_id);
        if (!a || a.kind !== "aircraft") {
          a = { device_id: s.device_id, kind: "aircraft", online: false };
          devices.set(s.device_id, a);
        }
        if (!sameProduct(a, s)) {
          setProduct(a, s);
          moved = true;
          changed(a.device_id);
        }
        if (a.gateway_sn !== gatewaySn) {
          // Listed by another gateway now: it left the one that had it.
          if (a.gateway_sn !== undefined) {
            const old = topologies.get(a.gateway_sn);
            if (old) topologies.set(a.gateway_sn, old.filter((sn) => sn !== s.device_id));
          }
          a.gateway_sn = gatewaySn;
          changed(a.device_id);
        }
        if (a.last_seen_at === undefined || at > a.last_seen_at) a.last_seen_at = at;
        if (!a.online) {
          a.online = true;
          a.online_since = at;
          moved = true;
          changed(a.device_id);
          o.onlineChanged?.(a);
        } else touched(a.device_id);
      }
      topologies.set(gatewaySn, now);
      if (moved) emit(g, "topology", at);
    },
    seen(s) {
      const d = devices.get(s.device_id);
      if (!d) {
        // A message naming its own serial as its gateway is a gateway's (DJI's demo tells dock
        // osd from aircraft osd the same way); one carried by a known gateway proves it alive.
        if (s.gateway || s.via === s.device_id) alive(gatewayOf(s.device_id), s.at);
        else {
          const g = s.via === undefined ? undefined : devices.get(s.via);
          if (g?.kind === "gateway") alive(g, s.at);
          return;
        }
      } else if (d.kind === "gateway") {
        alive(d, s.at);
      } else {
        if (d.last_seen_at === undefined || s.at > d.last_seen_at) d.last_seen_at = s.at;
        touched(d.device_id);
        // An aircraft's messages travel over its gateway's connection.
        const by = s.via ?? d.gateway_sn;
        const g = by === undefined ? undefined : devices.get(by);
        if (g?.kind === "gateway") alive(g, s.at);
      }
      const rec = devices.get(s.device_id);
      if (rec && s.firmware_version && rec.firmware_version !== s.firmware_version) {
        rec.firmware_version = s.firmware_version;
        changed(rec.device_id);
        const g = rec.kind === "gateway" ? rec : devices.get(rec.gateway_sn ?? "");
        if (g?.kind === "gateway") emit(g, "topology", s.at);
      }
    },
    sweep(now) {
      for (const g of devices.values()) {
        if (g.kind !== "gateway" || !g.online) continue;
        if ((g.last_seen_at ?? 0) + o.offlineAfterMs > now) continue;
        g.online = false;
        delete g.online_since;
        changed(g.device_id);
        // A silent gateway takes its aircraft with it: nothing of theirs can reach Downlink.
        for (const sn of topologies.get(g.device_id) ?? []) takeOffline(sn, g.last_seen_at ?? now);
        topologies.set(g.device_id, []);
        emit(g, "offline", now);
        o.onlineChanged?.(g);
      }
    },
    take(lazy) {
      const ids = lazy ? [...urgentIds, ...lazyIds] : [...urgentIds];
      urgentIds.clear();
      if (lazy) lazyIds.clear();
      const rows = ids.flatMap((id) => {
        const d = devices.get(id);
        return d ? [{ ...d }] : [];
      });
      const out = { rows, events };
      events = [];
      return out;
    },
    urgent: () => urgentIds.size > 0 || events.length > 0,
    get: (id) => devices.get(id),
    size: () => devices.size,
  };
}
