// Taking a JetStream message: acknowledged once taken, given back when taking it failed,
// terminated when its body does not decode. The message is a fake: this is pure logic.
import { test } from "node:test";
import { setImmediate } from "node:timers";
import assert from "node:assert/strict";
import { REDELIVER_AFTER_MS, takeStreamMessage } from "../../src/bus/stream_message.ts";
import { createLogger } from "../../src/runtime/log.ts";

function fakeMessage(body: string) {
  const settled: string[] = [];
  return {
    settled,
    msg: {
      data: new TextEncoder().encode(body),
      subject: "ns.shard.p1.dock",
      ack: () => void settled.push("ack"),
      nak: (delay?: number) => void settled.push(`nak ${delay}`),
      term: () => void settled.push("term"),
    },
  };
}

const lines: string[] = [];
const log = createLogger("debug", {}, (line) => lines.push(line));
const turn = () => new Promise((r) => setImmediate(r));

test("a message is acknowledged once its body was taken, not before", async () => {
  const { msg, settled } = fakeMessage(JSON.stringify({ n: 1 }));
  let finish!: () => void;
  const taken: unknown[] = [];
  takeStreamMessage<{ n: number }>(msg, {
    log,
    what: "fact",
    take: (body) => {
      taken.push(body);
      return new Promise<void>((r) => finish = r);
    },
  });
  await turn();
  assert.deepEqual(taken, [{ n: 1 }]);
  assert.deepEqual(settled, [], "still being taken");
  finish();
  await turn();
  assert.deepEqual(settled, ["ack"]);
});

test("a message whose taker failed is given back for redelivery, after the failure is told", async () => {
  const { msg, settled } = fakeMessage(JSON.stringify({ n: 2 }));
  takeStreamMessage(msg, {
    log,
    what: "fact",
    take: () => Promise.reject(new Error("postgres away")),
    failed: (err) => void settled.push(`failed: ${(err as Error).message}`),
  });
  await turn();
  assert.deepEqual(settled, ["failed: postgres away", `nak ${REDELIVER_AFTER_MS}`]);
});

test("an undecodable message is terminated and never taken", async () => {
  const { msg, settled } = fakeMessage("{not json");
  let taken = false;
  takeStreamMessage(msg, { log, what: "fact", take: () => Promise.resolve(void (taken = true)) });
  await turn();
  assert.equal(taken, false);
  assert.deepEqual(settled, ["term"]);
  assert.match(lines.at(-1)!, /undecodable fact dropped/);
});
