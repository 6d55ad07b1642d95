// JetStream publishes acknowledged on one shared inbox, against the real NATS server.
import { after, before, test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { SimulatedClock } from "xstate";
import { createAckedPublisher, PublishError } from "../../src/bus/acked_publisher.ts";
import { systemClock } from "../../src/async/time.ts";
import { uniqueName } from "../support/test_env.ts";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
let nc: NatsConnection;
const stream = uniqueName("acked").toUpperCase();
const subjects = `${stream.toLowerCase()}.>`;
const encoder = new TextEncoder();

before(async () => {
  nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subjects], duplicate_window: 60_000_000_000 });
});
after(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => {});
  await nc.close();
});

const subject = (s: string) => `${stream.toLowerCase()}.${s}`;

test("a publish resolves once stored, in order, and a repeated msgID is stored once", async () => {
  const p = createAckedPublisher(nc, { clock: systemClock });
  try {
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) => p.publish(subject("a"), encoder.encode(`${i}`), `m${i}`),
      ),
    );
    await p.publish(subject("a"), encoder.encode("again"), "m7");
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    assert.equal(info.state.messages, 50);
    const third = await jsm.streams.getMessage(stream, { seq: 3 });
    assert.equal(third!.string(), "2");
    assert.equal(third!.header?.get("Nats-Msg-Id"), "m2");
  } finally {
    p.close();
  }
});

test("a subject no stream takes is refused, not left waiting", async () => {
  const p = createAckedPublisher(nc, { clock: systemClock });
  try {
    await assert.rejects(
      p.publish(`${uniqueName("nostream")}.x`, encoder.encode("x"), "n1"),
      PublishError,
    );
  } finally {
    p.close();
  }
});

test("a publish nobody acknowledges fails after the timeout", async () => {
  const clock = new SimulatedClock();
  clock.set(Date.now());
  // A plain subscriber takes the message and never answers, as a stalled server would not.
  const silent = `${uniqueName("silent")}.x`;
  const sub = nc.subscribe(silent);
  const p = createAckedPublisher(nc, { clock, timeoutMs: 1_000 });
  try {
    const result = p.publish(silent, encoder.encode("x"), "s1").then(() => "stored", (e) => e);
    await nc.flush();
    for await (const _ of sub) break; // delivered, unanswered
    clock.increment(999);
    await new Promise((r) => setTimeout(r, 10));
    let settled = false;
    void result.then(() => settled = true);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(settled, false);
    clock.increment(1);
    const err = await result;
    assert.ok(err instanceof PublishError, String(err));
    assert.match(err.message, /within 1000 ms/);
  } finally {
    p.close();
  }
});
