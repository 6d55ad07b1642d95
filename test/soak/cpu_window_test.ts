// A soak minute's CPU shares, from two marks: Downlink's seconds over wall time, and the
// machine's idle ticks over all its ticks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpuMark, cpuShare } from "../../soak/cpu_window.ts";

test("Downlink's share is of one core; the machine's idle share is of all its ticks", () => {
  const before = { atMs: 0, downlinkSeconds: 10, idleTicks: 1_000, totalTicks: 10_000 };
  const after = { atMs: 60_000, downlinkSeconds: 40, idleTicks: 1_300, totalTicks: 22_000 };
  assert.deepEqual(cpuShare(before, after), { downlinkPercent: 50, machineIdlePercent: 2.5 });
});

test("no share over an empty window", () => {
  const mark = { atMs: 5, downlinkSeconds: 1, idleTicks: 1, totalTicks: 2 };
  assert.equal(cpuShare(mark, mark), undefined);
});

test("a mark reads this machine's /proc/stat", () => {
  const mark = cpuMark(3, 7);
  assert.equal(mark.downlinkSeconds, 3);
  assert.ok(mark.totalTicks > mark.idleTicks && mark.idleTicks > 0, JSON.stringify(mark));
});
