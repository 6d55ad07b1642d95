// GET /api/v1/open/downlink/commands: the caller's tenant's commands, newest first, filtered,
// paginated with an opaque keyset cursor.
import { Buffer } from "node:buffer";
import { Hono } from "hono";
import { isUuid } from "../ids.ts";
import type { ListFilter, ListPosition } from "../store/command_list.ts";
import type { CommandStore } from "../store/command_store.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";
import { describeValue } from "../json/describe_value.ts";
import { requireScope } from "./auth.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./commands.ts";
import { readListQuery } from "./list_query.ts";
import { type CommandStatus, TERMINAL_STATUSES } from "../command/status.ts";

export const COMMAND_STATUSES: readonly CommandStatus[] = [
  "ACCEPTED",
  "DELIVERED",
  ...TERMINAL_STATUSES,
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DEVICE_ID_RE = new RegExp(DEVICE_ID);
const PARAMS = new Set([
  "status",
  "device_id",
  "command_type",
  "accepted_after",
  "accepted_before",
  "limit",
  "cursor",
]);

/** The opaque cursor: base64url of `accepted_at|command_id` of the previous page's last item. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(`${position.acceptedAt}|${position.commandId}`, "utf8").toString("base64url");
}

/** The position inside a cursor, or undefined when the cursor is not one we issued. */
export function decodeCursor(cursor: string): ListPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  const [acceptedAt, commandId, extra] = Buffer.from(cursor, "base64url").toString("utf8").split(
    "|",
  );
  if (extra !== undefined || !CURSOR_AT.test(acceptedAt ?? "") || !isUuid(commandId ?? "")) {
    return undefined;
  }
  if (Number.isNaN(Date.parse(acceptedAt))) return undefined;
  return { acceptedAt, commandId };
}

/**
 * Reads the list query into a filter. Throws VALIDATION_FAILED listing every offending
 * parameter as `query.<name>` (unknown parameters too: a misspelt filter must not silently
 * widen the answer).
 */
export function parseListQuery(
  queries: Record<string, string[]>,
  vendor: Pick<VendorAdapter, "findCommand">,
): ListFilter {
  const q = readListQuery(queries, PARAMS);
  const filter: ListFilter = { limit: q.limit() };
  const status = q.all("status");
  if (status) {
    const statuses = status.flatMap((v) => v.split(",")).map((s) => s.trim());
    const unknown = statuses.filter((s) => !(COMMAND_STATUSES as string[]).includes(s));
    if (unknown.length > 0) {
      q.fail(
        "status",
        `must be a comma-separated list of ${COMMAND_STATUSES.join(", ")}, got ${
          describeValue(unknown[0])
        }`,
      );
    } else {
      filter.statuses = [...new Set(statuses)] as CommandStatus[];
    }
  }
  const deviceId = q.one("device_id");
  if (deviceId !== undefined) {
    if (deviceId.length > 64 || !DEVICE_ID_RE.test(deviceId)) {
      q.fail(
        "device_id",
        `must be a device id (1-64 of A-Z a-z 0-9 . _ -), got ${describeValue(deviceId)}`,
      );
    } else filter.deviceId = deviceId;
  }
  const commandType = q.one("command_type");
  if (commandType !== undefined) {
    if (!vendor.findCommand(commandType)) {
      q.fail(
        "command_type",
        `must be a command type of the catalog, got ${describeValue(commandType)}`,
      );
    } else filter.commandType = commandType;
  }
  for (
    const [name, key] of [["accepted_after", "acceptedFrom"], [
      "accepted_before",
      "acceptedBefore",
    ]] as const
  ) {
    const value = q.one(name);
    if (value === undefined) continue;
    if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      q.fail(
        name,
        `must be an RFC 3339 date-time (e.g. 2026-04-22T12:00:00Z; send + as %2B), got ${
          describeValue(value)
        }`,
      );
    } else filter[key] = value;
  }
  const after = q.cursor(decodeCursor);
  if (after) filter.after = after;
  q.done("commands");
  return filter;
}

export function commandListRoutes(
  deps: { commands: CommandStore; vendor: VendorAdapter },
): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get("/", async (c) => {
    const client = c.get("client");
    requireScope(client, "open:command:read");
    const filter = parseListQuery(c.req.queries() ?? {}, deps.vendor);
    const page = await deps.commands.listCommands(client.tenant_id, filter);
    return c.json(
      page.next
        ? { items: page.items, next_cursor: encodeCursor(page.next) }
        : { items: page.items },
    );
  });
  return routes;
}
