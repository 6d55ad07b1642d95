import assert from "node:assert/strict";
import { test } from "node:test";
import type { DeviceReply } from "../../../src/vendors/dji/envelope.ts";
import { mapReply } from "../../../src/vendors/dji/reply_mapping.ts";

const ENVELOPE = { tid: "t-1", bid: "b-1", method: "fileupload_start", timestamp: 1693540348431 };

function reply(data: unknown, extra: Partial<DeviceReply> = {}): DeviceReply {
  return { ...ENVELOPE, ...extra, data };
}

test('result 0 succeeds with response_code "0"', () => {
  assert.deepEqual(mapReply("fileupload_start", reply({ result: 0 })), {
    status: "SUCCEEDED",
    response_code: "0",
    vendor_response: { ...ENVELOPE, result: 0 },
  });
});

test('result "0" as a string also succeeds', () => {
  assert.equal(mapReply("fileupload_start", reply({ result: "0" })).status, "SUCCEEDED");
});

test("a non-zero result fails with DEVICE_EXECUTION_FAILED and DJI's text for the code", () => {
  assert.deepEqual(mapReply("fileupload_start", reply({ result: 324019 })), {
    status: "FAILED",
    response_code: "324019",
    vendor_response: { ...ENVELOPE, result: 324019 },
    failure_code: "DEVICE_EXECUTION_FAILED",
    failure_reason: "324019: Due to network anomalies at the airport, the log upload has failed. " +
      "Please retry later. If this issue persists, please contact your agent or DJI Support for " +
      "network troubleshooting.",
  });
});

test("514116 reads as DJI documents it: the dock is executing another command", () => {
  const outcome = mapReply("cover_open", {
    ...ENVELOPE,
    method: "cover_open",
    data: { result: 514116 },
  });
  assert.equal(
    outcome.failure_reason,
    "514116: Unable to perform operation. Dock is executing other command. Try again later",
  );
  assert.equal(outcome.failure_code, "DEVICE_EXECUTION_FAILED");
});

test("a device's own message stays in response_message; failure_reason is DJI's text", () => {
  const outcome = mapReply("fileupload_start", reply({ result: 324019, message: "upload failed" }));
  assert.match(outcome.failure_reason!, /^324019: Due to network anomalies at the airport/);
  assert.equal(outcome.response_message, "upload failed");
});

test("a result that is no DJI code keeps the device's words", () => {
  const outcome = mapReply("fileupload_start", reply({ result: 7, message: "odd" }));
  assert.equal(outcome.failure_reason, "Device returned result 7: odd");
});

test("code alone decides when result is absent", () => {
  const ok = mapReply("fileupload_start", reply({ code: 0, message: "success" }));
  assert.equal(ok.status, "SUCCEEDED");
  assert.equal(ok.response_code, "0");
  const failed = mapReply(
    "fileupload_start",
    reply({ code: 613006, message: "not on camera screen" }),
  );
  assert.equal(failed.status, "FAILED");
  assert.equal(failed.response_code, "613006");
  assert.equal(
    failed.failure_reason,
    "613006: undocumented result code (DJI Pilot 2 side, module 13)",
  );
});

test("response_code prefers code but result still decides the status", () => {
  const outcome = mapReply("fileupload_start", reply({ result: 0, code: 5 }));
  assert.equal(outcome.response_code, "5");
  assert.equal(outcome.status, "SUCCEEDED");
});

test("response_message falls back from message to msg to description", () => {
  assert.equal(mapReply("fileupload_start", reply({ result: 1, msg: "m" })).response_message, "m");
  assert.equal(
    mapReply("fileupload_start", reply({ result: 1, description: "d" })).response_message,
    "d",
  );
  assert.equal(
    mapReply("fileupload_start", reply({ result: 1, message: "a", msg: "b", description: "c" }))
      .response_message,
    "a",
  );
  assert.equal(
    mapReply("fileupload_start", reply({ result: 1, message: "", msg: "b" })).response_message,
    "b",
  );
  assert.equal("response_message" in mapReply("fileupload_start", reply({ result: 1 })), false);
});

test("a reply whose method differs from the command is UNMATCHED_RESPONSE naming both", () => {
  const outcome = mapReply("fileupload_start", reply({ result: 0 }, { method: "fileupload_list" }));
  assert.equal(outcome.status, "UNMATCHED_RESPONSE");
  assert.equal(outcome.failure_code, "UNMATCHED_RESPONSE");
  assert.match(outcome.failure_reason!, /"fileupload_list"/);
  assert.match(outcome.failure_reason!, /"fileupload_start"/);
  // The response fields are still kept.
  assert.equal(outcome.response_code, "0");
});

test("a reply without method is matched on its data alone", () => {
  const { method: _omit, ...noMethod } = ENVELOPE;
  assert.equal(
    mapReply("fileupload_start", { ...noMethod, data: { result: 0 } }).status,
    "SUCCEEDED",
  );
});

test("data with neither result nor code is UNMATCHED_RESPONSE listing the keys seen", () => {
  const outcome = mapReply("fileupload_start", reply({ output: { status: "ok" }, note: 1 }));
  assert.equal(outcome.status, "UNMATCHED_RESPONSE");
  assert.equal(outcome.failure_code, "UNMATCHED_RESPONSE");
  assert.match(outcome.failure_reason!, /neither result nor code \(keys: output, note\)/);
});

test("null result and code count as absent", () => {
  assert.equal(
    mapReply("fileupload_start", reply({ result: null, code: null })).status,
    "UNMATCHED_RESPONSE",
  );
});

test("data that is not an object is UNMATCHED_RESPONSE and still kept in vendor_response", () => {
  for (const data of ["", null, [1], 0, undefined]) {
    const outcome = mapReply("fileupload_start", reply(data));
    assert.equal(outcome.status, "UNMATCHED_RESPONSE", String(data));
    assert.match(outcome.failure_reason!, /data is not an object/);
  }
  assert.deepEqual(mapReply("fileupload_start", reply([1])).vendor_response, {
    ...ENVELOPE,
    data: [1],
  });
});

test("output and every other data key are preserved in vendor_response, in order", () => {
  const outcome = mapReply(
    "fileupload_list",
    reply(
      {
        files: [{ module: "3", list: [] }],
        output: { status: "ok" },
        message: "fine",
        result: 0,
        code: 0,
        absent: null,
      },
      { method: "fileupload_list", gateway: "DOCK-1" },
    ),
  );
  assert.equal(outcome.status, "SUCCEEDED");
  assert.deepEqual(outcome.vendor_response, {
    ...ENVELOPE,
    method: "fileupload_list",
    gateway: "DOCK-1",
    result: 0,
    code: 0,
    message: "fine",
    output: { status: "ok" },
    files: [{ module: "3", list: [] }],
  });
  assert.deepEqual(Object.keys(outcome.vendor_response), [
    "tid",
    "bid",
    "method",
    "timestamp",
    "gateway",
    "result",
    "code",
    "message",
    "output",
    "files",
  ]);
});

test("data keys cannot overwrite the envelope's tid in vendor_response", () => {
  const outcome = mapReply("fileupload_start", reply({ result: 0, tid: "forged" }));
  assert.equal(outcome.vendor_response["tid"], "t-1");
});

test("mapReply never throws, even on hostile input", () => {
  const hostile = {
    ...ENVELOPE,
    get data(): unknown {
      throw new Error("boom");
    },
  };
  const outcome = mapReply("fileupload_start", hostile);
  assert.equal(outcome.status, "UNMATCHED_RESPONSE");
  assert.match(outcome.failure_reason!, /boom/);
});
