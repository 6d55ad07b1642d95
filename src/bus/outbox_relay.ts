// Carries committed commands from the Postgres outbox to their shards: the `command.accepted`
// event, then the dispatch through the link (JetStream, or the shard of this process), then
// deletes the outbox rows of what JetStream stored.
import { createGroupCommit } from "../store/group_commit.ts";
import type { RoleContext } from "../role_context.ts";
import type { AcceptedCommand } from "../store/accept_batch.ts";
import { createCommandOutbox, type OutboxRow } from "../store/command_outbox.ts";
import type { Dispatch, DispatchCarried, Link } from "../link/link.ts";
import { acceptedEvent, storedEvent } from "../command/lifecycle_event.ts";

export interface OutboxRelayOptions {
  batchSize?: number;
  /** Poll interval: what a crash or a failed carry left in the outbox still gets carried. */
  pollMs?: number;
  /** What carries a dispatch to its shard. */
  link: Pick<Link, "dispatch">;
}

export interface OutboxRelay {
  /** Carries a command this process just committed, straight from memory: no outbox read.
   * Its outbox row is deleted once JetStream has both messages (or, when the link handed the
   * command to a shard directly, by the command's first transition); if anything fails, the row
   * stays and a pass carries it. */
  carry(command: AcceptedCommand): void;
  /** Runs passes until the outbox is empty (or a pass fails); resolves with rows carried. */
  drain(): Promise<number>;
  /** Rows this relay has carried since it started. */
  carried(): number;
  stop(): Promise<void>;
}

/** A row this process committed: it knows whether its outbox row is held for a hand-over. */
type CarriedRow = OutboxRow & Partial<Pick<AcceptedCommand, "outbox_hold_seconds">>;

/** What the shard needs of a command. */
function dispatchOf(row: OutboxRow): Dispatch {
  return {
    partition: row.partition,
    payload_enc: row.payload_enc,
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

type RelayContext = Pick<
  RoleContext,
  "sql" | "events" | "log" | "clock" | "config"
>;

/** Starts the relay; its first pass carries whatever a crash left in the outbox. */
export async function startOutboxRelay(
  ctx: RelayContext,
  { batchSize = 200, pollMs = 1_000, link }: OutboxRelayOptions,
): Promise<OutboxRelay> {
  const { sql, events, log, clock } = ctx;
  const outbox = createCommandOutbox(sql);
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let failing = false;
  let carried = 0;
  const carrying = new Set<Promise<void>>();

  // Pipelined, but every accepted event is stored before any dispatch is sent, so no later
  // event of a command can overtake its accepted event.
  const publish = async (
    rows: readonly CarriedRow[],
    recovered: boolean,
  ): Promise<DispatchCarried[]> => {
    await Promise.all(rows.map((r) => events.publish(storedEvent(acceptedEvent(r)))));
    return await Promise.all(
      rows.map((r) =>
        link.dispatch(dispatchOf(r), { held: (r.outbox_hold_seconds ?? 0) > 0, recovered })
      ),
    );
  };

  // The fast path: commands committed by this process, carried from memory in batches.
  const inFlight = new Set<string>();
  const carryNow = async (taken: CarriedRow[]) => {
    let carriedHow: DispatchCarried[];
    try {
      carriedHow = await publish(taken, false);
    } catch (err) {
      // The rows stay in the outbox; the next pass carries them.
      for (const r of taken) inFlight.delete(r.command_id);
      log.warn("carrying accepted commands failed; the outbox poll will retry", {
        err,
        commands: taken.length,
      });
      return;
    }
    carried += taken.length;
    // A row whose command a shard hosted straight from the link is deleted by the command's
    // first transition (the row was held for that at accept).
    const stored: string[] = [];
    taken.forEach((r, i) => {
      if (carriedHow[i] === "stored") stored.push(r.command_id);
      else inFlight.delete(r.command_id);
    });
    if (stored.length > 0) await deleteCarried(stored);
  };
  // The commands of one event-loop turn are carried together; batches do not wait for each
  // other (each publishes its accepted events before its dispatches).
  const toCarry = createGroupCommit<CarriedRow>((taken) => {
    const p = carryNow(taken).finally(() => carrying.delete(p));
    carrying.add(p);
    return p;
  }, { concurrency: Infinity });
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
    outbox.carryDue(() => [...inFlight], batchSize, async (rows) => {
      await publish(rows, true);
    });

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
      toCarry.add(command as CarriedRow);
    },
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
