// The nonces of signed requests, shared by every API instance through Postgres. Claims queued
// while the previous batch was committing share one statement (group commit), and a periodic
// prune deletes the nonces whose retention has passed.
import { type Logger, silentLogger } from "../log.ts";
import { createGroupCommit } from "./group_commit.ts";
import type { Clock } from "../time.ts";
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
  settle: (fresh: Promise<boolean>) => void;
}

/** A NonceStore on the `api_nonces` table; starts the periodic prune. */
export function createPostgresNonceStore(
  sql: Sql,
  { clock, log = silentLogger, pruneEveryMs = 60_000, pruneBatch = 5_000 }:
    PostgresNonceStoreOptions,
): PostgresNonceStore {
  let closed = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: unknown;

  async function claimBatch(claims: readonly Claim[]): Promise<Set<string>> {
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
    // in one statement); the returned rows are the fresh claims.
    const fresh = await sql<{ client_id: string; nonce: string }[]>`
      with async_commit as (select set_config('synchronous_commit', 'off', true))
      insert into api_nonces (client_id, nonce, first_used_at, expires_at)
      select client_id, nonce, at, at + retention * interval '1 second'
      from unnest(
        ${sorted.map((c) => c.clientId)}::text[],
        ${sorted.map((c) => c.nonce)}::text[],
        ${sorted.map((c) => new Date(c.at).toISOString())}::timestamptz[],
        ${sorted.map((c) => c.retentionSeconds)}::integer[]
      ) as c(client_id, nonce, at, retention)
      cross join async_commit
      ${takeOverExpiredNonce(sql)}
      returning client_id, nonce`;
    return new Set(fresh.map((r) => `${r.client_id}\u0000${r.nonce}`));
  }

  function flush(queued: Claim[]): Promise<unknown> {
    const written: Promise<unknown>[] = [];
    const byKey = new Map<string, Claim[]>();
    for (const c of queued) {
      const same = byKey.get(key(c));
      if (same) same.push(c);
      else byKey.set(key(c), [c]);
    }
    const groups = [...byKey.values()];
    for (let i = 0; i < groups.length; i += MAX_BATCH) {
      const batch = groups.slice(i, i + MAX_BATCH);
      const fresh = claimBatch(batch.map(([first]) => first));
      written.push(fresh);
      for (const [first, ...again] of batch) {
        first.settle(fresh.then((taken) => taken.has(key(first))));
        // The same nonce again in this batch replays the first claim (or fails with it).
        for (const c of again) c.settle(fresh.then(() => false));
      }
    }
    return Promise.allSettled(written);
  }
  const group = createGroupCommit(flush);

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
        group.add({
          clientId,
          nonce,
          at: clock.now(),
          retentionSeconds,
          settle: (fresh) => fresh.then(resolve, reject),
        });
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
