import assert from "node:assert/strict";
import { test } from "node:test";
import { progressEvents } from "../../src/cli/progress_script.ts";
import { eventLinkKeys, readProgress } from "../../src/vendors/dji/job_progress.ts";

test("an upload's script names each file by its object_key and ends ok at 100%", () => {
  const events = progressEvents({
    sn: "DOCK1",
    method: "fileupload_start",
    bid: "B",
    data: { params: { files: [{ module: "3", object_key: "k3" }] } },
  }, { steps: 2 });
  assert.equal(events.length, 3);
  assert.ok(events.every((e) => e.topic === "thing/product/DOCK1/events"));
  const last = events[2].body as any;
  assert.equal(last.method, "fileupload_progress");
  assert.equal(last.need_reply, 0);
  assert.deepEqual(eventLinkKeys(last), ["bid:B", "flight:B", "file:k3"]);
  const reading = readProgress(last);
  assert.equal(reading.status, "ok");
  assert.equal(reading.percent, 100);
});

test("a fly-to script uses the flat shape and ends with the method's failure when told", () => {
  const events = progressEvents(
    { sn: "D", method: "fly_to_point", bid: "B", data: { fly_to_id: "X" } },
    { steps: 1, failCode: 336000, needReply: true },
  );
  const last = events.at(-1)!.body as any;
  assert.deepEqual(last.data, { status: "wayline_failed", result: 336000, fly_to_id: "X" });
  assert.equal(last.need_reply, 1);
});

test("a command DJI reports no progress for gets no script", () => {
  assert.deepEqual(progressEvents({ sn: "D", method: "debug_mode_open", data: {} }), []);
});
