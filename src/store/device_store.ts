// The device registry in Postgres as the shard writes it: the devices of a partition it takes
// over, and batches of device rows committed with the device events they report (event outbox).
import type { Sql } from "./db.ts";
import type { OutboxEvent } from "./event_outbox.ts";
import type { DeviceRecord } from "../device/device_record.ts";

export interface DeviceStore {
  /** Every device of the partition (gateways of it and the aircraft they listed). */
  load(partition: number): Promise<DeviceRecord[]>;
  /** Writes the rows and the events in one transaction. An aircraft row is taken from a gateway
   * only by the gateway listing it now (another shard may host its former gateway). */
  write(
    rows: ReadonlyArray<DeviceRecord & { partition: number }>,
    events: readonly OutboxEvent[],
    at: number,
  ): Promise<void>;
}

const iso = (ms: number | undefined) => ms === undefined ? null : new Date(ms).toISOString();

/** A devices row as a record (a NULL column is no field). */
export function toDeviceRecord(r: Record<string, any>): DeviceRecord {
  const d: DeviceRecord = { device_id: r.device_id, kind: r.kind, online: r.online };
  if (r.gateway_sn !== null) d.gateway_sn = r.gateway_sn;
  if (r.domain !== null) d.domain = r.domain;
  if (r.type !== null) d.type = r.type;
  if (r.sub_type !== null) d.sub_type = r.sub_type;
  if (r.model !== null) d.model = r.model;
  if (r.firmware_version !== null) d.firmware_version = r.firmware_version;
  if (r.online_since) d.online_since = (r.online_since as Date).getTime();
  if (r.last_seen_at) d.last_seen_at = (r.last_seen_at as Date).getTime();
  return d;
}

export function createDeviceStore(sql: Sql): DeviceStore {
  return {
    async load(partition) {
      const rows = await sql`
        select device_id, kind, gateway_sn, domain, type, sub_type, model, firmware_version,
               online, online_since, last_seen_at
        from devices where partition = ${partition}`;
      return rows.map(toDeviceRecord);
    },
    async write(rows, events, at) {
      if (rows.length === 0 && events.length === 0) return;
      const json = sql.json(rows.map((r) => ({
        device_id: r.device_id,
        kind: r.kind,
        gateway_sn: r.gateway_sn ?? null,
        partition: r.partition,
        domain: r.domain ?? null,
        type: r.type ?? null,
        sub_type: r.sub_type ?? null,
        model: r.model ?? null,
        firmware_version: r.firmware_version ?? null,
        online: r.online,
        online_since: iso(r.online_since),
        last_seen_at: iso(r.last_seen_at),
      })) as never);
      const eventJson = sql.json(events.map((e, ord) => ({
        event_id: e.event_id,
        partition: e.partition,
        subject: e.subject,
        body: e.body,
        ord,
      })) as never);
      await sql.begin(async (tx) => {
        if (rows.length > 0) {
          await tx`
            insert into devices (device_id, kind, gateway_sn, partition, domain, type, sub_type,
                                 model, firmware_version, online, online_since, last_seen_at,
                                 updated_at)
            select x.device_id, x.kind, x.gateway_sn, x.partition, x.domain, x.type, x.sub_type,
                   x.model, x.firmware_version, x.online, x.online_since, x.last_seen_at,
                   ${iso(at)}::timestamptz
            from jsonb_to_recordset(${json}) as x(
              device_id text, kind text, gateway_sn text, partition integer, domain text,
              type integer, sub_type integer, model text, firmware_version text, online boolean,
              online_since timestamptz, last_seen_at timestamptz)
            order by x.device_id
            on conflict (device_id) do update set
              kind = excluded.kind,
              gateway_sn = excluded.gateway_sn,
              partition = excluded.partition,
              domain = excluded.domain,
              type = excluded.type,
              sub_type = excluded.sub_type,
              model = excluded.model,
              firmware_version = coalesce(excluded.firmware_version, devices.firmware_version),
              online = excluded.online,
              online_since = excluded.online_since,
              last_seen_at = greatest(excluded.last_seen_at, devices.last_seen_at),
              updated_at = excluded.updated_at
            where devices.kind = 'gateway' or excluded.kind = 'gateway'
              or devices.gateway_sn is not distinct from excluded.gateway_sn
              or excluded.online`;
        }
        if (events.length > 0) {
          await tx`
            insert into event_outbox (event_id, partition, command_id, subject, body)
            select x.event_id, x.partition, null, x.subject, x.body
            from jsonb_to_recordset(${eventJson}) as x(
              event_id uuid, partition integer, subject text, body text, ord integer)
            order by x.ord
            on conflict (event_id) do nothing`;
        }
      });
    },
  };
}
