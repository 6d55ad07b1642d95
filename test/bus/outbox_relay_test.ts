// The outbox relay against real Postgres and NATS: what a crash left between commit and
// publish is carried on start, once, with the accepted event before the dispatch.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, type StoredMsg } from "@nats-io/jetstream";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { acceptedEventId, startOutboxRelay } from "../../src/bus/outbox_relay.ts";
import { EVENTS_STREAM, eventSubject, partitionOf } from "../../src/bus/subjects.ts";
import {
  type AcceptInput,
  type CommandStore,
  createPostgresCommandStore,
} from "../../src/store/command_store.ts";

let f: ApiFixture;
let store: CommandStore;

before(async () => {
  // No api role: nothing carries the outbox until a test starts a relay.
  f = await startApiFixture({ serve: false });
  store = createPostgresCommandStore(f.sql, f.cipher);
});
after(async () => {
  await f?.stop();
});

function input(overrides: Partial<AcceptInput> = {}): AcceptInput {
  const deviceId = overrides.deviceId ?? "dock.A-1";
  return {
    tenantId: "tenant_relay",
    clientId: "ak_relay",
    idempotencyKey: crypto.randomUUID(),
    vendor: "dji",
    deviceId,
    commandType: "fileupload_start",
    channel: "services",
    timeoutSeconds: 30,
    payload: { bucket: "b" },
    partition: partitionOf(deviceId, f.config.partitions),
    acceptedAt: Date.now(),
    ...overrides,
  };
}

async function outboxSize(): Promise<number> {
  const [{ n }] = await f.sql<{ n: number }[]>`select count(*)::int as n from command_outbox`;
  return n;
}

async function shardMessages(): Promise<number> {
  const jsm = await jetstreamManager(f.nc);
  return (await jsm.streams.info(f.names.shardStream)).state.messages;
}

function nanos(msg: StoredMsg): bigint {
  const [whole, frac = ""] = msg.timestamp.replace("Z", "").split(".");
  return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt((frac + "000000000").slice(0, 9));
}

test("a command committed before a crash is carried when a relay starts", async () => {
  const tenantId = `tenant_${crypto.randomUUID().slice(0, 8)}`;
  const accepted = await store.acceptCommand(input({ tenantId }));
  assert.equal(accepted.outcome, "accepted");
  const commandId = accepted.command_id;
  assert.equal(await outboxSize(), 1);
  const jsm = await jetstreamManager(f.nc);
  const partition = partitionOf("dock.A-1", f.config.partitions);
  const subject = f.names.commandSubject(partition, "dock.A-1");
  assert.equal(
    await jsm.streams.getMessage(f.names.shardStream, { last_by_subj: subject }).catch(() => null),
    null,
  );

  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000 });
  try {
    assert.equal(await outboxSize(), 0);
    const dispatch = await jsm.streams.getMessage(f.names.shardStream, { last_by_subj: subject });
    assert.ok(dispatch);
    assert.equal(subject, `${f.config.namespace}.shard.${partition}.cmd.dock%2EA-1`);
    assert.equal(dispatch.header?.get("Nats-Msg-Id"), commandId);
    const body = dispatch.json<Record<string, unknown>>();
    assert.equal(body.kind, "command");
    assert.equal(body.command_id, commandId);
    assert.equal(body.tenant_id, tenantId);
    assert.equal(body.device_id, "dock.A-1");
    assert.equal(body.channel, "services");
    assert.equal(body.deadline_at, (body.accepted_at as number) + 30_000);
    assert.equal(body.payload, undefined);

    const event = await jsm.streams.getMessage(EVENTS_STREAM, {
      last_by_subj: eventSubject(tenantId, "accepted"),
    });
    assert.ok(event);
    const e = event.json<Record<string, unknown>>();
    assert.equal(e.event_type, "command.accepted");
    assert.equal(e.event_id, acceptedEventId(commandId));
    assert.equal(e.command_id, commandId);
    assert.equal(e.status, "ACCEPTED");
    assert.equal(e.client_id, "ak_relay");
    assert.equal(JSON.stringify(e).includes("bucket"), false);
    // The accepted event was stored before the dispatch was sent.
    assert.ok(nanos(event) <= nanos(dispatch));
  } finally {
    await relay.stop();
  }
});

test("a relay that crashed after publishing but before deleting does not dispatch twice", async () => {
  const accepted = await store.acceptCommand(input());
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000 });
  try {
    const count = await shardMessages();
    // The crash: the outbox row is back although its dispatch went out.
    await f.sql`insert into command_outbox (command_id) values (${accepted.command_id})`;
    assert.equal(await relay.drain(), 1);
    assert.equal(await outboxSize(), 0);
    assert.equal(await shardMessages(), count);
  } finally {
    await relay.stop();
  }
});

test("a wake-up carries a new command without waiting for the poll", async () => {
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000 });
  try {
    const count = await shardMessages();
    await store.acceptCommand(input());
    f.nc.publish(f.names.outboxWake);
    const deadline = Date.now() + 5_000;
    while ((await outboxSize()) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await outboxSize(), 0);
    assert.equal(await shardMessages(), count + 1);
  } finally {
    await relay.stop();
  }
});

test("two relays share a backlog without carrying any command twice", async () => {
  const n = 300;
  await Promise.all(
    Array.from({ length: n }, (_, i) => store.acceptCommand(input({ deviceId: `dock-${i % 7}` }))),
  );
  const count = await shardMessages();
  const [a, b] = await Promise.all([
    startOutboxRelay(f.ctx, { pollMs: 60_000, batchSize: 25 }),
    startOutboxRelay(f.ctx, { pollMs: 60_000, batchSize: 25 }),
  ]);
  try {
    // Each start drained; more drains find nothing left.
    const more = (await a.drain()) + (await b.drain());
    assert.equal(more, 0);
    assert.equal(a.carried() + b.carried(), n);
    assert.equal(await outboxSize(), 0);
    assert.equal(await shardMessages(), count + n);
  } finally {
    await a.stop();
    await b.stop();
  }
});
