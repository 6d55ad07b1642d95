// The nonces of signed requests, shared by every API instance through Postgres. Claims queued
// while the previous batch was committing share one statement (group commit), and a periodic
// prune deletes the nonces whose retention has passed. A claim answered 503 (see postgres_gate.ts)
// is never committed later, so its nonce stays unspent for the client's retry.
import { type Logger, silentLogger } from "../runtime/log.ts";
import { createGroupCommit } from "./group_commit.ts";
import { type PostgresGate, PostgresUnavailableError, ungated } from "./postgres_gate.ts";
import type { Clock } from "../async/time.ts";
import type { Sql } from "./db.ts";

export interface NonceStore {
  /**
   * Records `nonce` for `clientId`. Resolves true when the nonce is fresh, false when it was
   * already used less than `retentionSeconds` ago (a replay); an older use is not a replay and
   * the claim renews it. Rejects when Postgres cannot be reached (the API answers 503).
   */
  claim(clientId: string, nonce: string, retentionSeconds: number): Promise<boolean>;
}

export interface PostgresNonceStoreOptions {
  clock: Clock;
  log?: Logger;
  /** How often expired nonces are deleted (default 60 s). */
  pruneEveryMs?: number;
  /** Rows deleted per prune statement, so no statement runs long (default 5,000). */
  pruneBatch?: number;
  /** Fails claims fast while Postgres is away (default: none, no deadline). */
  gate?: PostgresGate;
}

export interface PostgresNonceStore extends NonceStore {
  /** Deletes every nonce expired by now, in batches; resolves to the number deleted. */
  prune(): Promise<number>;
  /** Stops the periodic prune and waits for a running one. */
  close(): Promise<void>;
}

const MAX_BATCH = 1_000;

/** What makes a claim fresh, as the ON CONFLICT clause of an insert into api_nonces: an unused
 * nonce is inserted, and a used one is taken over (and renewed) only when its first use is older
 * than this claim's retention (excluded.expires_at - excluded.first_used_at). With `returning`,
 * the rows returned are the fresh claims. The accept statement claims its nonces with it too. */
export function takeOverExpiredNonce(sql: Sql) {
  return sql`
    on conflict (client_id, nonce) do update
      set first_used_at = excluded.first_used_at, expires_at = excluded.expires_at
      where api_nonces.first_used_at <
        excluded.first_used_at - (excluded.expires_at - excluded.first_used_at)`;
}

interface Claim {
  clientId: string;
  nonce: string;
  at: number;
  retentionSeconds: number;
  /** Epoch ms by which the caller is answered. */
  deadline: number;
  settle: (fresh: Promise<boolean>) => void;
}

/** A NonceStore on the `api_nonces` table; starts the periodic prune. */
export function createPostgresNonceStore(
  sql: Sql,
  { clock, log = silentLogger, pruneEveryMs = 60_000, pruneBatch = 5_000, gate = ungated(sql) }:
    PostgresNonceStoreOptions,
): PostgresNonceStore {
  let closed = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: unknown;

  async function claimBatch(
    claims: readonly Claim[],
    deadline: number,
    notAfter: number,
  ): Promise<Set<string>> {
    // Postgres locks the rows in insert order: one order everywhere means two instances that
    // claim overlapping nonces wait for each other instead of deadlocking.
    const sorted = [...claims].sort((a, b) => compare(key(a), key(b)));
    // One statement, so one implicit transaction, committed with synchronous_commit off:
    // set_config(..., true) is `set local` for that transaction, and the setting in effect at
    // commit decides. (sql.begin() with `set local` takes three round trips and measured about
    // twice the CPU per claim.) Not waiting for the WAL flush is safe: every command accepted
    // afterwards commits synchronously, which flushes all earlier WAL, these nonces included,
    // before its 202 goes out. A crash can only forget the nonce of a request that accepted
    // nothing (a read, or a refused write).
    // Each input row is one claim (no key twice: ON CONFLICT DO UPDATE cannot touch a row twice
    // in one statement); the returned rows are the fresh claims. Started too late (guard), it
    // claims nothing and returns one row with a null nonce.
    const fresh = await gate.run(() =>
      sql<{ client_id: string | null; nonce: string | null }[]>`
      with async_commit as (select set_config('synchronous_commit', 'off', true)),
      guard as (${gate.guard(notAfter)}),
      claimed as (
        insert into api_nonces (client_id, nonce, first_used_at, expires_at)
        select client_id, nonce, at, at + retention * interval '1 second'
        from unnest(
          ${sorted.map((c) => c.clientId)}::text[],
          ${sorted.map((c) => c.nonce)}::text[],
          ${sorted.map((c) => new Date(c.at).toISOString())}::timestamptz[],
          ${sorted.map((c) => c.retentionSeconds)}::integer[]
        ) as c(client_id, nonce, at, retention)
        cross join async_commit
        cross join guard
        where guard.in_time
        ${takeOverExpiredNonce(sql)}
        returning client_id, nonce
      )
      select client_id, nonce from claimed
      union all
      select null, null from guard where not guard.in_time`, deadline);
    if (fresh.some((r) => r.nonce === null)) {
      throw new PostgresUnavailableError(
        "Postgres started the nonce claim after its deadline, so it claimed nothing",
      );
    }
    return new Set(fresh.map((r) => `${r.client_id}\u0000${r.nonce}`));
  }

  function flush(waiting: Claim[]): Promise<unknown> {
    const written: Promise<unknown>[] = [];
    const byKey = new Map<string, Claim[]>();
    for (const c of waiting) {
      // Refused here, a claim was certainly never sent (see accept_batch.ts).
      if (!gate.available || gate.notAfter(c.deadline) === undefined) {
        c.settle(Promise.reject(
          new PostgresUnavailableError(
            gate.available
              ? "Postgres did not get to the nonce claim in time"
              : "Postgres is unreachable",
          ),
        ));
        continue;
      }
      const same = byKey.get(key(c));
      if (same) same.push(c);
      else byKey.set(key(c), [c]);
    }
    const groups = [...byKey.values()];
    for (let i = 0; i < groups.length; i += MAX_BATCH) {
      const batch = groups.slice(i, i + MAX_BATCH);
      const deadline = Math.min(...batch.flat().map((c) => c.deadline));
      const fresh = claimBatch(
        batch.map(([first]) => first),
        deadline,
        gate.notAfter(deadline) ?? 0,
      );
      written.push(fresh);
      for (const [first, ...again] of batch) {
        first.settle(fresh.then((taken) => taken.has(key(first))));
        // The same nonce again in this batch replays the first claim (or fails with it).
        for (const c of again) c.settle(fresh.then(() => false));
      }
    }
    return Promise.allSettled(written);
  }
  const group = createGroupCommit(flush, { maxQueued: gate.maxQueued });

  async function prune(): Promise<number> {
    const now = new Date(clock.now()).toISOString();
    let total = 0;
    for (;;) {
      // Skip rows a claim is renewing right now; they are not expired any more.
      const { count } = await sql`
        with expired as (
          select client_id, nonce from api_nonces
          where expires_at < ${now}::timestamptz
          limit ${pruneBatch}
          for update skip locked
        )
        delete from api_nonces a using expired e
        where a.client_id = e.client_id and a.nonce = e.nonce`;
      total += count;
      if (count < pruneBatch || closed) return total;
    }
  }

  const arm = () => {
    timer = clock.setTimeout(() => {
      running = prune()
        .then((n) => {
          if (n > 0) log.debug("expired nonces pruned", { count: n });
        })
        .catch((err) => log.warn("nonce prune failed; retrying next round", { err }))
        .finally(() => {
          if (!closed) arm();
        });
    }, pruneEveryMs);
  };
  arm();

  return {
    claim(clientId, nonce, retentionSeconds) {
      return new Promise<boolean>((resolve, reject) => {
        gate.enter();
        const queued = group.add({
          clientId,
          nonce,
          at: clock.now(),
          retentionSeconds,
          deadline: gate.deadline(),
          settle: (fresh) => fresh.then(resolve, reject),
        });
        if (!queued) {
          throw new PostgresUnavailableError(
            `Cannot claim nonce: ${gate.maxQueued} claims wait for Postgres already`,
          );
        }
      });
    },
    prune,
    async close() {
      closed = true;
      clock.clearTimeout(timer);
      await running;
    },
  };
}

function key(c: Pick<Claim, "clientId" | "nonce">): string {
  return nonceKey(c.clientId, c.nonce);
}

/** One nonce of one client as a string: what a batch dedupes by and sorts by. */
export function nonceKey(clientId: string, nonce: string): string {
  return `${clientId}\u0000${nonce}`;
}

/** The order nonces are claimed in: the same everywhere, so two statements that claim
 * overlapping nonces wait for each other instead of deadlocking. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
