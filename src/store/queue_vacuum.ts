// Vacuums the queue-like tables (outboxes, the in-flight set, nonces) every minute. Their rows
// live for milliseconds to minutes and are deleted by the million; with autovacuum off, or tuned
// for large tables (its default waits for 20 % of a table to be dead), their dead rows pile up
// and every scan of them slows down. Vacuuming them is cheap because they stay small; one process
// of a deployment does it at a time (an advisory lock).
import type { Sql } from "./db.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";

export const QUEUE_TABLES = [
  "command_outbox",
  "event_outbox",
  "in_flight_commands",
  "api_nonces",
] as const;

const LOCK_KEY = 0x646c7671; // "dlvq"

export interface QueueVacuum {
  /** Vacuums now (if no other process is); resolves with whether this one did. */
  run(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Starts vacuuming every `everyMs` through `session`: a client of one connection (`max: 1`) that
 * nothing else uses, handed over: stop() ends it. The advisory lock belongs to a session and VACUUM cannot run in a
 * transaction, so both need one connection outside a transaction; `sql.reserve()` would give one,
 * but postgres.js 3.4.9 crashes the process (an uncaught TypeError) when a reserved connection's
 * backend dies and the connection is used again (porsager/postgres#1208), as a PostgreSQL restart
 * does to a pass under way. A pool of one reconnects instead. */
export function startQueueVacuum(
  session: Sql,
  o: { clock: Clock; log: Logger; everyMs?: number },
): QueueVacuum {
  if (session.options.max !== 1) {
    throw new Error(
      `the queue vacuum needs a client of its own with one connection (max: 1), got max ${session.options.max}`,
    );
  }
  const everyMs = o.everyMs ?? 60_000;
  let stopped = false;
  let running: Promise<boolean> = Promise.resolve(false);
  let timer: unknown;

  async function vacuum(): Promise<boolean> {
    // Keyed by schema too: deployments (or test runs) in other schemas of one database vacuum
    // their own tables and must not skip theirs because this one holds the lock.
    const [{ locked }] = await session`
      select pg_try_advisory_lock(${LOCK_KEY}, hashtext(current_schema())) as locked`;
    if (!locked) return false;
    try {
      // No truncation: cutting a table's empty tail pages takes an ACCESS EXCLUSIVE lock and a
      // WAL flush while every accept waits to insert into these tables; they refill within
      // seconds, so the pages would come back anyway.
      await session.unsafe(`vacuum (analyze, truncate false) ${QUEUE_TABLES.join(", ")}`);
      return true;
    } finally {
      // After a lost session this unlocks nothing (the lock went with it); harmless.
      await session`select pg_advisory_unlock(${LOCK_KEY}, hashtext(current_schema()))`;
    }
  }

  const run = () =>
    running = running.then(vacuum).catch((err) => {
      o.log.warn("could not vacuum the queue tables; trying again in a minute", { err });
      return false;
    });
  const loop = () => {
    if (stopped) return;
    timer = o.clock.setTimeout(() => void run().finally(loop), everyMs);
  };
  loop();
  return {
    run,
    async stop() {
      stopped = true;
      o.clock.clearTimeout(timer);
      await running;
      await session.end({ timeout: 1 });
    },
  };
}
