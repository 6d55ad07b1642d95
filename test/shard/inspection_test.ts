// DOWNLINK_INSPECT=1: the inspector says where it connects, and an unreachable inspector is one
// warning naming the host and the cause, not a stream of "[object Object]".
import { test } from "node:test";
import assert from "node:assert/strict";
import { createInspection, SKY_HOST } from "../../src/shard/inspection.ts";
import type { Logger } from "../../src/runtime/log.ts";

function recordingLog() {
  const lines: { level: string; msg: string }[] = [];
  const log: Logger = {
    debug: (msg) => lines.push({ level: "debug", msg }),
    info: (msg) => lines.push({ level: "info", msg }),
    warn: (msg) => lines.push({ level: "warn", msg }),
    error: (msg) => lines.push({ level: "error", msg }),
    child: () => log,
  };
  return { log, lines };
}

test("an unreachable inspector is one warning naming the host and the cause", async () => {
  const { log, lines } = recordingLog();
  let onerror: (err: unknown) => void = () => {};
  const inspection = await createInspection(log, (options) => {
    onerror = options.onerror;
    return { inspect: {}, stop: () => {} };
  });
  assert.ok(inspection, "an inspection");
  // What the websocket hands over: an ErrorEvent whose own string says nothing.
  const session = "c5e29135-b6af-4a60-a1bf-fe68ad874cb3";
  const event = {
    error: new Error(`getaddrinfo ENOTFOUND ${SKY_HOST}`),
    message: "x",
    target: { url: `wss://${SKY_HOST}/party/inspect-${session}?_pk=1` },
  };
  for (let i = 0; i < 5; i++) onerror(event);

  const warnings = lines.filter((l) => l.level === "warn");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].msg, new RegExp(`unreachable: cannot connect to ${SKY_HOST}`));
  assert.match(warnings[0].msg, /getaddrinfo ENOTFOUND/);
  assert.equal(warnings[0].msg.includes("[object Object]"), false);
  assert.match(warnings[0].msg, new RegExp(`https://stately\\.ai/registry/inspect/${session}$`));
  assert.match(lines.find((l) => l.level === "info")!.msg, /prints .*link/);
});
