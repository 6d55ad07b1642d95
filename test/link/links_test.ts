// The two link adapters on a fake JetStream publisher: what each carries through JetStream (and
// how the messages look), and what the in-process one hands to the roles of its process instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AckedPublisher } from "../../src/bus/acked_publisher.ts";
import { topologyNames } from "../../src/bus/subjects.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import {
  createInProcessLink,
  IN_PROCESS_OUTBOX_HOLD_SECONDS,
} from "../../src/link/in_process_link.ts";
import type { BridgeEnd, Dispatch, OutboundCommand, ShardEnd } from "../../src/link/link.ts";
import type { DeliveredFact, PresenceFact, ReplyFact } from "../../src/bus/messages.ts";

const names = topologyNames("t");
const decoder = new TextDecoder();

function fakePublisher() {
  const published: { subject: string; body: Record<string, unknown>; msgID?: string }[] = [];
  const publisher = {
    publish(subject: string, data: Uint8Array, msgID?: string) {
      published.push({ subject, body: JSON.parse(decoder.decode(data)), msgID });
      return Promise.resolve();
    },
    close() {},
  } as AckedPublisher;
  return { publisher, published };
}

/** A connection that is up and never says otherwise. */
const upConnection = {
  isClosed: () => false,
  status: () => (async function* () {})(),
} as unknown as NatsConnection;

const dispatch: Dispatch = {
  command_id: "c1",
  tenant_id: "t1",
  client_id: "k1",
  vendor: "dji",
  device_id: "DOCK1",
  command_type: "fileupload_start",
  channel: "services",
  bid: "b1",
  timeout_seconds: 30,
  accepted_at: 1_000,
  deadline_at: 31_000,
  partition: 2,
  payload_enc: new Uint8Array([1, 2, 3]),
};
const command: OutboundCommand = {
  command_id: "c1",
  vendor: "dji",
  device_id: "DOCK1",
  method: "fileupload_start",
  channel: "services",
  bid: "b1",
  deadline_at: 31_000,
  payload_enc: new Uint8Array([1, 2, 3]),
};
const delivered: DeliveredFact = { kind: "delivered", command_id: "c1", device_id: "DOCK1", at: 5 };
const reply = {
  kind: "reply",
  gateway: "DOCK1",
  channel: "services",
  received_at: 6,
  reply: { tid: "c1", bid: "b1", method: "fileupload_start", data: { result: 0 } },
} as ReplyFact;
const presence = { kind: "seen", devices: [] } as unknown as PresenceFact;

test("the JetStream link stores each message on its stream subject, payloads in base64", async () => {
  const { publisher, published } = fakePublisher();
  const link = createJetStreamLink({ publisher, names });
  assert.equal(link.outboxHoldSeconds(2), 0);
  assert.equal(await link.dispatch(dispatch, { held: false, recovered: true }), "stored");
  await link.command(command, 2);
  await link.delivered(delivered, 2);
  await link.reply(reply, 2);
  await link.presence(presence, 2);
  const { partition: _, ...fields } = dispatch;
  assert.deepEqual(published, [
    {
      subject: names.commandSubject(2, "DOCK1"),
      body: { kind: "command", ...fields, payload_enc: "AQID", recovered: true },
      msgID: "c1",
    },
    {
      subject: names.bridgeSubject(2, "DOCK1"),
      body: { ...command, payload_enc: "AQID" },
      msgID: "c1",
    },
    { subject: names.factSubject(2, "DOCK1"), body: { ...delivered }, msgID: "c1.delivered" },
    { subject: names.factSubject(2, "DOCK1"), body: { ...reply }, msgID: undefined },
    { subject: names.presenceSubject(2), body: { ...presence }, msgID: undefined },
  ]);
});

/** The roles of one process as the in-process link reaches them; `hosted` partitions only. */
function ends(hosted: number[], bridgeTakes = true) {
  const got: string[] = [];
  const shard: ShardEnd = {
    hosts: (p) => hosted.includes(p),
    dispatch: (c) => hosted.includes(c.partition) && got.push(`dispatch ${c.command_id}`) > 0,
    delivered: (f) => void got.push(`delivered ${f.command_id}`),
    reply: (f) => Promise.resolve(void got.push(`reply ${f.reply.tid}`)),
    presence: (p, f) =>
      hosted.includes(p) ? Promise.resolve(void got.push(`presence ${f.kind}`)) : undefined,
  };
  const bridge: BridgeEnd = {
    send: (c) => bridgeTakes && got.push(`send ${c.command_id}`) > 0,
  };
  return { shard, bridge, got };
}

test("the in-process link hands a hosted partition's messages over, all but the reply", async () => {
  const { publisher, published } = fakePublisher();
  const link = createInProcessLink({ publisher, names, nc: upConnection });
  const { shard, bridge, got } = ends([2]);
  link.attach({ shard, bridge });
  assert.equal(link.outboxHoldSeconds(2), IN_PROCESS_OUTBOX_HOLD_SECONDS);
  assert.equal(await link.dispatch(dispatch, { held: true, recovered: false }), "hosted");
  await link.command(command, 2);
  await link.delivered(delivered, 2);
  await link.presence(presence, 2);
  await link.reply(reply, 2);
  assert.deepEqual(got, ["dispatch c1", "send c1", "delivered c1", "presence seen"]);
  assert.deepEqual(published.map((p) => p.subject), [names.factSubject(2, "DOCK1")]);
  link.close();
});

test("the in-process link sends through JetStream what it cannot hand over", async () => {
  const { publisher, published } = fakePublisher();
  const link = createInProcessLink({ publisher, names, nc: upConnection });
  const { shard, bridge, got } = ends([1], false); // partition 2 hosted elsewhere; bridge stopping
  link.attach({ shard, bridge });
  assert.equal(link.outboxHoldSeconds(2), 0);
  assert.equal(await link.dispatch(dispatch, { held: true, recovered: false }), "stored");
  await link.command(command, 2);
  await link.delivered(delivered, 2);
  await link.presence(presence, 2);
  assert.deepEqual(got, []);
  assert.deepEqual(published.map((p) => p.subject), [
    names.commandSubject(2, "DOCK1"),
    names.bridgeSubject(2, "DOCK1"),
    names.factSubject(2, "DOCK1"),
    names.presenceSubject(2),
  ]);
  link.close();
});

test("the in-process link hands over only a held, first dispatch", async () => {
  const { publisher, published } = fakePublisher();
  const link = createInProcessLink({ publisher, names, nc: upConnection });
  const { shard, got } = ends([2]);
  link.attach({ shard });
  // Not held: its row is deleted once carried, so only JetStream may carry it.
  assert.equal(await link.dispatch(dispatch, { held: false, recovered: false }), "stored");
  // An outbox pass: it may have been hosted before; the shard checks it against Postgres.
  assert.equal(await link.dispatch(dispatch, { held: true, recovered: true }), "stored");
  assert.deepEqual(got, []);
  assert.equal(published.length, 2);
  assert.equal(published[1].body.recovered, true);
  link.close();
});

test("the in-process link hands a reply JetStream refused to the shard next door", async () => {
  const refusing = {
    publish: () => Promise.reject(new Error("no JetStream acknowledgement")),
    close() {},
  } as AckedPublisher;
  const link = createInProcessLink({ publisher: refusing, names, nc: upConnection });
  const { shard, got } = ends([2]);
  link.attach({ shard });
  await link.reply(reply, 2);
  assert.deepEqual(got, ["reply c1"]);
  // Not hosted here: the bridge learns it failed (and withholds the PUBACK).
  await assert.rejects(link.reply(reply, 3), /no JetStream acknowledgement/);
  link.close();
});
