// Past the in-flight limit the API says so: new commands are answered 503 with Retry-After and
// nothing stored, /readyz names the reason, and /metrics shows the pipeline's gauges.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { seedCommand } from "../support/api_fixtures.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";

let f: LifecycleFixture;
let dock: DockSimulator;

before(async () => {
  f = await startLifecycleFixture({ env: { DOWNLINK_MAX_IN_FLIGHT: "2" } });
});
after(async () => {
  await dock?.stop();
  await f?.stop();
});

test("past the in-flight limit a command is answered 503 with Retry-After, and nothing is stored", async () => {
  const sn = f.device("busy");
  dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true });
  for (let i = 0; i < 3; i++) await f.submit(sn, { timeout_seconds: 30 });
  await new Promise((r) => setTimeout(r, 300)); // the decision is kept 250 ms

  const body = seedCommand({ device_id: sn });
  const res = await f.http.createCommand(body as never);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.match((res.body as { message: string }).message, /3 commands in flight \(limit 2\)/);
  const { sql } = f.harness.downlink.context;
  const [{ n }] = await sql`select count(*)::int as n from commands
    where idempotency_key = ${body.idempotency_key}`;
  assert.equal(n, 0);

  const ready = await fetch(`${f.harness.baseUrl}/readyz`);
  assert.equal(ready.status, 503);
  const readiness = await ready.json();
  assert.deepEqual(readiness.failed, ["pipeline"]);
  assert.match(readiness.reasons.pipeline, /commands in flight/);
  const metrics = await (await fetch(`${f.harness.baseUrl}/metrics`)).text();
  assert.match(metrics, /^downlink_in_flight_commands 3$/m);
  assert.match(metrics, /^downlink_reply_lag_p99_seconds /m);
  assert.match(metrics, /^# TYPE downlink_commit_latency_seconds histogram$/m);
  assert.match(metrics, /^downlink_commit_latency_seconds_bucket\{le="\+Inf"\} [1-9]/m);
  assert.match(metrics, /^# TYPE downlink_reply_lag_seconds histogram$/m);
});
