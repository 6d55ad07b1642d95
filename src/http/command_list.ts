// GET /api/v1/open/downlink/commands: the caller's tenant's commands, newest first, filtered,
// paginated with an opaque keyset cursor.
import { Buffer } from "node:buffer";
import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import { isUuid } from "../command/ids.ts";
import type { ListFilter, ListPosition } from "../store/command_list.ts";
import type { CommandStore } from "../store/command_store.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";
import { describeValue } from "../json/describe_value.ts";
import { DEVICE_ID } from "./command_request.ts";
import type { ApiEnv } from "./api_env.ts";
import { COMMANDS_PATH } from "./commands.ts";
import { cursorParam, limitParam, statusListParam } from "./list_query.ts";
import { defineRoute, param, type ParamValues, readQuery } from "./route.ts";
import { type CommandStatus, TERMINAL_STATUSES } from "../command/status.ts";

export const COMMAND_STATUSES: readonly CommandStatus[] = [
  "ACCEPTED",
  "DELIVERED",
  ...TERMINAL_STATUSES,
];

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

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

/** The query of GET /commands; checked in this order, every problem named as `query.<name>`. */
export const commandListQuery = {
  cannot: "Cannot list commands",
  strict: true,
  params: {
    limit: limitParam,
    status: statusListParam(COMMAND_STATUSES),
    device_id: param(Type.String({ maxLength: 64, pattern: DEVICE_ID }), {
      description: "Only this device's commands",
      rule: "must be a device id (1-64 of A-Z a-z 0-9 . _ -)",
    }),
    command_type: param(Type.String(), {
      description: "Only this command type",
      refine: (type: string, deps: { vendors: Pick<VendorRegistry, "adapters"> }) =>
        deps.vendors.adapters.some((v) => v.findCommand(type) !== undefined)
          ? { value: type }
          : { reason: `must be a command type of the catalog, got ${describeValue(type)}` },
    }),
    accepted_after: param(Type.String({ format: "date-time" }), {
      description: "RFC 3339, inclusive (send `+` as `%2B`)",
      rule: "must be an RFC 3339 date-time (e.g. 2026-04-22T12:00:00Z; send + as %2B)",
    }),
    accepted_before: param(Type.String({ format: "date-time" }), {
      description: "RFC 3339, exclusive",
      rule: "must be an RFC 3339 date-time (e.g. 2026-04-22T12:00:00Z; send + as %2B)",
    }),
    cursor: cursorParam(decodeCursor),
  },
};

/**
 * Reads the list query into a filter. Throws VALIDATION_FAILED listing every offending
 * parameter as `query.<name>` (unknown parameters too: a misspelt filter must not silently
 * widen the answer).
 */
export function parseListQuery(
  queries: Record<string, string[]>,
  vendors: Pick<VendorRegistry, "adapters">,
): ListFilter {
  return listFilter(readQuery(commandListQuery, queries, { vendors }));
}

function listFilter(q: ParamValues<typeof commandListQuery.params>): ListFilter {
  const filter: ListFilter = { limit: q.limit };
  if (q.status) filter.statuses = q.status;
  if (q.device_id !== undefined) filter.deviceId = q.device_id;
  if (q.command_type !== undefined) filter.commandType = q.command_type;
  if (q.accepted_after !== undefined) filter.acceptedFrom = q.accepted_after;
  if (q.accepted_before !== undefined) filter.acceptedBefore = q.accepted_before;
  if (q.cursor) filter.after = q.cursor;
  return filter;
}

/** GET /commands: a page of the tenant's commands. */
export const listCommandsRoute = defineRoute({
  method: "get",
  path: COMMANDS_PATH,
  operationId: "listCommands",
  summary: "The tenant's commands, newest first (scope open:command:read)",
  scope: "open:command:read",
  query: commandListQuery,
  responses: { "200": { description: "One page", schema: "CommandList" }, "400": "BadRequest" },
  async handle(
    c: Context<ApiEnv>,
    { query },
    deps: { commands: CommandStore; vendors: Pick<VendorRegistry, "adapters"> },
  ) {
    const page = await deps.commands.listCommands(c.get("client").tenant_id, listFilter(query));
    return c.json(
      page.next
        ? { items: page.items, next_cursor: encodeCursor(page.next) }
        : { items: page.items },
    );
  },
});
