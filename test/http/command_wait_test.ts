// Waiting for a command to end, against real Postgres and NATS: woken by the tenant's
// completed event, bounded by timeout_seconds, and 404 exactly like GET.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ApiFixture,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import { startApiRole } from "../../src/http/api_role.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import { createDownlinkClient } from "../../src/client/downlink_client.ts";
import { eventSubject } from "../../src/command/lifecycle_event.ts";

let f: ApiFixture;
let caller: TestClient;

before(async () => {
  f = await startApiFixture();
  caller = await f.createClient();
});
after(async () => {
  await f?.stop();
});

async function accept(client = caller): Promise<string> {
  const res = await client.http.createCommand(seedCommand());
  assert.equal(res.status, 202);
  return res.body.command_id;
}

/** What the shard does on completion: commit the terminal state, then publish the event. */
async function complete(id: string, status: string, publish = true) {
  await f.sql`update commands set status = ${status}, completed_at = now(), updated_at = now()
    where command_id = ${id}`;
  if (publish) {
    f.nc.publish(
      eventSubject(caller.tenant_id, "completed"),
      JSON.stringify({ event_type: "command.completed", command_id: id, status }),
    );
  }
}

function wait(id: string, query = "", client = caller) {
  const started = Date.now();
  return client.http.request("GET", `${COMMANDS_PATH}/${id}/wait${query ? `?${query}` : ""}`)
    .then((res) => ({ ...res, ms: Date.now() - started }));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("GET /api/v1/open/downlink/commands/{id}/wait", () => {
  test("answers as soon as the command's completed event arrives", async () => {
    const id = await accept();
    const waiting = wait(id, "timeout_seconds=20");
    await pause(400); // the waiter has subscribed and read ACCEPTED by now
    await complete(id, "SUCCEEDED");

    const res = await waiting;

    assert.equal(res.status, 200);
    assert.equal(res.body.status, "SUCCEEDED");
    assert.ok(res.body.completed_at);
    assert.equal(res.headers.get("x-wait-timed-out"), null);
    assert.ok(res.ms < 5_000, `took ${res.ms} ms`);
  });

  test("many waiters of one tenant are each woken by their own command's event", async () => {
    const ids = await Promise.all([accept(), accept(), accept()]);
    const waiting = ids.map((id) => wait(id, "timeout_seconds=20"));
    await pause(400);
    for (const [i, id] of ids.entries()) await complete(id, i === 1 ? "FAILED" : "SUCCEEDED");

    const results = await Promise.all(waiting);

    assert.deepEqual(results.map((r) => r.body.status), ["SUCCEEDED", "FAILED", "SUCCEEDED"]);
    assert.deepEqual(results.map((r) => r.body.command_id), ids);
    for (const r of results) assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
  });

  test("another command's event does not end the wait", async () => {
    const [mine, other] = await Promise.all([accept(), accept()]);
    const waiting = wait(mine, "timeout_seconds=1");
    await pause(300);
    await complete(other, "SUCCEEDED");

    const res = await waiting;

    assert.equal(res.body.status, "ACCEPTED");
    assert.equal(res.headers.get("x-wait-timed-out"), "true");
    assert.ok(res.ms >= 950, `took ${res.ms} ms`);
  });

  test("a command still in flight is answered after timeout_seconds with X-Wait-Timed-Out", async () => {
    const id = await accept();
    const res = await wait(id, "timeout_seconds=1");
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "ACCEPTED");
    assert.equal(res.body.command_id, id);
    assert.equal(res.headers.get("x-wait-timed-out"), "true");
    assert.ok(res.ms >= 950 && res.ms < 5_000, `took ${res.ms} ms`);
  });

  test("Postgres is read again when the wait ends, without polling it before", async () => {
    const id = await accept();
    const waiting = wait(id, "timeout_seconds=1");
    await pause(300);
    await complete(id, "FAILED", false); // committed, but no event

    const res = await waiting;

    assert.ok(res.ms >= 950, `answered after ${res.ms} ms: something polled`);
    assert.equal(res.body.status, "FAILED");
    assert.equal(res.headers.get("x-wait-timed-out"), null);
  });

  test("a terminal command is answered at once", async () => {
    const id = await accept();
    await complete(id, "SUCCEEDED", false);
    const res = await wait(id, "timeout_seconds=30");
    assert.equal(res.body.status, "SUCCEEDED");
    assert.ok(res.ms < 2_000, `took ${res.ms} ms`);
  });

  test("timeout_seconds=0 answers the current state at once", async () => {
    const id = await accept();
    const res = await wait(id, "timeout_seconds=0");
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "ACCEPTED");
    assert.equal(res.headers.get("x-wait-timed-out"), "true");
    assert.ok(res.ms < 2_000, `took ${res.ms} ms`);
  });

  test("unknown and another tenant's ids are 404 COMMAND_NOT_FOUND, exactly like GET", async () => {
    const stranger = await f.createClient();
    const theirs = await accept(stranger);
    for (const id of [theirs, "01900000-0000-7000-8000-000000000000"]) {
      const res = await wait(id, "timeout_seconds=1");
      const get = await caller.http.getCommand(id);
      assert.equal(res.status, 404, id);
      assert.equal(res.body.code, "COMMAND_NOT_FOUND");
      assert.equal(res.body.message, get.body.message);
      assert.ok(res.ms < 950, `a 404 must not wait (${res.ms} ms)`);
    }
  });

  test("a command id that is not a UUID is 400 VALIDATION_FAILED, exactly like GET", async () => {
    const res = await wait("not-a-uuid", "timeout_seconds=1");
    const get = await caller.http.getCommand("not-a-uuid");
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details, [{ path: "path.command_id", reason: "must be a UUID" }]);
    assert.equal(res.body.message, get.body.message);
    assert.ok(res.ms < 950, `a 400 must not wait (${res.ms} ms)`);
  });

  test("timeout_seconds outside 0-60 is 400 VALIDATION_FAILED", async () => {
    const id = await accept();
    for (const t of ["61", "-1", "1.5", "soon"]) {
      const res = await wait(id, `timeout_seconds=${t}`);
      assert.equal(res.status, 400, t);
      assert.equal(res.body.code, "VALIDATION_FAILED");
      assert.deepEqual(res.body.details.map((d: any) => d.path), ["query.timeout_seconds"]);
    }
  });

  test("a client without open:command:read gets 403 FORBIDDEN", async () => {
    const writer = await f.createClient({ scopes: ["open:command:create"] });
    const id = await accept(writer);
    const res = await wait(id, "timeout_seconds=1", writer);
    assert.equal(res.status, 403);
  });

  test("stopping the api answers pending waits at once with the state they read", async () => {
    const api = await startApiRole(f.ctx, {
      link: createJetStreamLink(f.ctx),
      port: 0,
      readiness: async () => ({}),
    });
    const http = createDownlinkClient({
      baseUrl: `http://127.0.0.1:${api.port}`,
      clientId: caller.client_id,
      secret: caller.secret,
    });
    const id = await accept();
    const waiting = http.request("GET", `${COMMANDS_PATH}/${id}/wait?timeout_seconds=30`);
    await pause(300);

    const started = Date.now();
    await api.stop();
    const res = await waiting;

    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "ACCEPTED");
    assert.equal(res.headers.get("x-wait-timed-out"), "true");
  });
});
