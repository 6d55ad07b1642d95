// Group commit of accepted commands: the accepts queued while the previous batch was committing
// are inserted, with their outbox and in-flight rows, by one statement. One commit (one WAL flush,
// one round trip) then serves many requests, which is what keeps accept latency flat under load.
// Each accept has a deadline (the Postgres gate's): answered 503 by then, it is never committed.
import { Buffer } from "node:buffer";
import type { Sql } from "./db.ts";
import { createGroupCommit } from "./group_commit.ts";
import { acceptedEvent, storedEvent } from "../command/lifecycle_event.ts";
import { type PostgresGate, PostgresUnavailableError, ungated } from "./postgres_gate.ts";
import { compare, nonceKey, takeOverExpiredNonce } from "./nonce_store.ts";
import { constant, retry } from "../async/retry.ts";

/** A command row as accepted: everything the relay needs to carry it to its shard. */
export interface AcceptedCommand {
  command_id: string;
  tenant_id: string;
  client_id: string;
  idempotency_key: string;
  request_hash: string;
  vendor: string;
  device_id: string;
  command_type: string;
  channel: string;
  partition: number;
  bid: string;
  payload_enc: Uint8Array;
  timeout_seconds: number;
  accepted_at: Date;
  deadline_at: Date;
  /** Seconds an outbox pass leaves the outbox row alone: non-zero when a shard in this process
   * takes the command straight from the API (its first transition commit deletes the row). */
  outbox_hold_seconds: number;
  /** A long job's progress event and link keys (migration 8); absent for other commands. */
  progress_event?: string;
  progress_keys?: string[];
}

/** Inserted: this row is now committed. Existing: the key was taken; its row's identity.
 * Nonce replayed: the request's nonce was used already, so nothing was inserted or looked up. */
export type InsertResult =
  | { inserted: true; nonceReplayed?: undefined }
  | {
    inserted: false;
    nonceReplayed?: undefined;
    existing?: { command_id: string; accepted_at: Date; request_hash: string };
  }
  | { inserted: false; nonceReplayed: true };

/** A signed request's nonce, claimed by the statement that inserts its command (by the rule of
 * nonce_store.ts: fresh when unused, or when its first use is older than the retention). */
export interface NonceClaim {
  nonce: string;
  /** Epoch ms of the claim. */
  at: number;
  retentionSeconds: number;
}

const MAX_BATCH = 500;

/** The accepted event as the event outbox keeps it (published by the relay after the commit). */
function acceptedEventRow(r: AcceptedCommand) {
  const e = storedEvent(acceptedEvent(r));
  return { event_id: e.event_id, subject: e.subject, body: e.body };
}

export interface AcceptBatcher {
  insert(row: AcceptedCommand, nonce?: NonceClaim): Promise<InsertResult>;
}

interface Queued {
  row: AcceptedCommand;
  nonce?: NonceClaim;
  /** Epoch ms by which the caller is answered. */
  deadline: number;
  settle: (r: Promise<InsertResult>) => void;
}

/**
 * Accepts through `gate` (default: none, no deadline). How an accept answered 503 is kept from
 * committing later: while the gate is closed, or once its queue is full, it is refused before
 * it is queued; one whose deadline comes too close while queued is refused before it is sent;
 * one that was sent but not answered by its deadline is answered 503 then, and its statement
 * (1) is started by Postgres no later than the gate's notAfter, or writes nothing (guard), (2)
 * cannot wait for a lock past the deadline (guard's lock_timeout); a copy delivered late (a
 * network partition healing) is started after notAfter, so (1) applies to it as well.
 */
export function createAcceptBatcher(sql: Sql, gate: PostgresGate = ungated(sql)): AcceptBatcher {
  async function insertBatch(
    batch: readonly Queued[],
    deadline: number,
    notAfter: number,
  ): Promise<(InsertResult | Error)[]> {
    const input = sql.json(batch.map(({ row: r, nonce: n }) => ({
      ...r,
      payload_enc: Buffer.from(r.payload_enc).toString("base64"),
      accepted_at: r.accepted_at.toISOString(),
      deadline_at: r.deadline_at.toISOString(),
      nonce: n?.nonce ?? null,
      nonce_at: n ? new Date(n.at).toISOString() : null,
      nonce_retention: n?.retentionSeconds ?? null,
      accepted_event: acceptedEventRow(r),
      progress_event: r.progress_event ?? null,
      progress_keys: r.progress_keys ?? null,
    })) as never);
    // One statement is one transaction: the nonces, the command rows and their outbox rows
    // commit together or not at all. A command whose nonce is not fresh is not inserted (its
    // request is a replay). A key taken already (or twice in this batch) is skipped, not an
    // error; a concurrent first request with the same key waits on the unique index, then
    // skips. The caller sends each (client, nonce) at most once per batch: ON CONFLICT DO UPDATE
    // cannot touch a row twice in one statement.
    // `guard` makes the statement write nothing when Postgres starts it too late, and then
    // return one row with a null command_id.
    const result = await gate.run(
      () =>
        sql<{ command_id: string | null; replayed: boolean | null }[]>`
      with guard as (${gate.guard(notAfter)}),
      input as (
        select x.* from guard, jsonb_to_recordset(${input}) as x(
          command_id uuid, tenant_id text, client_id text, idempotency_key text,
          request_hash text, vendor text, device_id text, command_type text, channel text,
          partition integer, bid uuid, payload_enc text, timeout_seconds integer,
          accepted_at timestamptz, deadline_at timestamptz, outbox_hold_seconds integer,
          nonce text, nonce_at timestamptz, nonce_retention integer, accepted_event jsonb,
          progress_event text, progress_keys text[])
        where guard.in_time
      ), claimed as (
        insert into api_nonces (client_id, nonce, first_used_at, expires_at)
        select client_id, nonce, nonce_at, nonce_at + nonce_retention * interval '1 second'
        from input where nonce is not null
        ${takeOverExpiredNonce(sql)}
        returning client_id, nonce
      ), fresh as (
        select * from input i
        where i.nonce is null
           or exists (select 1 from claimed n where n.client_id = i.client_id and n.nonce = i.nonce)
      ), ins as (
        insert into commands (command_id, tenant_id, client_id, idempotency_key, request_hash,
          vendor, device_id, command_type, channel, partition, bid, payload_enc, status,
          timeout_seconds, accepted_at, deadline_at, updated_at, progress_event, progress_keys)
        select command_id, tenant_id, client_id, idempotency_key, request_hash, vendor,
          device_id, command_type, channel, partition, bid, decode(payload_enc, 'base64'),
          'ACCEPTED', timeout_seconds, accepted_at, deadline_at, accepted_at, progress_event,
          progress_keys
        from fresh
        on conflict (client_id, idempotency_key) do nothing
        returning command_id, accepted_at
      ), outbox as (
        insert into command_outbox (command_id, created_at, carry_after)
        select ins.command_id, ins.accepted_at,
               now() + input.outbox_hold_seconds * interval '1 second'
        from ins join input using (command_id)
      ), in_flight as (
        insert into in_flight_commands (command_id, partition, accepted_at)
        select ins.command_id, input.partition, ins.accepted_at
        from ins join input using (command_id)
      ), accepted_event as (
        -- The command.accepted event, committed with the command (the event outbox).
        insert into event_outbox (event_id, partition, command_id, subject, body)
        select (e->>'event_id')::uuid, input.partition, ins.command_id, e->>'subject', e->>'body'
        from ins join input using (command_id), lateral (select input.accepted_event as e) x
      )
      select command_id, false as replayed from ins
      union all
      select command_id, true from input i
      where not exists (select 1 from fresh f where f.command_id = i.command_id)
      union all
      select null, null from guard where not guard.in_time`,
      deadline,
    );
    if (result.some((r) => r.command_id === null)) {
      throw new PostgresUnavailableError(
        "Postgres started the accept statement after its deadline, so it wrote nothing",
      );
    }
    const inserted = result.filter((r) => !r.replayed);
    const replayed = new Set(result.filter((r) => r.replayed).map((r) => r.command_id));
    const ok = new Set(inserted.map((r) => r.command_id));
    const isReplay = (b: Queued) => replayed.has(b.row.command_id);
    const taken = batch.filter((b) => !ok.has(b.row.command_id) && !isReplay(b)).map((b) => b.row);
    const existing = new Map<
      string,
      { command_id: string; accepted_at: Date; request_hash: string }
    >();
    // The rows above are committed: a failed look-up of the keys taken fails only their requests.
    let lookupFailed: Error | undefined;
    if (taken.length > 0) {
      const found = await gate.run(() =>
        sql<
          {
            client_id: string;
            idempotency_key: string;
            command_id: string;
            accepted_at: Date;
            request_hash: string;
          }[]
        >`
        select c.client_id, c.idempotency_key, c.command_id, c.accepted_at, c.request_hash
        from commands c
        join unnest(${taken.map((r) => r.client_id)}::text[], ${
          taken.map((r) => r.idempotency_key)
        }::text[]) as k(client_id, idempotency_key)
          on c.client_id = k.client_id and c.idempotency_key = k.idempotency_key`, deadline)
        .catch((err: Error) => {
          lookupFailed = err;
          return [];
        });
      for (const f of found) existing.set(`${f.client_id}\u0000${f.idempotency_key}`, f);
    }
    return batch.map(({ row: r, ...b }): InsertResult | Error =>
      ok.has(r.command_id)
        ? { inserted: true }
        : isReplay({ row: r, ...b })
        ? { inserted: false, nonceReplayed: true }
        : lookupFailed ??
          { inserted: false, existing: existing.get(`${r.client_id}\u0000${r.idempotency_key}`) }
    );
  }

  const group = createGroupCommit<Queued>((waiting) => {
    // Refused here, an accept was certainly never sent: while Postgres is away, or too close to
    // its deadline for Postgres to finish it in time.
    const queued: Queued[] = [];
    for (const q of waiting) {
      if (!gate.available || gate.notAfter(q.deadline) === undefined) {
        q.settle(Promise.reject(
          new PostgresUnavailableError(
            gate.available
              ? "Cannot accept command: Postgres did not get to it in time"
              : "Postgres is unreachable",
          ),
        ));
      } else queued.push(q);
    }
    // A nonce twice in one batch: the later use replays the first (or fails with it), since one
    // statement can claim a nonce only once.
    const first = new Map<string, Queued>();
    const again = new Map<Queued, Queued[]>();
    const claims: Queued[] = [];
    for (const q of queued) {
      const key = q.nonce && nonceKey(q.row.client_id, q.nonce.nonce);
      const earlier = key === undefined ? undefined : first.get(key);
      if (earlier) {
        again.get(earlier)?.push(q) ?? again.set(earlier, [q]);
        continue;
      }
      if (key !== undefined) first.set(key, q);
      claims.push(q);
    }
    // Postgres locks the nonces in insert order: the nonce store's order.
    claims.sort((a, b) => compare(lockKey(a), lockKey(b)));
    const written: Promise<unknown>[] = [];
    for (let i = 0; i < claims.length; i += MAX_BATCH) {
      const batch = claims.slice(i, i + MAX_BATCH);
      // One statement answers for all: by the earliest deadline among them.
      const deadline = Math.min(...batch.map((b) => b.deadline));
      const notAfter = gate.notAfter(deadline) ?? 0;
      const results = againAfterDeadlock(() => insertBatch(batch, deadline, notAfter));
      batch.forEach((b, i) => {
        b.settle(results.then((r) => {
          const result = r[i];
          if (result instanceof Error) throw result;
          return result;
        }));
        for (const q of again.get(b) ?? []) {
          q.settle(results.then(() => ({ inserted: false, nonceReplayed: true })));
        }
      });
      written.push(results);
    }
    return Promise.allSettled(written);
  }, { maxQueued: gate.maxQueued });

  return {
    insert(row, nonce) {
      return new Promise<InsertResult>((resolve, reject) => {
        gate.enter();
        const queued = group.add({
          row,
          nonce,
          deadline: gate.deadline(),
          settle: (r) => r.then(resolve, reject),
        });
        if (!queued) {
          throw new PostgresUnavailableError(
            `Cannot accept command: ${gate.maxQueued} accepts wait for Postgres already`,
          );
        }
      });
    },
  };
}

/**
 * Runs the statement again when Postgres aborted it to break a deadlock. Nonces are claimed in one
 * order everywhere, but idempotency keys cannot be: two statements (two API instances, or a client
 * retrying in parallel) that insert the same keys in crossed orders wait for each other, and
 * Postgres aborts one of them, whole. Nothing of it was written, so it can run again: it then
 * finds the other's rows as keys taken.
 */
function againAfterDeadlock<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  return retry(run, {
    backoff: AT_ONCE,
    giveUp: (err, attempt) =>
      (err as { code?: unknown }).code !== DEADLOCK_DETECTED || attempt + 1 >= attempts,
  });
}

const AT_ONCE = constant(0);

const DEADLOCK_DETECTED = "40P01";

const lockKey = (q: Queued) => q.nonce ? nonceKey(q.row.client_id, q.nonce.nonce) : "";
