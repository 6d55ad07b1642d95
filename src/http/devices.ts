// GET /api/v1/open/downlink/devices and /devices/{device_id}: the device registry, limited to
// the devices the caller's grants cover; an unknown device and one not granted are the same 404.
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import type { DeviceListFilter, DeviceReader } from "../store/device_list.ts";
import { describeValue } from "../vendors/dji/describe_value.ts";
import { requireScope } from "./auth.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./commands.ts";
import { type ErrorDetail, NotFoundError, ValidationError } from "./errors.ts";
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from "./command_list.ts";

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
  const details: ErrorDetail[] = [];
  const fail = (name: string, reason: string) => details.push({ path: `query.${name}`, reason });
  const one = (name: string): string | undefined => {
    const values = queries[name];
    if (!values) return undefined;
    if (values.length > 1) fail(name, "must be given at most once");
    return values[0];
  };
  for (const name of Object.keys(queries)) {
    if (!PARAMS.has(name)) fail(name, "is not a known parameter");
  }
  const filter: DeviceListFilter = { limit: LIST_DEFAULT_LIMIT };
  const online = one("online");
  if (online !== undefined) {
    if (online === "true" || online === "false") filter.online = online === "true";
    else fail("online", `must be true or false, got ${describeValue(online)}`);
  }
  const prefix = one("device_id");
  if (prefix !== undefined) {
    if (prefix.length > 64 || !DEVICE_ID_RE.test(prefix)) {
      fail(
        "device_id",
        `must be a device id prefix (1-64 of A-Z a-z 0-9 . _ -), got ${describeValue(prefix)}`,
      );
    } else filter.deviceIdPrefix = prefix;
  }
  const limit = one("limit");
  if (limit !== undefined) {
    const n = /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= LIST_MAX_LIMIT)) {
      fail("limit", `must be an integer 1-${LIST_MAX_LIMIT}, got ${describeValue(limit)}`);
    } else filter.limit = n;
  }
  const cursor = one("cursor");
  if (cursor !== undefined) {
    const after = decodeDeviceCursor(cursor);
    if (after === undefined) {
      fail("cursor", "is not a cursor this API issued (pass next_cursor as it came)");
    } else filter.after = after;
  }
  if (details.length > 0) {
    throw new ValidationError(
      "VALIDATION_FAILED",
      `Cannot list devices: ${details.map((d) => `${d.path} ${d.reason}`).join("; ")}`,
      details,
    );
  }
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
