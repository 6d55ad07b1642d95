// Carries committed commands from the Postgres outbox to JetStream: the `command.accepted`
// event, then the CommandDispatch to the device's shard, then deletes the outbox rows. A command
// whose partition the shard of this process hosts is handed to it directly instead.
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import type { RoleContext } from "../role_context.ts";
import type { CommandDispatch } from "./messages.ts";
import type { AcceptedCommand } from "../store/accept_batch.ts";
import { createCommandOutbox, type OutboxRow } from "../store/command_outbox.ts";
import type { LocalDispatch, LocalShard } from "../local_link.ts";
import { acceptedEvent, storedEvent } from "../command/lifecycle_event.ts";

export interface OutboxRelayOptions {
  batchSize?: number;
  /** Safety-net poll interval: a wake-up lost with a process still gets carried. */
  pollMs?: number;
  /** The shard of this process: commands of the partitions it hosts skip JetStream. */
  shard?: LocalShard;
}

/** How long the outbox row of a command handed to the shard next door waits for the commit that
 * deletes it (its first transition) before a pass carries it through JetStream. Normally that
 * commit comes within milliseconds; the row outlives it only if the process lost the device's
 * partition before hosting the command (then the new owner gets it this late), or while the
 * command cannot be delivered (then the carried copy is a duplicate the shard drops). */
export const IN_PROCESS_OUTBOX_HOLD_SECONDS = 10;

export interface OutboxRelay {
  /** Carries a command this process just committed, straight from memory: no outbox read.
   * Its outbox row is deleted once JetStream has both messages; if anything fails, the row
   * stays and a pass carries it. */
  carry(command: AcceptedCommand): void;
  /** Asks for a pass now (coalesced with one already running). */
  wake(): void;
  /** Runs passes until the outbox is empty (or a pass fails); resolves with rows carried. */
  drain(): Promise<number>;
  /** Rows this relay has carried since it started. */
  carried(): number;
  stop(): Promise<void>;
}

/** A row this process committed: it knows whether the outbox row is held for its own shard. */
type CarriedRow = OutboxRow & Pick<AcceptedCommand, "outbox_hold_seconds">;

/** What the shard needs of a command besides its sealed payload. */
function hostingFields(row: OutboxRow): Omit<CommandDispatch, "kind" | "payload_enc"> {
  return {
    command_id: row.command_id,
    tenant_id: row.tenant_id,
    client_id: row.client_id,
    vendor: row.vendor,
    device_id: row.device_id,
    command_type: row.command_type,
    channel: row.channel,
    bid: row.bid,
    timeout_seconds: row.timeout_seconds,
    accepted_at: row.accepted_at.getTime(),
    deadline_at: row.deadline_at.getTime(),
  };
}

function dispatchOf(row: OutboxRow, recovered: boolean): CommandDispatch {
  return {
    kind: "command",
    ...hostingFields(row),
    payload_enc: Buffer.from(row.payload_enc).toString("base64"),
    ...(recovered ? { recovered: true } : {}),
  };
}

function localDispatchOf(row: OutboxRow): LocalDispatch {
  return { ...hostingFields(row), partition: row.partition, payload_enc: row.payload_enc };
}

type RelayContext = Pick<
  RoleContext,
  "sql" | "names" | "events" | "log" | "clock" | "config" | "publisher"
>;

/** Starts the relay; its first pass carries whatever a crash left in the outbox. */
export async function startOutboxRelay(
  ctx: RelayContext,
  { batchSize = 200, pollMs = 1_000, shard }: OutboxRelayOptions = {},
): Promise<OutboxRelay> {
  const { sql, names, events, log, clock, publisher } = ctx;
  const outbox = createCommandOutbox(sql);
  const encoder = new TextEncoder();
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let failing = false;
  let carried = 0;
  const carrying = new Set<Promise<void>>();

  // Pipelined, but every accepted event is stored before any dispatch is sent, so no later
  // event of a command can overtake its accepted event.
  const publish = async (rows: readonly OutboxRow[], recovered: boolean) => {
    await Promise.all(rows.map((r) => events.publish(storedEvent(acceptedEvent(r)))));
    await Promise.all(rows.map((r) =>
      publisher.publish(
        names.commandSubject(r.partition, r.device_id),
        encoder.encode(JSON.stringify(dispatchOf(r, recovered))),
        r.command_id,
      )
    ));
  };

  // The fast path: commands committed by this process, carried from memory in batches.
  const inFlight = new Set<string>();
  let toCarry: CarriedRow[] = [];
  const carryNow = async () => {
    const taken = toCarry;
    toCarry = [];
    let rows: OutboxRow[] = taken;
    try {
      if (shard) rows = await handOver(taken);
      if (rows.length > 0) await publish(rows, false);
    } catch (err) {
      // The rows stay in the outbox; the next pass carries them.
      for (const r of rows) inFlight.delete(r.command_id);
      log.warn("carrying accepted commands failed; the outbox poll will retry", {
        err,
        commands: rows.length,
      });
      return;
    }
    carried += rows.length;
    if (rows.length > 0) await deleteCarried(rows.map((r) => r.command_id));
  };
  // Hands the commands whose outbox rows were held for it to the shard next door, once their
  // accepted events are stored (no later event may overtake them); returns the rest.
  const handOver = async (rows: CarriedRow[]): Promise<OutboxRow[]> => {
    const held = rows.filter((r) => r.outbox_hold_seconds > 0);
    if (held.length === 0) return rows;
    await Promise.all(held.map((r) => events.publish(storedEvent(acceptedEvent(r)))));
    const rest = rows.filter((r) => r.outbox_hold_seconds === 0);
    for (const r of held) {
      inFlight.delete(r.command_id);
      // The partition may have moved since the accept: then JetStream takes it to its owner
      // (the accepted event is stored already; its re-publish is deduplicated).
      if (shard!.dispatch(localDispatchOf(r))) carried++;
      else rest.push(r);
    }
    return rest;
  };
  const deleteCarried = async (ids: string[]) => {
    try {
      await outbox.remove(ids);
    } catch (err) {
      // Harmless: a pass will carry them again and JetStream drops the duplicates (msgID).
      log.warn("could not clear carried outbox rows", { err, commands: ids.length });
    } finally {
      for (const id of ids) inFlight.delete(id);
    }
  };

  // One pass: lock a batch (other relays skip it), publish, delete, commit. A failure rolls
  // back, leaving the rows for the next pass; JetStream's msgID dedupes what was published.
  // Rows this process is carrying right now are skipped; a row carried by a pass is marked
  // recovered, so the shard checks it against Postgres before hosting it.
  const pass = (): Promise<number> =>
    outbox.carryDue(() => [...inFlight], batchSize, (rows) => publish(rows, true));

  const drain = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        do {
          again = false;
          for (;;) {
            if (stopped) break;
            const n = await pass();
            total += n;
            carried += n;
            if (n < batchSize) break;
          }
        } while (again && !stopped);
        if (failing) log.info("outbox relay recovered");
        failing = false;
      } catch (err) {
        if (!failing) log.warn("outbox relay pass failed; retrying", { err });
        failing = true;
      } finally {
        running = undefined;
      }
      return total;
    })();
    return running;
  };

  const wake = () => {
    if (!stopped) void drain();
  };

  let timer: unknown;
  const tick = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      wake();
      tick();
    }, pollMs);
  };
  tick();
  await drain();

  return {
    carry(command) {
      if (stopped) return;
      inFlight.add(command.command_id);
      if (toCarry.length === 0) {
        setImmediate(() => {
          const p = carryNow().finally(() => carrying.delete(p));
          carrying.add(p);
        });
      }
      toCarry.push(command as CarriedRow);
    },
    wake,
    drain,
    carried: () => carried,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await running;
      await Promise.allSettled([...carrying]);
    },
  };
}
