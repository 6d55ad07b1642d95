// The command outbox (see migrations): a row per committed command not yet carried to
// JetStream. The accept writes it; the outbox relay carries what it holds and deletes it here.
import type { Sql } from "./db.ts";
import type { CommandChannel } from "../command/channel.ts";
import type { AcceptedCommand } from "./accept_batch.ts";

/** What a relay carries of a command: all its shard needs, its payload still sealed. */
export type OutboxRow =
  & Pick<
    AcceptedCommand,
    | "command_id"
    | "tenant_id"
    | "client_id"
    | "vendor"
    | "device_id"
    | "command_type"
    | "partition"
    | "bid"
    | "timeout_seconds"
    | "accepted_at"
    | "deadline_at"
    | "payload_enc"
  >
  & { channel: CommandChannel };

export interface CommandOutbox {
  /** In one transaction: locks up to `limit` rows due now (other relays skip them, and so are
   * the commands `skip` names once the transaction has begun), hands them to `carry`, and
   * deletes them once it resolves; when it throws, the rows stay. Resolves with the number
   * carried. */
  carryDue(
    skip: () => readonly string[],
    limit: number,
    carry: (rows: readonly OutboxRow[]) => Promise<void>,
  ): Promise<number>;
  /** Deletes the rows of commands carried outside a `carryDue`. */
  remove(commandIds: readonly string[]): Promise<void>;
}

export function createCommandOutbox(sql: Sql): CommandOutbox {
  return {
    carryDue: (skip, limit, carry) =>
      sql.begin(async (tx) => {
        const skipped = skip() as string[];
        const rows = await tx<OutboxRow[]>`
          select c.command_id, c.tenant_id, c.client_id, c.vendor, c.device_id, c.command_type,
                 c.channel, c.partition, c.bid, c.timeout_seconds, c.accepted_at, c.deadline_at,
                 c.payload_enc
          from command_outbox o join commands c on c.command_id = o.command_id
          where o.carry_after <= now() and not (o.command_id = any(${skipped}::uuid[]))
          order by o.carry_after, o.command_id
          limit ${limit}
          for update of o skip locked`;
        if (rows.length === 0) return 0;
        await carry(rows);
        await tx`delete from command_outbox where command_id = any(${
          rows.map((r) => r.command_id)
        }::uuid[])`;
        return rows.length;
      }),
    async remove(commandIds) {
      await sql`delete from command_outbox where command_id = any(${commandIds as string[]}::uuid[])`;
    },
  };
}
