// Whether Postgres answers, as the API sees it. A statement that cannot reach Postgres, or gets
// no answer within its deadline, closes the gate; while it is closed, API requests that need
// Postgres are refused at once (503) instead of queueing behind dead connections, and a probe
// reopens it as soon as Postgres answers again.
import { type Logger, silentLogger } from "../runtime/log.ts";
import { type Clock, systemClock } from "../async/time.ts";
import { dropConnections, type Sql } from "./db.ts";

/** Postgres is unreachable, or did not answer in time; nothing of the statement committed. */
export class PostgresUnavailableError extends Error {
  override name = "PostgresUnavailableError";
  readonly code = "POSTGRES_UNAVAILABLE";
}

export interface PostgresGateOptions {
  /** The host's real clock (the default), not a clock a test moves by hand: the guard compares
   * its times with Postgres' own clock. */
  clock?: Clock;
  log?: Logger;
  /** How long an API statement may take, queueing included, before it is answered 503
   * (default 750 ms). */
  deadlineMs?: number;
  /** How many API statements may wait for their batch; beyond, 503 at once (default 2,000). */
  maxQueued?: number;
  /** How often a closed gate asks Postgres whether it is back (default 200 ms). */
  probeEveryMs?: number;
  /** A pool of its own for the probe (one connection): asked through the API's pool, the probe
   * would queue behind the shard's statements under load and read a busy pool as Postgres
   * gone (default: the gated pool). */
  probeSql?: Sql;
}

/** A statement as postgres.js returns it: a promise that can be cancelled. */
type Statement<T> = Promise<T> & { cancel?: () => unknown };

export interface PostgresGate {
  /** False from a failure to reach Postgres until a probe got an answer again. */
  readonly available: boolean;
  readonly deadlineMs: number;
  readonly maxQueued: number;
  /** Throws PostgresUnavailableError while the gate is closed. */
  enter(): void;
  /** Epoch ms by which a statement queued now must be answered. */
  deadline(): number;
  /**
   * Runs an API statement: refused at once while the gate is closed; past `deadline` (epoch ms)
   * it is cancelled, the gate closes and the caller gets PostgresUnavailableError. Whether a
   * write that was sent can still commit afterwards is the statement's business: see guard().
   */
  run<T>(statement: () => Statement<T>, deadline?: number): Promise<T>;
  /**
   * When a write answered 503 at `deadline` must be started by at the latest, or a statement
   * started later could commit after the 503. Undefined when that time has passed (the statement
   * must not be sent).
   */
  notAfter(deadline: number): number | undefined;
  /**
   * The one-row CTE body a write selects its rows through: `in_time` is false when Postgres
   * starts it after `notAfter` (then it must write nothing and say so), and it sets lock_timeout
   * for the rest of the statement, so no lock wait carries it past its deadline.
   */
  guard(notAfter: number): ReturnType<Sql>;
  /** For /readyz: Postgres answers `select 1` within the deadline. */
  check(): Promise<boolean>;
  /** Stops probing. */
  close(): void;
}

/**
 * The gate of the API's statements on `sql` (a pool made by createSql: when Postgres does not
 * answer the gate's probe in time either, the pool's connections are dropped, since they may be
 * dead without knowing it).
 */
export function createPostgresGate(
  sql: Sql,
  {
    clock = systemClock,
    log = silentLogger,
    deadlineMs = 750,
    maxQueued = 2_000,
    probeEveryMs = 200,
    probeSql = sql,
  }: PostgresGateOptions = {},
): PostgresGate {
  // A write Postgres has started waits for a lock at most lock_timeout (the accept waits at most
  // twice: a nonce row, then a key's index entry) and otherwise runs for milliseconds. It must
  // start by deadline - (2 lock_timeout + margin): then it has committed, or never will, by the
  // time we answer 503. The margin also covers the clocks of this host and of Postgres (NTP
  // keeps them within milliseconds); with Postgres' clock ahead by more, writes are refused as
  // late (503, and a warning), never committed late.
  const lockTimeoutMs = Math.max(1, Math.round(deadlineMs / 8));
  const startBeforeEndMs = 2 * lockTimeoutMs + Math.round(deadlineMs / 4);
  let available = true;
  let closed = false;
  let probing: unknown;

  const late = (ms: number) =>
    new PostgresUnavailableError(`Postgres did not answer within ${ms} ms`);

  function shut(reason: unknown) {
    // A statement without an answer may sit on a connection whose peer is gone, or Postgres may
    // only be slow (a burst, a checkpoint): the probe tells them apart, and drops the pool's
    // connections only when Postgres does not answer it either. Dropping them on every late
    // answer would also cut the shard's and the relay's statements on this pool under load.
    if (!available || closed) return;
    available = false;
    log.warn("Postgres unreachable; API requests are refused until it answers", { err: reason });
    probe();
  }

  function probe() {
    probing = clock.setTimeout(async () => {
      if (closed) return;
      try {
        await race(() => probeSql`select 1` as Statement<unknown>, clock.now() + deadlineMs);
        available = true;
        log.info("Postgres answers again; API requests are served");
      } catch (err) {
        if (err instanceof PostgresUnavailableError) {
          dropConnections(sql);
          if (probeSql !== sql) dropConnections(probeSql);
        }
        probe();
      }
    }, probeEveryMs);
  }

  async function race<T>(statement: () => Statement<T>, deadline: number): Promise<T> {
    const ms = Math.max(0, deadline - clock.now());
    const query = statement();
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(late(ms)), ms);
    });
    try {
      return await Promise.race([query, timeout]);
    } catch (err) {
      if (err instanceof PostgresUnavailableError) {
        // Not sent yet: postgres.js drops it from its queue, and it is never sent. Sent: a
        // cancel request, which may not get through either; guard() covers that case.
        query.catch(() => {});
        Promise.resolve(query.cancel?.()).catch(() => {});
      }
      throw err;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  const gate: PostgresGate = {
    get available() {
      return available;
    },
    deadlineMs,
    maxQueued,
    enter() {
      if (!available) throw new PostgresUnavailableError("Postgres is unreachable");
    },
    deadline: () => clock.now() + deadlineMs,
    async run(statement, deadline = clock.now() + deadlineMs) {
      gate.enter();
      try {
        return await race(statement, deadline);
      } catch (err) {
        if (err instanceof PostgresUnavailableError || unreachable(err)) shut(err);
        throw err;
      }
    },
    notAfter(deadline) {
      const at = deadline - startBeforeEndMs;
      return at > clock.now() ? at : undefined;
    },
    guard(notAfter) {
      return sql`
        select clock_timestamp() <= ${new Date(notAfter).toISOString()}::timestamptz as in_time,
               set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true) as lock_timeout`;
    },
    check: () => gate.run(() => sql`select 1` as Statement<unknown>).then(() => true, () => false),
    close() {
      closed = true;
      clock.clearTimeout(probing);
    },
  };
  return gate;
}

/**
 * A gate that is always open and has no deadline: for stores used outside the API (tests of
 * the store itself, the CLI), where waiting for Postgres is what the caller wants.
 */
export function ungated(sql: Sql): PostgresGate {
  return {
    available: true,
    deadlineMs: Infinity,
    maxQueued: Infinity,
    enter() {},
    deadline: () => Infinity,
    run: (statement) => statement(),
    notAfter: () => Infinity,
    guard: () => sql`select true as in_time`,
    check: () => sql`select 1`.then(() => true, () => false),
    close() {},
  };
}

/** True when `err` says Postgres could not be reached or went away (postgres.js' own codes, the
 * socket's, SQLSTATE class 08 and the server shutting down), not that it refused a statement. */
function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" &&
    /^(CONNECTION_[A-Z]+|CONNECT_TIMEOUT|E[A-Z_]{3,}|08...|57P0[123]|53300)$/.test(code);
}
