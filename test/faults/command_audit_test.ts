// The fault suite's judgement of commands: a wrong verdict there would hide Downlink's faults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { auditCommands } from "../../faults/command_audit.ts";
import type { DockBehaviour, DockRecord } from "../../faults/recording_docks.ts";
import type { CommandRow } from "../../faults/command_rows.ts";
import type { Submission } from "../../faults/steady_load.ts";

const T0 = 1_800_000_000_000;
const DEADLINE = T0 + 10_000;

function run(o: {
  behaviour: DockBehaviour;
  row?: Partial<CommandRow>;
  dock?: Partial<DockRecord> | null;
  trail?: ("accepted" | "delivered" | "completed")[];
  status?: number;
  fault?: { at: number; deafUntil?: number };
}) {
  const submissions: Submission[] = [{
    key: "k",
    deviceId: "d1",
    sentAt: T0,
    status: o.status ?? 202,
    latencyMs: 5,
    commandId: "c1",
  }];
  const rows = new Map<string, CommandRow>();
  if (o.row !== undefined) {
    rows.set("c1", { status: "SUCCEEDED", deadlineAt: DEADLINE, ...o.row });
  }
  const docks = new Map<string, DockRecord>();
  if (o.dock !== null) {
    docks.set("c1", {
      sn: "d1",
      plain: 1,
      dup: 0,
      plainAt: [T0 + 10],
      replySentAt: T0 + 11,
      replyAckedAt: T0 + 12,
      ...o.dock,
    });
  }
  return auditCommands({
    submissions,
    rows,
    docks,
    behaviourOf: () => o.behaviour,
    events: {
      trails: new Map([["c1", o.trail ?? ["accepted", "delivered", "completed"]]]),
      repeatedIds: 0,
      total: 3,
    },
    faultAt: o.fault?.at ?? T0,
    deafUntil: o.fault?.deafUntil,
  });
}

const delivered = { deliveredAt: T0 + 10 };

test("a dock answering 0 in time and a SUCCEEDED row with every event counts nothing", () => {
  const a = run({ behaviour: { result: 0 }, row: { ...delivered, responseCode: "0" } });
  assert.deepEqual(
    [a.accepted, a.lost, a.wronglyFinished, a.eventsMissing, a.eventsDoubled, a.publishedAgain],
    [1, 0, 0, 0, 0, 0],
  );
});

test("a dock answering 0 in time but a TIMED_OUT row is wrongly finished", () => {
  const a = run({ behaviour: { result: 0 }, row: { ...delivered, status: "TIMED_OUT" } });
  assert.equal(a.wronglyFinished, 1);
});

test("a FAILED row must carry the dock's result as response_code", () => {
  const right = run({
    behaviour: { result: 314000 },
    row: { ...delivered, status: "FAILED", responseCode: "314000" },
  });
  const wrong = run({
    behaviour: { result: 314000 },
    row: { ...delivered, status: "FAILED", responseCode: "1" },
  });
  assert.deepEqual([right.wronglyFinished, wrong.wronglyFinished], [0, 1]);
});

test("a command its dock never received must time out, and is reported as unreached", () => {
  const timedOut = run({ behaviour: { result: 0 }, row: { status: "TIMED_OUT" }, dock: null });
  const succeeded = run({
    behaviour: { result: 0 },
    row: { status: "SUCCEEDED", responseCode: "0" },
    dock: null,
    trail: ["accepted", "completed"],
  });
  assert.deepEqual([timedOut.wronglyFinished, timedOut.neverReachedDock], [0, 1]);
  assert.equal(succeeded.wronglyFinished, 1);
});

test("a reply sent only after the deadline must leave the command TIMED_OUT", () => {
  const late = { replySentAt: DEADLINE + 2_000, replyAckedAt: DEADLINE + 2_001 };
  const a = run({ behaviour: { result: 0 }, row: { ...delivered, responseCode: "0" }, dock: late });
  assert.equal(a.wronglyFinished, 1);
});

test("a reply the broker took while /readyz said the reply path was deaf may time out", () => {
  // Sent as the broker went down, PUBACKed by the restarted broker 1 s later, in time.
  const dock = { replySentAt: T0 + 100, replyAckedAt: T0 + 1_200 };
  const row = { ...delivered, status: "TIMED_OUT" };
  const fault = { at: T0 + 200 };
  const whileDeaf = run({
    behaviour: { result: 0 },
    row,
    dock,
    fault: { ...fault, deafUntil: T0 + 1_100 },
  });
  const afterReady = run({
    behaviour: { result: 0 },
    row,
    dock,
    fault: { ...fault, deafUntil: T0 + 800 },
  });
  const neverDeaf = run({ behaviour: { result: 0 }, row, dock, fault });
  assert.deepEqual(
    [whileDeaf.wronglyFinished, afterReady.wronglyFinished, neverDeaf.wronglyFinished],
    [0, 1, 1],
  );
});

test("a silent dock's command must time out", () => {
  const a = run({ behaviour: "silent", row: { ...delivered, status: "SUCCEEDED" } });
  assert.equal(a.wronglyFinished, 1);
});

test("an accepted command without a row is lost; one still DELIVERED never terminal", () => {
  assert.equal(run({ behaviour: { result: 0 } }).lost, 1);
  const open = run({ behaviour: { result: 0 }, row: { ...delivered, status: "DELIVERED" } });
  assert.equal(open.neverTerminal, 1);
});

test("a second copy without DUP is published again; copies with DUP are not", () => {
  const again = run({
    behaviour: { result: 0 },
    row: { ...delivered, responseCode: "0" },
    dock: { plain: 2, plainAt: [T0 + 10, T0 + 5_000] },
  });
  const dup = run({
    behaviour: { result: 0 },
    row: { ...delivered, responseCode: "0" },
    dock: { dup: 1 },
  });
  assert.deepEqual([again.publishedAgain, again.againAfterDelivered], [1, 1]);
  assert.deepEqual([dup.publishedAgain, dup.withDupCopies], [0, 1]);
});

test("events: a missing completed, a doubled delivered and a wrong order are each counted", () => {
  const row = { ...delivered, responseCode: "0" };
  const missing = run({ behaviour: { result: 0 }, row, trail: ["accepted", "delivered"] });
  const doubled = run({
    behaviour: { result: 0 },
    row,
    trail: ["accepted", "delivered", "delivered", "completed"],
  });
  const order = run({
    behaviour: { result: 0 },
    row,
    trail: ["accepted", "completed", "delivered"],
  });
  assert.deepEqual([missing.eventsMissing, missing.eventsDoubled], [1, 0]);
  assert.deepEqual([doubled.eventsMissing, doubled.eventsDoubled], [0, 1]);
  assert.equal(order.eventsOutOfOrder, 1);
});

test("503s are counted with the p99 of their latency", () => {
  const a = run({ behaviour: { result: 0 }, status: 503 });
  assert.deepEqual([a.accepted, a.http503, a.p99Of503Ms], [0, 1, 5]);
});
