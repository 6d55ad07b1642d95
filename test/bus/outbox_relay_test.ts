// The outbox relay against real Postgres and NATS: what a crash left between commit and
// publish is carried on start, once, with the accepted event before the dispatch; a command for
// the shard of the same process is handed to it, and its row held until its first transition.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager, type StoredMsg } from "@nats-io/jetstream";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { startOutboxRelay } from "../../src/bus/outbox_relay.ts";
import type { Dispatch, ShardEnd } from "../../src/link/link.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import {
  createInProcessLink,
  IN_PROCESS_OUTBOX_HOLD_SECONDS,
} from "../../src/link/in_process_link.ts";
import { createLifecycleStore } from "../../src/store/lifecycle_store.ts";
import { EVENTS_STREAM } from "../../src/bus/subjects.ts";
import {
  type AcceptInput,
  type CommandStore,
  createPostgresCommandStore,
} from "../../src/store/command_store.ts";
import { acceptedEventId, eventSubject } from "../../src/command/lifecycle_event.ts";
import { partitionOf } from "../../src/command/partition.ts";

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

/** An accept without a nonce to claim (the API's nonce path is tested over HTTP). */
type Unsigned = AcceptInput & { nonce?: undefined };

function input(overrides: Partial<Unsigned> = {}): Unsigned {
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

  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000, link: createJetStreamLink(f.ctx) });
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
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000, link: createJetStreamLink(f.ctx) });
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

test("two relays share a backlog without carrying any command twice", async () => {
  const n = 300;
  await Promise.all(
    Array.from({ length: n }, (_, i) => store.acceptCommand(input({ deviceId: `dock-${i % 7}` }))),
  );
  const count = await shardMessages();
  const [a, b] = await Promise.all([
    startOutboxRelay(f.ctx, { pollMs: 60_000, batchSize: 25, link: createJetStreamLink(f.ctx) }),
    startOutboxRelay(f.ctx, { pollMs: 60_000, batchSize: 25, link: createJetStreamLink(f.ctx) }),
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

/** The shard of the relay's process, as the in-process link sees it: records what it is handed. */
function fakeShard(hosted: boolean) {
  const handed: Dispatch[] = [];
  const shard: ShardEnd = {
    hosts: () => hosted,
    dispatch: (c) => {
      if (!hosted) return false;
      handed.push(c);
      return true;
    },
    delivered: () => {},
    reply: () => Promise.resolve(),
    presence: () => undefined,
  };
  const link = createInProcessLink(f.ctx);
  link.attach({ shard });
  return { link, handed };
}

async function carryAfter(commandId: string): Promise<Date | undefined> {
  const [row] = await f.sql<{ carry_after: Date }[]>`
    select carry_after from command_outbox where command_id = ${commandId}`;
  return row?.carry_after;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 5_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a command for the shard next door is handed to it, its row held, nothing dispatched", async () => {
  const { link, handed } = fakeShard(true);
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000, link });
  try {
    const tenantId = `tenant_${crypto.randomUUID().slice(0, 8)}`;
    const count = await shardMessages();
    const accepted = await store.acceptCommand(
      input({ tenantId, outboxHoldSeconds: IN_PROCESS_OUTBOX_HOLD_SECONDS }),
    );
    assert.equal(accepted.outcome, "accepted");
    if (accepted.outcome !== "accepted") return;
    relay.carry(accepted.command);
    await waitFor(() => handed.length === 1, "the hand-over");
    const c = handed[0];
    assert.equal(c.command_id, accepted.command_id);
    assert.equal(c.partition, partitionOf("dock.A-1", f.config.partitions));
    assert.equal(c.deadline_at, c.accepted_at + 30_000);
    assert.deepEqual(c.payload_enc, accepted.command.payload_enc);
    // The accepted event is stored before the shard gets the command.
    const jsm = await jetstreamManager(f.nc);
    const event = await jsm.streams.getMessage(EVENTS_STREAM, {
      last_by_subj: eventSubject(tenantId, "accepted"),
    });
    assert.equal(event?.json<{ command_id: string }>().command_id, accepted.command_id);
    assert.equal(await shardMessages(), count);
    // The row waits for the command's first transition; no pass takes it before its time.
    const held = await carryAfter(accepted.command_id);
    assert.ok(held && held.getTime() > Date.now() + 5_000, `carry_after ${held?.toISOString()}`);
    await relay.drain();
    assert.equal(await shardMessages(), count);
    assert.ok(await carryAfter(accepted.command_id));

    // The first transition commit deletes it.
    await createLifecycleStore(f.sql).writeTransitions([{
      command_id: accepted.command_id,
      status: "DELIVERED",
      delivered_at: Date.now(),
      updated_at: Date.now(),
      snapshot: { value: "DELIVERED" },
    }]);
    assert.equal(await carryAfter(accepted.command_id), undefined);
  } finally {
    await relay.stop();
    link.close();
  }
});

test("a held row whose command never moved is carried through JetStream once its hold is over", async () => {
  // The process lost the partition before its shard hosted the command: only the row is left.
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000, link: createJetStreamLink(f.ctx) });
  try {
    const count = await shardMessages();
    const accepted = await store.acceptCommand(input({ outboxHoldSeconds: 3_600 }));
    assert.equal(await relay.drain(), 0);
    await f.sql`update command_outbox set carry_after = now() - interval '1 second'
      where command_id = ${accepted.command_id}`;
    assert.equal(await relay.drain(), 1);
    assert.equal(await carryAfter(accepted.command_id), undefined);
    assert.equal(await shardMessages(), count + 1);
    const jsm = await jetstreamManager(f.nc);
    const partition = partitionOf("dock.A-1", f.config.partitions);
    const dispatch = await jsm.streams.getMessage(f.names.shardStream, {
      last_by_subj: f.names.commandSubject(partition, "dock.A-1"),
    });
    const body = dispatch!.json<Record<string, unknown>>();
    assert.equal(body.command_id, accepted.command_id);
    // Its shard checks the row first: the command may have been hosted before.
    assert.equal(body.recovered, true);
  } finally {
    await relay.stop();
  }
});

test("a command whose partition left this process since its accept goes through JetStream", async () => {
  const { link, handed } = fakeShard(false);
  const relay = await startOutboxRelay(f.ctx, { pollMs: 60_000, link });
  try {
    const count = await shardMessages();
    const accepted = await store.acceptCommand(
      input({ outboxHoldSeconds: IN_PROCESS_OUTBOX_HOLD_SECONDS }),
    );
    if (accepted.outcome !== "accepted") assert.fail(accepted.outcome);
    relay.carry(accepted.command);
    await waitFor(async () => (await shardMessages()) === count + 1, "the dispatch");
    await waitFor(async () => (await carryAfter(accepted.command_id)) === undefined, "the delete");
    assert.equal(handed.length, 0);
  } finally {
    await relay.stop();
    link.close();
  }
});
