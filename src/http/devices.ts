// GET /api/v1/open/downlink/devices and /devices/{device_id}: the device registry, limited to
// the devices the caller's grants cover; an unknown device and one not granted are the same 404.
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import type { DeviceListFilter, DeviceReader } from "../store/device_list.ts";
import { describeValue } from "../json/describe_value.ts";
import { requireScope } from "./auth.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./commands.ts";
import { NotFoundError } from "./errors.ts";
import { readListQuery } from "./list_query.ts";

export const DEVICES_PATH = "/api/v1/open/downlink/devices";
export const DEVICE_READ_SCOPE = "open:device:read";

const DEVICE_ID_RE = new RegExp(DEVICE_ID);
const PARAMS = new Set(["online", "device_id", "limit", "cursor"]);

/** The opaque cursor: base64url of the previous page's last device id. */
export function encodeDeviceCursor(deviceId: string): string {
  return Buffer.from(deviceId, "utf8").toString("base64url");
}

export function decodeDeviceCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(cursor)) return undefined;
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  return id.length <= 64 && DEVICE_ID_RE.test(id) ? id : undefined;
}

/** Reads the list query; throws VALIDATION_FAILED naming every offending parameter. */
export function parseDeviceListQuery(queries: Record<string, string[]>): DeviceListFilter {
  const q = readListQuery(queries, PARAMS);
  const filter: DeviceListFilter = { limit: q.limit() };
  const online = q.one("online");
  if (online !== undefined) {
    if (online === "true" || online === "false") filter.online = online === "true";
    else q.fail("online", `must be true or false, got ${describeValue(online)}`);
  }
  const prefix = q.one("device_id");
  if (prefix !== undefined) {
    if (prefix.length > 64 || !DEVICE_ID_RE.test(prefix)) {
      q.fail(
        "device_id",
        `must be a device id prefix (1-64 of A-Z a-z 0-9 . _ -), got ${describeValue(prefix)}`,
      );
    } else filter.deviceIdPrefix = prefix;
  }
  const after = q.cursor(decodeDeviceCursor);
  if (after !== undefined) filter.after = after;
  q.done("devices");
  return filter;
}

export function deviceRoutes(deps: { devices: DeviceReader }): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get("/", async (c) => {
    const client = c.get("client");
    requireScope(client, DEVICE_READ_SCOPE);
    const filter = parseDeviceListQuery(c.req.queries() ?? {});
    const page = await deps.devices.listDevices(client.devices, filter);
    return c.json(
      page.next
        ? { items: page.items, next_cursor: encodeDeviceCursor(page.next) }
        : { items: page.items },
    );
  });
  routes.get("/:device_id", async (c) => {
    const client = c.get("client");
    requireScope(client, DEVICE_READ_SCOPE);
    const id = c.req.param("device_id");
    const notFound = () =>
      new NotFoundError("DEVICE_NOT_FOUND", `No device ${JSON.stringify(id.slice(0, 80))}`);
    if (id.length > 64 || !DEVICE_ID_RE.test(id)) throw notFound();
    const device = await deps.devices.getDevice(client.devices, id);
    if (!device) throw notFound();
    return c.json(device);
  });
  return routes;
}
