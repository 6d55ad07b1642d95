// acceptCommand and getCommand on real Postgres: one transaction for row and outbox,
// idempotency by (client, key), tenant isolation and the Query Response's shape.
import { Buffer } from "node:buffer";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import {
  type AcceptInput,
  canonicalJson,
  type CommandStore,
  createPostgresCommandStore,
  requestHash,
} from "../../src/store/command_store.ts";
import { partitionOf } from "../../src/command/partition.ts";
import { openPostgres } from "../../src/composition_root.ts";

let f: ApiFixture;
let store: CommandStore;

before(async () => {
  f = await startApiFixture({ serve: false });
  store = createPostgresCommandStore(f.sql, f.cipher);
});
after(async () => {
  await f?.stop();
});

/** An accept without a nonce to claim (the API's nonce path is tested over HTTP). */
type Unsigned = AcceptInput & { nonce?: undefined };

function input(overrides: Partial<Unsigned> = {}): Unsigned {
  return {
    tenantId: "tenant_a",
    clientId: "ak_a",
    idempotencyKey: crypto.randomUUID(),
    vendor: "dji",
    deviceId: "dock-1",
    commandType: "fileupload_start",
    channel: "services",
    timeoutSeconds: 45,
    payload: { bucket: "b", credentials: { access_key_secret: "s3cr3t-value" } },
    partition: partitionOf("dock-1", 4),
    acceptedAt: Date.parse("2026-04-22T12:00:00.123Z"),
    ...overrides,
  };
}

test("accepting writes the ACCEPTED row and its outbox row together", async () => {
  const result = await store.acceptCommand(input());
  assert.equal(result.outcome, "accepted");
  const [row] = await f.sql`select status, partition, deadline_at, accepted_at, bid, request_hash,
      (select count(*)::int from command_outbox o where o.command_id = c.command_id) as outbox
    from commands c where command_id = ${result.command_id}`;
  assert.equal(row.status, "ACCEPTED");
  assert.equal(row.outbox, 1);
  assert.equal(row.partition, partitionOf("dock-1", 4));
  assert.equal(row.accepted_at.toISOString(), "2026-04-22T12:00:00.123Z");
  assert.equal(row.deadline_at.toISOString(), "2026-04-22T12:00:45.123Z");
  assert.notEqual(row.bid, result.command_id);
});

test("the payload is sealed with the command id as associated data", async () => {
  const result = await store.acceptCommand(input());
  const [row] = await f.sql<{ payload_enc: Uint8Array }[]>`
    select payload_enc from commands where command_id = ${result.command_id}`;
  assert.ok(!Buffer.from(row.payload_enc).toString("latin1").includes("s3cr3t-value"));
  assert.equal(
    JSON.parse(f.cipher.openText(row.payload_enc, result.command_id)).credentials.access_key_secret,
    "s3cr3t-value",
  );
});

test("the stored request fingerprint is keyed, not a plain hash of the secret-bearing payload", async () => {
  const accepted = input();
  const result = await store.acceptCommand(accepted);
  const [row] = await f.sql<{ request_hash: string }[]>`
    select request_hash from commands where command_id = ${result.command_id}`;
  assert.notEqual(row.request_hash, requestHash(accepted));
  assert.equal(row.request_hash, requestHash(accepted, f.cipher.mac));
});

test("the same key and request replays the first acceptance; a different request conflicts", async () => {
  const first = input();
  const a = await store.acceptCommand(first);
  const b = await store.acceptCommand({ ...first, acceptedAt: first.acceptedAt + 5_000 });
  assert.equal(b.outcome, "replayed");
  assert.equal(b.command_id, a.command_id);
  assert.equal(
    (b as { accepted_at: Date }).accepted_at.getTime(),
    (a as { accepted_at: Date }).accepted_at.getTime(),
  );
  const c = await store.acceptCommand({ ...first, timeoutSeconds: 46 });
  assert.deepEqual(c, { outcome: "conflict", command_id: a.command_id });
});

test("concurrent first accepts of one key create exactly one command", async () => {
  const same = input();
  const results = await Promise.all(Array.from({ length: 16 }, () => store.acceptCommand(same)));
  assert.equal(results.filter((r) => r.outcome === "accepted").length, 1);
  assert.equal(new Set(results.map((r) => r.command_id)).size, 1);
  const [{ n }] = await f.sql<{ n: number }[]>`
    select count(*)::int as n from command_outbox o join commands c using (command_id)
    where c.idempotency_key = ${same.idempotencyKey}`;
  assert.equal(n, 1);
});

test("two accept statements that deadlock on crossed keys both end: the one Postgres aborts runs again", async () => {
  // Two API instances (two pools), each with one batch of three accepts of the same client. Their
  // keys cross (A inserts X before Y, B inserts Y before X), and a third transaction holds W and V,
  // the middle key of each, so that each statement has inserted its first key when it waits.
  const keys = {
    X: crypto.randomUUID(),
    Y: crypto.randomUUID(),
    W: crypto.randomUUID(),
    V: crypto.randomUUID(),
  };
  const pools = [openPostgres(f.config, { poolSize: 1 }), openPostgres(f.config, { poolSize: 1 })];
  const [storeA, storeB] = pools.map((sql) => createPostgresCommandStore(sql, f.cipher));
  const holder = await f.sql.reserve();
  try {
    await holder`begin`;
    for (const key of [keys.W, keys.V]) {
      await holder`insert into commands (command_id, tenant_id, client_id, idempotency_key,
          request_hash, vendor, device_id, command_type, channel, partition, bid, payload_enc,
          status, timeout_seconds, accepted_at, deadline_at, updated_at)
        values (gen_random_uuid(), 'tenant_a', 'ak_a', ${key}, 'held', 'dji', 'dock-1',
          'fileupload_start', 'services', 0, gen_random_uuid(), '\\x00', 'ACCEPTED', 45, now(),
          now() + interval '45 seconds', now())`;
    }
    // A batch goes in the order of its nonces: n1 < n2 < n3.
    const batch = (store: CommandStore, tag: string, order: string[]) =>
      order.map((key, i) =>
        store.acceptCommand({
          ...input({ idempotencyKey: key }),
          nonce: { value: `${tag}-n${i + 1}-${crypto.randomUUID()}`, retentionSeconds: 600 },
        } as AcceptInput)
      );
    const a = batch(storeA, "a", [keys.X, keys.W, keys.Y]);
    const b = batch(storeB, "b", [keys.Y, keys.V, keys.X]);
    // Both statements wait on the holder before it commits.
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await f.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      if (n >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await holder`commit`;
    const outcomes = await Promise.all([...a, ...b]);
    assert.deepEqual(
      outcomes.map((o) => o.outcome).sort(),
      ["accepted", "accepted", "conflict", "conflict", "replayed", "replayed"].sort(),
    );
    const [{ n }] = await f.sql<{ n: number }[]>`select count(*)::int as n from commands
      where idempotency_key in ${f.sql([keys.X, keys.Y, keys.W, keys.V])}`;
    assert.equal(n, 4);
  } finally {
    holder.release();
    await Promise.all(pools.map((sql) => sql.end({ timeout: 1 })));
  }
});

test("getCommand finds a command only within its tenant, and never by a non-UUID", async () => {
  const result = await store.acceptCommand(input());
  const view = await store.getCommand("tenant_a", result.command_id);
  assert.equal(view?.command_id, result.command_id);
  assert.equal(view?.timeout_seconds, 45);
  assert.equal(view?.accepted_at, "2026-04-22T12:00:00.123Z");
  assert.equal(view?.deadline_at, "2026-04-22T12:00:45.123Z");
  assert.equal("response_code" in view!, false);
  assert.equal("payload" in view!, false);
  assert.equal(await store.getCommand("tenant_b", result.command_id), undefined);
  assert.equal(await store.getCommand("tenant_a", "' or 1=1 --"), undefined);
});

test("the request hash ignores key order but not values", () => {
  const base = input();
  assert.equal(
    requestHash({ ...base, payload: { a: 1, b: { c: 2, d: 3 } } }),
    requestHash({ ...base, payload: { b: { d: 3, c: 2 }, a: 1 } }),
  );
  assert.notEqual(
    requestHash({ ...base, payload: { a: 1 } }),
    requestHash({ ...base, payload: { a: 2 } }),
  );
  assert.equal(
    canonicalJson({ b: [2, { z: 1, y: null }], a: "x" }),
    '{"a":"x","b":[2,{"y":null,"z":1}]}',
  );
});
