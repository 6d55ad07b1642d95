import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CommandProgress,
  nextProgress,
  type ProgressReport,
  progressView,
} from "../../src/command/progress.ts";

const T0 = 1_800_000_000_000;

function report(over: Partial<ProgressReport> = {}): ProgressReport {
  return { status: "in_progress", percent: 10, terminal: false, at: T0, ...over };
}

/** Feeds reports in order; returns which were published and the final progress. */
function run(reports: ProgressReport[]) {
  let p: CommandProgress | undefined;
  const published: number[] = [];
  for (const [i, r] of reports.entries()) {
    const step = nextProgress(p, r);
    if (step.progress) p = step.progress;
    if (step.publish) published.push(i);
  }
  return { p, published };
}

test("the first report is stored and published", () => {
  const step = nextProgress(undefined, report());
  assert.equal(step.publish, true);
  assert.equal(step.progress?.status, "in_progress");
  assert.equal(step.progress?.published_at, T0);
});

test("while only the percent changes, at most one event per second", () => {
  const { p, published } = run([
    report({ percent: 10, at: T0 }),
    report({ percent: 20, at: T0 + 300 }),
    report({ percent: 30, at: T0 + 900 }),
    report({ percent: 40, at: T0 + 1_000 }),
    report({ percent: 50, at: T0 + 1_500 }),
  ]);
  assert.deepEqual(published, [0, 3]);
  // Every report is still recorded for the Query Response.
  assert.equal(p?.percent, 50);
  assert.equal(p?.updated_at, T0 + 1_500);
});

test("a status or step change is always published, however soon", () => {
  const { published } = run([
    report({ at: T0 }),
    report({ step: "open_cover", at: T0 + 10 }),
    report({ status: "ok", percent: 100, terminal: true, at: T0 + 20 }),
  ]);
  assert.deepEqual(published, [0, 1, 2]);
});

test("a terminal status sets finished_at once; later progress is still recorded", () => {
  const { p } = run([
    report({ at: T0 }),
    report({ status: "ok", percent: 100, terminal: true, at: T0 + 5_000 }),
    report({ status: "ok", percent: 100, terminal: true, at: T0 + 9_000, detail: { again: 1 } }),
  ]);
  assert.equal(p?.finished_at, T0 + 5_000);
  assert.deepEqual(p?.detail, { again: 1 });
});

test("a report older than the stored one (by the dock's clock) changes nothing", () => {
  const first = nextProgress(undefined, report({ percent: 60, device_timestamp: 2_000 })).progress;
  const late = nextProgress(first, report({ percent: 30, device_timestamp: 1_000, at: T0 + 5 }));
  assert.deepEqual(late, { publish: false });
});

test("the same report again changes nothing and publishes nothing", () => {
  const first = nextProgress(undefined, report({ device_timestamp: 5 })).progress;
  const again = nextProgress(first, report({ device_timestamp: 5, at: T0 + 5_000 }));
  assert.deepEqual(again, { publish: false });
});

test("the view leaves out the bookkeeping and writes times as RFC 3339", () => {
  const p = nextProgress(undefined, report({ status: "ok", terminal: true, device_timestamp: 1 }))
    .progress!;
  assert.deepEqual(progressView(p), {
    status: "ok",
    percent: 10,
    updated_at: new Date(T0).toISOString(),
    finished_at: new Date(T0).toISOString(),
  });
});
