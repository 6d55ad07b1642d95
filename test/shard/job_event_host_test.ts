// The job event host with a fake store: a progress that ends a job tells the device host, once
// it is recorded, so that the next command of the job's exclusivity class may go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedClock } from "xstate";
import { createJobEventHost } from "../../src/shard/job_event_host.ts";
import type { JobEventStore, LinkedCommand } from "../../src/store/job_event_store.ts";
import type { CommandProgress } from "../../src/command/progress.ts";
import type { EventFact } from "../../src/bus/messages.ts";
import type { Logger } from "../../src/runtime/log.ts";
import { vendors } from "../../src/composition_root.ts";

const T0 = 1_700_000_000_000;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const COVER_OPEN: LinkedCommand = {
  command_id: "0190b6c4-0000-7000-8000-000000000001",
  tenant_id: "t1",
  client_id: "c1",
  vendor: "dji",
  device_id: "DOCK1",
  command_type: "cover_open",
  status: "SUCCEEDED",
};

function start() {
  const clock = new SimulatedClock();
  clock.set(T0);
  const log: string[] = [];
  let progress: CommandProgress | undefined;
  const store: JobEventStore = {
    link: () => Promise.resolve(progress ? { ...COVER_OPEN, progress } : COVER_OPEN),
    recordProgress: (_id, p) => {
      progress = p;
      log.push(`recorded ${p.status}`);
      return Promise.resolve();
    },
    recordEvents: () => Promise.resolve(),
  };
  const host = createJobEventHost({
    store,
    vendors,
    outbox: { pending: () => Promise.resolve([]), remove: () => Promise.resolve() },
    events: { publish: () => Promise.resolve() },
    partitionOf: () => 0,
    clock,
    log: silent,
    publishInLine: () => {},
    onJobFinished: (device_id, command_id) => log.push(`finished ${device_id} ${command_id}`),
  });
  return { host, log };
}

function report(status: string, n: number): EventFact {
  return {
    kind: "event",
    vendor: "dji",
    gateway: "DOCK1",
    received_at: T0 + n,
    event: {
      tid: `tid-${n}`,
      bid: "bid-1",
      method: "cover_open",
      timestamp: T0 + n,
      need_reply: false,
      data: { result: 0, output: { status, progress: { percent: 50 * n, step_key: "s" } } },
    },
  };
}

test("a terminal progress tells the device host that the job ended, after it is recorded", async () => {
  const { host, log } = start();
  await host.take(report("in_progress", 1));
  assert.deepEqual(log, ["recorded in_progress"], "a running job is not finished");
  await host.take(report("ok", 2));
  assert.deepEqual(log, [
    "recorded in_progress",
    "recorded ok",
    `finished DOCK1 ${COVER_OPEN.command_id}`,
  ]);
  await host.stop();
});

test("a failed job ends too", async () => {
  const { host, log } = start();
  await host.take(report("failed", 1));
  assert.deepEqual(log, ["recorded failed", `finished DOCK1 ${COVER_OPEN.command_id}`]);
  await host.stop();
});
