// The CLI's `devices list|get`: the fleet as Downlink hears it (GET /devices), through the typed
// client and the credentials of api_credentials.ts. Lines for people; --json for programs.
import type { DeviceListQuery, DeviceView } from "../client/downlink_client.ts";
import { CREDENTIAL_OPTIONS } from "./api_credentials.ts";
import { type ApiCommand, EXIT, UsageError } from "./api_commands.ts";
import {
  bodyOf,
  listingLimit,
  oneId,
  optionString as str,
  PAGE_NOTES,
  pageOptions,
  printPages,
  resourceClient,
} from "./resource_commands.ts";

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
      ...pageOptions("devices"),
      ...CREDENTIAL_OPTIONS,
    },
    notes: PAGE_NOTES,
  },
  async run(o, positionals, io) {
    const limit = listingLimit(o, positionals);
    const online = str(o, "online");
    if (online !== undefined && online !== "true" && online !== "false") {
      throw new UsageError(`--online must be true or false, got ${JSON.stringify(online)}`);
    }
    const query: DeviceListQuery = {
      ...(online !== undefined ? { online: online === "true" } : {}),
      ...(str(o, "device") !== undefined ? { device_id: str(o, "device") } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    const client = resourceClient(o, io.env);
    await printPages(
      o,
      io,
      (cursor) => client.listDevices({ ...query, ...(cursor ? { cursor } : {}) }),
      deviceLine,
    );
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
    const id = oneId(positionals, "device", "devices get DOCK-1");
    io.out(JSON.stringify(bodyOf(await resourceClient(o, io.env).getDevice(id)), null, 2));
    return EXIT.SUCCEEDED;
  },
};

export const DEVICES_COMMANDS: Record<string, ApiCommand> = {
  "devices list": LIST,
  "devices get": GET,
};
