// GET /api/v1/open/downlink/devices and /devices/{device_id}: the device registry, limited to
// the devices the caller's grants cover; an unknown device and one not granted are the same 404.
import { Buffer } from "node:buffer";
import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import type { DeviceListFilter, DeviceReader } from "../store/device_list.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./api_env.ts";
import { NotFoundError } from "./errors.ts";
import { cursorParam, limitParam } from "./list_query.ts";
import { defineRoute, param, type ParamValues, readQuery } from "./route.ts";

export const DEVICES_PATH = "/api/v1/open/downlink/devices";
export const DEVICE_READ_SCOPE = "open:device:read";

const DEVICE_ID_RE = new RegExp(DEVICE_ID);

/** The opaque cursor: base64url of the previous page's last device id. */
export function encodeDeviceCursor(deviceId: string): string {
  return Buffer.from(deviceId, "utf8").toString("base64url");
}

export function decodeDeviceCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(cursor)) return undefined;
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  return id.length <= 64 && DEVICE_ID_RE.test(id) ? id : undefined;
}

/** The query of GET /devices; checked in this order, every problem named as `query.<name>`. */
export const deviceListQuery = {
  cannot: "Cannot list devices",
  strict: true,
  params: {
    limit: limitParam,
    online: param(Type.Boolean(), {
      description: "Only online (true) or offline (false) devices",
    }),
    device_id: param(Type.String({ maxLength: 64, pattern: DEVICE_ID }), {
      description: "Only devices whose id starts with this",
      rule: "must be a device id prefix (1-64 of A-Z a-z 0-9 . _ -)",
    }),
    cursor: cursorParam(decodeDeviceCursor),
  },
};

/** Reads the list query; throws VALIDATION_FAILED naming every offending parameter. */
export function parseDeviceListQuery(queries: Record<string, string[]>): DeviceListFilter {
  return deviceListFilter(readQuery(deviceListQuery, queries));
}

function deviceListFilter(q: ParamValues<typeof deviceListQuery.params>): DeviceListFilter {
  const filter: DeviceListFilter = { limit: q.limit };
  if (q.online !== undefined) filter.online = q.online;
  if (q.device_id !== undefined) filter.deviceIdPrefix = q.device_id;
  if (q.cursor !== undefined) filter.after = q.cursor;
  return filter;
}

/** GET /devices: a page of the devices the client's grants cover. */
export const listDevicesRoute = defineRoute({
  method: "get",
  path: DEVICES_PATH,
  operationId: "listDevices",
  summary: `The devices the client's grants cover, by device_id (scope ${DEVICE_READ_SCOPE})`,
  scope: DEVICE_READ_SCOPE,
  query: deviceListQuery,
  responses: { "200": { description: "One page", schema: "DeviceList" }, "400": "BadRequest" },
  async handle(c: Context<ApiEnv>, { query }, deps: { devices: DeviceReader }) {
    const page = await deps.devices.listDevices(c.get("client").devices, deviceListFilter(query));
    return c.json(
      page.next
        ? { items: page.items, next_cursor: encodeDeviceCursor(page.next) }
        : { items: page.items },
    );
  },
});

const notFound = (id: string) =>
  new NotFoundError("DEVICE_NOT_FOUND", `No device ${JSON.stringify(id.slice(0, 80))}`);

/** GET /devices/{device_id}: one device; an id that cannot be a device's is not found either. */
export const getDeviceRoute = defineRoute({
  method: "get",
  path: `${DEVICES_PATH}/:device_id`,
  operationId: "getDevice",
  summary: `One device (scope ${DEVICE_READ_SCOPE})`,
  scope: DEVICE_READ_SCOPE,
  pathParams: {
    params: {
      device_id: param(Type.String({ maxLength: 64, pattern: DEVICE_ID }), {
        rule: "must be a device id (1-64 of A-Z a-z 0-9 . _ -)",
      }),
    },
    invalid: (_name, raw) => notFound(raw),
  },
  responses: {
    "200": { description: "The device", schema: "DeviceView" },
    "404": "DeviceNotFound",
  },
  async handle(c: Context<ApiEnv>, { path: { device_id: id } }, deps: { devices: DeviceReader }) {
    const device = await deps.devices.getDevice(c.get("client").devices, id);
    if (!device) throw notFound(id);
    return c.json(device);
  },
});
