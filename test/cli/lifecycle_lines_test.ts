// How the CLI shows a command's steps and events: times since acceptance, the outcome, and no
// DELIVERED step when the reply overtook the broker's acknowledgement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventLine, progressStepOf, stepLine, stepsOf } from "../../src/cli/lifecycle_lines.ts";
import type { CommandState } from "../../src/client/command_client.ts";

const base: CommandState = {
  command_id: "01a22fbd-c4d9-75a4-af83-444c8179e53b",
  status: "ACCEPTED",
  vendor: "dji",
  device_id: "drone-001",
  command_type: "fileupload_start",
  timeout_seconds: 30,
  accepted_at: "2026-12-01T03:54:55.577Z",
  deadline_at: "2026-12-01T03:55:25.577Z",
  updated_at: "2026-12-01T03:54:55.577Z",
};

test("a finished command shows accepted, delivered and its outcome with the time since", () => {
  const steps = stepsOf({
    ...base,
    status: "FAILED",
    delivered_at: "2026-12-01T03:54:55.606Z",
    completed_at: "2026-12-01T03:54:55.637Z",
    response_code: "314",
    failure_code: "DEVICE_EXECUTION_FAILED",
  });
  assert.deepEqual(steps.map((s) => s.name), ["ACCEPTED", "DELIVERED", "FAILED"]);
  assert.equal(
    stepLine(steps[2], base.accepted_at),
    "FAILED              2026-12-01T03:54:55.637Z     +0.060 s  response_code=314 " +
      "failure_code=DEVICE_EXECUTION_FAILED",
  );
});

test("a reply that overtook the delivery acknowledgement leaves no DELIVERED step", () => {
  const steps = stepsOf({ ...base, status: "SUCCEEDED", completed_at: base.updated_at });
  assert.deepEqual(steps.map((s) => s.name), ["ACCEPTED", "SUCCEEDED"]);
  assert.deepEqual(stepsOf(base).map((s) => s.name), ["ACCEPTED"]);
});

test("a progress event reads with the job's status, percent, step and end", () => {
  assert.equal(
    eventLine({
      event_id: "e",
      event_type: "command.progress",
      occurred_at: "2026-12-01T03:54:55.577Z",
      status: "SUCCEEDED",
      command_id: "c",
      progress: {
        status: "ok",
        percent: 100,
        step: "done",
        updated_at: "2026-12-01T03:54:55.577Z",
        finished_at: "2026-12-01T03:54:55.577Z",
      },
    }),
    "2026-12-01T03:54:55.577Z  command.progress   SUCCEEDED           command=c  " +
      "progress=ok 100% step=done finished",
  );
});

test("a job's progress is a PROGRESS step while it runs, FINISHED at the end its dock reported", () => {
  assert.equal(progressStepOf({ ...base, status: "SUCCEEDED" }), undefined);
  const running = progressStepOf({
    ...base,
    status: "SUCCEEDED",
    progress: {
      status: "in_progress",
      percent: 39.6,
      step: "open_cover",
      updated_at: "2026-12-01T03:54:56.077Z",
    },
  });
  assert.deepEqual(running, {
    name: "PROGRESS",
    at: "2026-12-01T03:54:56.077Z",
    detail: "progress=in_progress 40% step=open_cover",
  });
  const ended = progressStepOf({
    ...base,
    status: "SUCCEEDED",
    progress: {
      status: "failed",
      percent: 100,
      result: 514107,
      failure_reason: "514107: Dock is busy",
      updated_at: "2026-12-01T03:54:57.577Z",
      finished_at: "2026-12-01T03:54:57.077Z",
    },
  })!;
  assert.equal(
    stepLine(ended, base.accepted_at),
    "FINISHED            2026-12-01T03:54:57.077Z     +1.500 s  " +
      'progress=failed 100% reason="514107: Dock is busy"',
  );
});

test("an unowned problem event reads without a tenant or a status", () => {
  assert.equal(
    eventLine({
      event_id: "e",
      event_type: "command.problem",
      occurred_at: "2026-12-01T03:54:55.577Z",
      problem: "REPLY_UNKNOWN_TID",
      detail: "no command has tid x",
      device_id: "drone-001",
    }),
    "2026-12-01T03:54:55.577Z  command.problem    device=drone-001  problem=REPLY_UNKNOWN_TID  " +
      'detail="no command has tid x"',
  );
});
