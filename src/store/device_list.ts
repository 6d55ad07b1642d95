// The device registry as the API reads it: one device, or a page of devices, always limited to
// what a client's device grants cover (a device outside them is not there at all).
import type { Sql } from "./db.ts";
import { toDeviceRecord } from "./device_store.ts";
import type { DeviceView } from "../device/device_record.ts";
import { rfc3339 } from "../command/timestamp.ts";

export interface DeviceListFilter {
  online?: boolean;
  /** Only devices whose id starts with this. */
  deviceIdPrefix?: string;
  /** 1-200. */
  limit: number;
  /** Devices after this id (the previous page's last). */
  after?: string;
}

export interface DevicePage {
  items: DeviceView[];
  /** The last item's id when more devices follow. */
  next?: string;
}

export interface DeviceReader {
  listDevices(grants: readonly string[], filter: DeviceListFilter): Promise<DevicePage>;
  /** The device, or undefined when unknown or not covered by `grants` (never told apart). */
  getDevice(grants: readonly string[], deviceId: string): Promise<DeviceView | undefined>;
}

/** The grant patterns as an SQL condition on `column` (a column of the code, never input):
 * exact serials, and prefixes (a trailing `*`). */
export function grantsCover(
  sql: Sql,
  grants: readonly string[],
  column: "d.device_id" | "gateway_sn",
) {
  const exact = grants.filter((g) => !g.endsWith("*"));
  const prefixes = grants.filter((g) => g.endsWith("*")).map((g) => g.slice(0, -1));
  return sql`(${sql.unsafe(column)} = any(${exact}::text[])
    or exists (select 1 from unnest(${prefixes}::text[]) p
      where starts_with(${sql.unsafe(column)}, p)))`;
}

export function createDeviceReader(sql: Sql): DeviceReader {
  const granted = (grants: readonly string[]) => grantsCover(sql, grants, "d.device_id");
  const select = sql`
    select d.device_id, d.kind, d.gateway_sn, d.domain, d.type, d.sub_type, d.model,
           d.firmware_version, d.online, d.online_since, d.last_seen_at,
           case when d.kind = 'gateway' then coalesce((
             select jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'device_id', a.device_id, 'model', a.model, 'type', a.type,
               'sub_type', a.sub_type, 'firmware_version', a.firmware_version,
               'online', a.online)) order by a.device_id)
             from devices a
             where a.gateway_sn = d.device_id and a.kind = 'aircraft' and a.online), '[]'::jsonb)
           end as sub_devices
    from devices d`;
  return {
    async listDevices(grants, filter) {
      if (grants.length === 0) return { items: [] };
      const rows = await sql`
        ${select}
        where ${granted(grants)}
          ${filter.online !== undefined ? sql`and d.online = ${filter.online}` : sql``}
          ${
        filter.deviceIdPrefix !== undefined
          ? sql`and starts_with(d.device_id, ${filter.deviceIdPrefix})`
          : sql``
      }
          ${filter.after !== undefined ? sql`and d.device_id > ${filter.after}` : sql``}
        order by d.device_id
        limit ${filter.limit + 1}`;
      const more = rows.length > filter.limit;
      const page = more ? rows.slice(0, filter.limit) : rows;
      return {
        items: page.map(toView),
        ...(more ? { next: page[page.length - 1].device_id as string } : {}),
      };
    },
    async getDevice(grants, deviceId) {
      if (grants.length === 0) return undefined;
      const [row] = await sql`${select} where d.device_id = ${deviceId} and ${granted(grants)}`;
      return row ? toView(row) : undefined;
    },
  };
}

function toView(r: Record<string, any>): DeviceView {
  const d = toDeviceRecord(r);
  return {
    device_id: d.device_id,
    kind: d.kind,
    ...(d.model ? { model: d.model } : {}),
    ...(d.type !== undefined ? { type: d.type } : {}),
    ...(d.sub_type !== undefined ? { sub_type: d.sub_type } : {}),
    ...(d.firmware_version ? { firmware_version: d.firmware_version } : {}),
    online: d.online,
    ...(d.online_since !== undefined ? { online_since: rfc3339(d.online_since) } : {}),
    ...(d.last_seen_at !== undefined ? { last_seen_at: rfc3339(d.last_seen_at) } : {}),
    ...(d.kind === "aircraft" && d.gateway_sn ? { gateway_sn: d.gateway_sn } : {}),
    ...(d.kind === "gateway" ? { sub_devices: r.sub_devices ?? [] } : {}),
  };
}
