// The bridge sender on fakes and a simulated clock: a claim Postgres refuses is tried again with
// growing waits until its commands' deadlines pass; a hand-over the link did not take is tried
// again until it is, or until the command's deadline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { SimulatedClock } from "xstate";
import { createBridgeSender } from "../../src/shard/bridge_sender.ts";
import type { SendClaim } from "../../src/store/lifecycle_store.ts";
import type { Link, OutboundCommand } from "../../src/link/link.ts";
import { createLogger } from "../../src/runtime/log.ts";

const T0 = 1_700_000_000_000;
const tick = () => new Promise((r) => setImmediate(r));

const command = (command_id: string, deadline_at: number): OutboundCommand => ({
  command_id,
  vendor: "dji",
  device_id: "DOCK1",
  method: "debug_mode_open",
  channel: "services",
  bid: "0190b6c4-0000-7000-8000-0000000000b1",
  deadline_at,
  payload_enc: new Uint8Array([1, 2, 3]),
});

/** A sender whose claims fail `claimFailures` times and whose hand-overs to the link fail
 * `publishFailures` times; records when each was tried (ms after T0). */
function setup(claimFailures: number, publishFailures: number) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const claimed: number[] = [];
  const published: number[] = [];
  const gone: string[] = [];
  const link: Pick<Link, "command"> = {
    command() {
      published.push(clock.now() - T0);
      return published.length <= publishFailures
        ? Promise.reject(new Error("no JetStream acknowledgement"))
        : Promise.resolve();
    },
  };
  const sender = createBridgeSender({
    store: {
      claimSends(ids) {
        claimed.push(clock.now() - T0);
        return claimed.length <= claimFailures
          ? Promise.reject(new Error("connection refused"))
          : Promise.resolve(new Map(ids.map((id) => [id, "claimed" as SendClaim])));
      },
    },
    link,
    clock,
    log: createLogger("silent"),
    count: () => {},
    onSkipped: () => {},
    onGone: (c) => gone.push(c.command_id),
  });
  /** Moves the clock by each of `waits`, letting the sender run after each. */
  const advance = async (...waits: number[]) => {
    for (const w of waits) {
      clock.increment(w);
      await tick();
      await tick();
    }
  };
  return { sender, claimed, published, gone, advance };
}

test("a refused claim is tried again after 100, 200, 400 ms, then the command is published", async () => {
  const { sender, claimed, published, advance } = setup(3, 0);
  sender.send(command("c1", T0 + 30_000), 0);
  await advance(0, 99);
  assert.deepEqual(claimed, [0]);
  await advance(1, 200, 400);
  assert.deepEqual(claimed, [0, 100, 300, 700]);
  assert.deepEqual(published, [700]);
});

test("a claim still refused when the command's deadline passed is given up", async () => {
  const { sender, claimed, published, advance } = setup(100, 0);
  sender.send(command("c1", T0 + 250), 0);
  await advance(0, 100, 200, 400, 800);
  assert.deepEqual(claimed, [0, 100, 300], "no attempt after the deadline");
  assert.deepEqual(published, []);
});

test("a hand-over the link did not take is tried again after 200, 400, 600 ms", async () => {
  const { sender, published, advance } = setup(0, 3);
  sender.send(command("c1", T0 + 30_000), 0);
  await advance(0, 199);
  assert.deepEqual(published, [0]);
  await advance(1, 400, 600, 10_000);
  assert.deepEqual(published, [0, 200, 600, 1_200]);
});

test("a hand-over is not published again past the command's deadline", async () => {
  const { sender, published, advance } = setup(0, 100);
  sender.send(command("c1", T0 + 500), 0);
  await advance(0, 200, 400, 600, 800);
  assert.deepEqual(published, [0, 200, 600]);
});
