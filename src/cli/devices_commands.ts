// The CLI's `devices list|get`: the fleet as Downlink hears it (GET /devices), through the typed
// client and the credentials of api_credentials.ts. Lines for people; --json for programs.
import { apiError } from "../client/api_errors.ts";
import {
  createDownlinkClient,
  type DeviceListQuery,
  type DeviceView,
  type DownlinkResponse,
} from "../client/downlink_client.ts";
import { CREDENTIAL_OPTIONS, resolveCredentials } from "./api_credentials.ts";
import { type ApiCommand, EXIT, type Options, UsageError } from "./api_commands.ts";

function ok<T>(res: DownlinkResponse<T>): T {
  if (res.status >= 200 && res.status < 300) return res.body;
  throw apiError(res.status, res.body, res.headers);
}

const str = (o: Options, name: string) => typeof o[name] === "string" ? o[name] : undefined;

function api(o: Options, env: Record<string, string | undefined>) {
  return createDownlinkClient(resolveCredentials(o as Record<string, string | undefined>, env));
}

/** One device as a line: id, kind, model, online or offline since when, and what it holds. */
export function deviceLine(d: DeviceView): string {
  const state = d.online
    ? `online since ${d.online_since ?? "?"}`
    : `offline, last seen ${d.last_seen_at ?? "never"}`;
  const holds = d.kind === "gateway"
    ? `  aircraft=${d.sub_devices?.map((s) => s.device_id).join(",") || "none"}`
    : `  gateway=${d.gateway_sn ?? "?"}`;
  return `${d.device_id}  ${d.kind}  ${d.model ?? "(unknown model)"}  ${state}${holds}`;
}

const LIST: ApiCommand = {
  spec: {
    description: "Lists the devices the client's grants cover, by device id. One line each: " +
      "device_id, kind, model, online since or last seen, its aircraft or gateway.",
    options: {
      online: { value: "true|false", help: "only online (or offline) devices" },
      device: { value: "PREFIX", help: "only devices whose id starts with this" },
      limit: { value: "N", help: "devices per page, 1-200 (default 50)" },
      cursor: { value: "C", help: "start after this page (a previous next_cursor)" },
      all: { help: "every page, not only the first" },
      json: { help: "print JSON (one object per line) instead of lines for people" },
      ...CREDENTIAL_OPTIONS,
    },
    notes: ["Without --all, a further page is announced on stderr with its --cursor."],
  },
  async run(o, positionals, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
    }
    const online = str(o, "online");
    if (online !== undefined && online !== "true" && online !== "false") {
      throw new UsageError(`--online must be true or false, got ${JSON.stringify(online)}`);
    }
    const limit = str(o, "limit");
    if (limit !== undefined && !/^\d+$/.test(limit)) {
      throw new UsageError(`--limit must be a whole number, got ${JSON.stringify(limit)}`);
    }
    const query: DeviceListQuery = {
      ...(online !== undefined ? { online: online === "true" } : {}),
      ...(str(o, "device") !== undefined ? { device_id: str(o, "device") } : {}),
      ...(limit !== undefined ? { limit: Number(limit) } : {}),
    };
    const client = api(o, io.env);
    let cursor = str(o, "cursor");
    do {
      const page = ok(await client.listDevices({ ...query, ...(cursor ? { cursor } : {}) }));
      for (const d of page.items) io.out(o.json === true ? JSON.stringify(d) : deviceLine(d));
      cursor = page.next_cursor;
      if (o.all !== true) {
        if (cursor) io.err(`more: add --cursor ${cursor} (or --all)`);
        break;
      }
    } while (cursor);
    return EXIT.SUCCEEDED;
  },
};

const GET: ApiCommand = {
  spec: {
    description: "Prints one device as JSON (404 DEVICE_NOT_FOUND when unknown or not granted).",
    arguments: "<device_id>",
    options: { ...CREDENTIAL_OPTIONS },
  },
  async run(o, positionals, io) {
    const id = positionals[0];
    if (!id) throw new UsageError("give the device id, e.g. devices get DOCK-1");
    if (positionals.length > 1) throw new UsageError(`one device id, got ${positionals.length}`);
    io.out(JSON.stringify(ok(await api(o, io.env).getDevice(id)), null, 2));
    return EXIT.SUCCEEDED;
  },
};

export const DEVICES_COMMANDS: Record<string, ApiCommand> = {
  "devices list": LIST,
  "devices get": GET,
};
