import assert from "node:assert/strict";
import { test } from "node:test";
import {
  eventLinkKeys,
  progressLink,
  readProgress,
} from "../../../src/vendors/dji/job_progress.ts";
import { terminalStatusesOf } from "../../../src/vendors/dji/progress_statuses.ts";
import type { DeviceEventMessage } from "../../../src/vendors/dji/device_event_message.ts";

const event = (method: string, data: unknown, bid?: string): DeviceEventMessage => ({
  method,
  need_reply: false,
  data,
  ...(bid ? { bid } : {}),
});

test("fileupload_start is linked by each file's object_key", () => {
  const link = progressLink("fileupload_start", {
    params: { files: [{ object_key: "logs/a.tar" }, { object_key: "logs/b.tar" }] },
  });
  assert.deepEqual(link, {
    event: "fileupload_progress",
    keys: ["file:logs/a.tar", "file:logs/b.tar"],
  });
});

test("flighttask_execute is linked by its flight_id, fly_to_point by its fly_to_id", () => {
  assert.deepEqual(progressLink("flighttask_execute", { flight_id: "F1" }), {
    event: "flighttask_progress",
    keys: ["flight:F1"],
  });
  assert.deepEqual(progressLink("fly_to_point", { fly_to_id: "X" })?.keys, ["flyto:X"]);
});

test("a command DJI reports no progress for has no link", () => {
  assert.equal(progressLink("debug_mode_open", {}), undefined);
});

test("an event names its job by bid, flight id and file keys", () => {
  const e = event("fileupload_progress", {
    output: { ext: { files: [{ key: "logs/a.tar" }, { key: "logs/b.tar" }] } },
  }, "B");
  assert.deepEqual(eventLinkKeys(e), ["bid:B", "flight:B", "file:logs/a.tar", "file:logs/b.tar"]);
  const flight = event("flighttask_progress", { output: { ext: { flight_id: "F1" } } });
  assert.deepEqual(eventLinkKeys(flight), ["flight:F1"]);
  assert.deepEqual(eventLinkKeys(event("flighttask_ready", { flight_ids: ["F1", "F2"] })), [
    "flight:F1",
    "flight:F2",
  ]);
});

test("a job event reads as status, percent, step and result", () => {
  const r = readProgress(event("cover_open", {
    result: 0,
    output: { status: "in_progress", progress: { percent: 40, step_key: "open_cover" } },
  }));
  assert.deepEqual(r, { status: "in_progress", percent: 40, step: "open_cover", result: 0 });
});

test("an upload reads per file (DEMO's step formula) and overall as their mean", () => {
  const r = readProgress(event("fileupload_progress", {
    result: 0,
    output: {
      status: "in_progress",
      ext: {
        files: [
          {
            module: "3",
            key: "k3",
            size: 155232,
            fingerprint: "f",
            progress: { current_step: 2, total_step: 4, progress: 50, status: "in_progress" },
          },
          { module: "0", key: "k0", progress: { progress: 100, status: "ok" } },
        ],
      },
    },
  }));
  assert.equal(r.status, "in_progress");
  const files = r.detail?.files as Record<string, unknown>[];
  assert.deepEqual(files[0], {
    module: "3",
    key: "k3",
    size: 155232,
    fingerprint: "f",
    percent: 37.5,
    status: "in_progress",
    current_step: 2,
    total_step: 4,
  });
  assert.equal(files[1].percent, 100);
  assert.equal(r.percent, (37.5 + 100) / 2);
});

test("a flat event (fly_to_point_progress) reads its status and keeps the rest as detail", () => {
  const r = readProgress(
    event("fly_to_point_progress", { fly_to_id: "X", status: "wayline_ok", result: 0 }),
  );
  assert.deepEqual(r, {
    status: "wayline_ok",
    result: 0,
    detail: { fly_to_id: "X" },
  });
});

test("an event without a status is failed with a non-zero result, else reported", () => {
  assert.equal(readProgress(event("flighttask_ready", { flight_ids: [] })).status, "reported");
  assert.equal(readProgress(event("x", { result: 514116 })).status, "failed");
});

test("terminal statuses are data per progress method", () => {
  assert.ok(terminalStatusesOf("flighttask_progress").includes("partially_done"));
  assert.ok(terminalStatusesOf("takeoff_to_point_progress").includes("task_finish"));
  assert.ok(terminalStatusesOf("cover_open").includes("ok"));
  assert.ok(!terminalStatusesOf("cover_open").includes("in_progress"));
  assert.ok(!terminalStatusesOf("fly_to_point_progress").includes("wayline_progress"));
});
