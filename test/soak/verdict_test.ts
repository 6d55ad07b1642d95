// The soak's memory target judges each minute by the median of its 5 s readings: the collector's
// sawtooth passes, a drift fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeSoak } from "../../soak/verdict.ts";
import type { MinuteSample } from "../../soak/minute_sample.ts";
import type { SoakPlan } from "../../soak/soak_plan.ts";

const MIB = 1024 * 1024;
const plan: SoakPlan = {
  loadSeconds: 600,
  perSecond: 200,
  docks: 100,
  timeoutSeconds: 30,
  warmupSeconds: 120,
  windowSeconds: 60,
  marginSeconds: 5,
};

function judgeMemory(rssAt: (seconds: number) => number) {
  const rssSeries = Array.from({ length: 120 }, (_, i) => ({
    atSeconds: i * 5,
    rssBytes: rssAt(i * 5) * MIB,
  }));
  const samples = Array.from({ length: 10 }, (_, i): MinuteSample => ({
    minute: i + 1,
    accepted: 12_000,
    http503: 0,
    otherErrors: 0,
    totals: {},
    replies: 12_000,
    replyLagP99Ms: 20,
    commitLagP99Ms: 40,
    // The reading at the minute mark: wherever the sawtooth is then.
    rssBytes: rssAt((i + 1) * 60 - 5) * MIB,
    tables: {} as MinuteSample["tables"],
  }));
  const verdict = judgeSoak({
    plan,
    samples,
    rssSeries,
    accepts: [],
    final: {
      totals: {},
      replyLagsMs: [],
      commitLagsMs: [],
      wrong: {},
      wrongExamples: [],
      neverReachedDock: 0,
      rows: 0,
    },
    accepted: 0,
    unanswered: 0,
  });
  return verdict.targets.find((t) => t.target.startsWith("RSS"))!;
}

// 160, 185, 210, 235 MiB, then collected: a 20-second sawtooth around ~197 MiB.
const sawtooth = (s: number) => 160 + 25 * ((s / 5) % 4);

test("the collector's sawtooth is no drift: every minute's median is in the band", () => {
  const rss = judgeMemory(sawtooth);
  assert.equal(rss.result, "PASS", rss.measured);
});

test("memory that keeps growing fails the target, naming the minutes", () => {
  const rss = judgeMemory((s) => sawtooth(s) + (s > 300 ? (s - 300) * 0.2 : 0));
  assert.equal(rss.result, "FAIL");
  assert.match(rss.measured, /outside in minute\(s\) .*10/);
});

test("a run too short to judge drift shows memory and accept latency without failing on them", () => {
  const short = { ...plan, loadSeconds: 120, warmupSeconds: 40, windowSeconds: 40 };
  const verdict = judgeSoak({
    plan: short,
    samples: [],
    rssSeries: [{ atSeconds: 50, rssBytes: 100 * MIB }, { atSeconds: 100, rssBytes: 300 * MIB }],
    accepts: [{ atSeconds: 50, ms: 10 }, { atSeconds: 100, ms: 900 }],
    final: {
      totals: {},
      replyLagsMs: [],
      commitLagsMs: [],
      wrong: {},
      wrongExamples: [],
      neverReachedDock: 0,
      rows: 0,
    },
    accepted: 0,
    unanswered: 0,
  });
  const accept = verdict.targets.find((t) => t.target.startsWith("accept"))!;
  assert.equal(accept.result, "n/a");
  assert.match(accept.measured, /900 ms against 10 ms .*judged in runs of 6 min or more/);
});
