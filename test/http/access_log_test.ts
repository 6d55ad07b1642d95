// One `info` line per HTTP request on a real api role: method, path, status, ms, request_id, and
// the command id when the request is about one.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../src/runtime/log.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import {
  type ApiFixture,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";

let f: ApiFixture;
let caller: TestClient;
const lines: Record<string, any>[] = [];

before(async () => {
  f = await startApiFixture({ log: createLogger("info", {}, (l) => lines.push(JSON.parse(l))) });
  caller = await f.createClient();
});
after(async () => {
  await f?.stop();
});

/** The access log lines of the request whose X-Request-Id is `requestId`. */
function logged(requestId: string | null) {
  return lines.filter((l) => l.msg === "request" && l.request_id === requestId);
}

test("an accepted command is logged with its status, duration and command id", async () => {
  const res = await caller.http.createCommand(seedCommand());
  assert.equal(res.status, 202);
  const [line, ...more] = logged(res.headers.get("x-request-id"));
  assert.deepEqual(more, []);
  assert.equal(line.level, "info");
  assert.equal(line.method, "POST");
  assert.equal(line.path, COMMANDS_PATH);
  assert.equal(line.status, 202);
  assert.equal(typeof line.ms, "number");
  assert.ok(line.ms >= 0);
  assert.equal(line.command_id, res.body.command_id);
});

test("a read names the command id of its path", async () => {
  const id = "01900000-0000-7000-8000-000000000000";
  const res = await caller.http.getCommand(id);
  assert.equal(res.status, 404);
  const [line] = logged(res.headers.get("x-request-id"));
  assert.equal(line.method, "GET");
  assert.equal(line.path, `${COMMANDS_PATH}/${id}`);
  assert.equal(line.status, 404);
  assert.equal(line.command_id, id);
});

test("an unknown route is logged with its status and no command id", async () => {
  const res = await fetch(`${f.baseUrl}/no/such/route?x=1`);
  await res.body?.cancel();
  const [line] = logged(res.headers.get("x-request-id"));
  assert.equal(line.path, "/no/such/route");
  assert.equal(line.status, 404);
  assert.equal("command_id" in line, false);
});
