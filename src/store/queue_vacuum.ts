// Vacuums the queue-like tables (outboxes, the in-flight set, nonces) every minute. Their rows
// live for milliseconds to minutes and are deleted by the million; with autovacuum off, or tuned
// for large tables (its default waits for 20 % of a table to be dead), their dead rows pile up
// and every scan of them slows down. Vacuuming them is cheap because they stay small; one process
// of a deployment does it at a time (an advisory lock).
import type { Sql } from "./db.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../time.ts";

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

export function startQueueVacuum(
  sql: Sql,
  o: { clock: Clock; log: Logger; everyMs?: number },
): QueueVacuum {
  const everyMs = o.everyMs ?? 60_000;
  let stopped = false;
  let running: Promise<boolean> = Promise.resolve(false);
  let timer: unknown;

  async function vacuum(): Promise<boolean> {
    // VACUUM cannot run in a transaction, and a session's advisory lock belongs to its
    // connection: one reserved connection does both.
    const conn = await sql.reserve();
    try {
      // Keyed by schema too: deployments (or test runs) in other schemas of one database vacuum
      // their own tables and must not skip theirs because this one holds the lock.
      const [{ locked }] = await conn`
        select pg_try_advisory_lock(${LOCK_KEY}, hashtext(current_schema())) as locked`;
      if (!locked) return false;
      try {
        // No truncation: cutting a table's empty tail pages takes an ACCESS EXCLUSIVE lock and a
        // WAL flush while every accept waits to insert into these tables; they refill within
        // seconds, so the pages would come back anyway.
        await conn.unsafe(`vacuum (analyze, truncate false) ${QUEUE_TABLES.join(", ")}`);
        return true;
      } finally {
        await conn`select pg_advisory_unlock(${LOCK_KEY}, hashtext(current_schema()))`;
      }
    } finally {
      conn.release();
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
    },
  };
}
