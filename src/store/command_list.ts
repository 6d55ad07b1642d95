// A tenant's commands, newest first, filtered, one keyset page at a time: walks the index
// commands_tenant_accepted (tenant_id, accepted_at desc, command_id desc).
import { type CommandView, PROGRESS_COLUMN, toCommandView } from "./command_view.ts";
import type { Sql } from "./db.ts";
import type { CommandStatus } from "../command/status.ts";

/** Where a page ended: the last row's accepted_at (RFC 3339, microseconds) and command id. */
export interface ListPosition {
  acceptedAt: string;
  commandId: string;
}

export interface ListFilter {
  statuses?: readonly CommandStatus[];
  deviceId?: string;
  commandType?: string;
  /** RFC 3339, inclusive. */
  acceptedFrom?: string;
  /** RFC 3339, exclusive. */
  acceptedBefore?: string;
  /** 1-200. */
  limit: number;
  /** Rows strictly older than this position (the previous page's end). */
  after?: ListPosition;
}

export interface CommandPage {
  items: CommandView[];
  /** The last item's position when more rows follow, else undefined. */
  next?: ListPosition;
}

type Row = Parameters<typeof toCommandView>[0] & { position_at: string };

/** One page of `tenantId`'s commands matching `filter`, newest first. */
export async function listCommandPage(
  sql: Sql,
  tenantId: string,
  filter: ListFilter,
): Promise<CommandPage> {
  const { statuses, deviceId, commandType, acceptedFrom, acceptedBefore, after } = filter;
  // accepted_at travels in the cursor as text with microseconds: a JS Date keeps only
  // milliseconds, and a truncated position would skip or repeat rows. Times are bound as
  // ::text::timestamptz because postgres.js sends a timestamptz parameter through Date.
  const rows = await sql<Row[]>`
    select command_id, status, vendor, device_id, command_type, response_code,
           response_message, vendor_response, failure_code, failure_reason, timeout_seconds,
           accepted_at, delivered_at, response_received_at, completed_at, deadline_at,
           updated_at, ${sql.unsafe(PROGRESS_COLUMN)},
           to_char(accepted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position_at
    from commands
    where tenant_id = ${tenantId}
      ${statuses?.length ? sql`and status in ${sql(statuses as CommandStatus[])}` : sql``}
      ${deviceId !== undefined ? sql`and device_id = ${deviceId}` : sql``}
      ${commandType !== undefined ? sql`and command_type = ${commandType}` : sql``}
      ${
    acceptedFrom !== undefined ? sql`and accepted_at >= ${acceptedFrom}::text::timestamptz` : sql``
  }
      ${
    acceptedBefore !== undefined
      ? sql`and accepted_at < ${acceptedBefore}::text::timestamptz`
      : sql``
  }
      ${
    after
      ? sql`and (accepted_at, command_id) < (${after.acceptedAt}::text::timestamptz, ${after.commandId}::uuid)`
      : sql``
  }
    order by accepted_at desc, command_id desc
    limit ${filter.limit + 1}`;
  const more = rows.length > filter.limit;
  const page = more ? rows.slice(0, filter.limit) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(toCommandView),
    next: more && last ? { acceptedAt: last.position_at, commandId: last.command_id } : undefined,
  };
}
