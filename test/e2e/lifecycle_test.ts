// Every command outcome end to end: HTTP → Postgres → JetStream → shard → bridge → MQTT → a
// simulated dock → services_reply → shard → Postgres → lifecycle events, on the real services.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { partitionOf } from "../../src/command/partition.ts";

let f: LifecycleFixture;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture();
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f.stop();
});

async function dock(options: Omit<Parameters<typeof createDockSimulator>[0], "mqttUrl">) {
  const d = await createDockSimulator({ mqttUrl: f.mqttUrl, ...options });
  docks.push(d);
  return d;
}

test("a result 0 reply ends SUCCEEDED with the reply mapped", async () => {
  const sn = f.device("ok");
  const d = await dock({ sn, result: 0 });
  const id = await f.submit(sn);
  const body = await f.waitForStatus(id, ["SUCCEEDED"]);
  assert.equal(body.response_code, "0");
  assert.equal(body.vendor_response.tid, id);
  assert.equal(body.vendor_response.method, "fileupload_start");
  // delivered_at may be absent: an instant reply can overtake the delivery ack.
  assert.ok(body.completed_at && body.response_received_at);
  assert.equal(body.failure_code, undefined);
  // The dock got the DJI envelope with the decrypted payload.
  const got = d.received.find((c) => c.tid === id)!;
  assert.equal(got.method, "fileupload_start");
  assert.equal((got.data as any).credentials.access_key_secret, "string");
  assert.match(got.bid!, /^[0-9a-f-]{36}$/);
});

test("in one process the shard stream carries what the link sends through it, the reply always", async () => {
  const { names, sql, config } = f.harness.downlink.context;
  const sn = f.device("in-process");
  const p = partitionOf(sn, config.partitions);
  // What is published on the command's shard subjects (its dispatch, its facts), as it goes in.
  const subs = [names.commandSubject(p, sn), names.factSubject(p, sn)].map((s) =>
    f.nc.subscribe(s)
  );
  let published = 0;
  for (const sub of subs) {
    void (async () => {
      for await (const _ of sub) published++;
    })();
  }
  await f.nc.flush();
  await dock({ sn, result: 0 });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);
  // The reply is one JetStream message under either link (its connection acknowledges it to the
  // broker once stored, without waiting for a commit). The in-process link hands the dispatch and
  // the delivery over by hand; the JetStream link (the default) stores them too.
  const expected = config.link === "local" ? 1 : 3;
  const until = Date.now() + 5_000; // the delivered fact may trail the reply
  while (published < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 200));
  for (const sub of subs) sub.unsubscribe();
  assert.equal(published, expected);
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*)::int as n from command_outbox where command_id = ${id}`;
  assert.equal(n, 0);
  const kinds = f.events.filter((e) => e.command_id === id).map((e) => e.event_type);
  assert.deepEqual(kinds.slice(0, 1), ["command.accepted"]);
  assert.equal(kinds.at(-1), "command.completed");
});

test("a command is in the in-flight set until it ends; its row stores the state, not the context again", async () => {
  const { sql } = f.harness.downlink.context;
  const inFlight = async (id: string) =>
    (await sql<{ n: number }[]>`
      select count(*)::int as n from in_flight_commands where command_id = ${id}`)[0].n;
  const sn = f.device("in-flight");
  const d = await dock({ sn, silent: true });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["DELIVERED"]);
  assert.equal(await inFlight(id), 1);
  await d.publish(
    `thing/product/${sn}/services_reply`,
    JSON.stringify({ tid: id, bid: "b", method: "fileupload_start", data: { result: 0 } }),
  );
  await f.waitForStatus(id, ["SUCCEEDED"]);
  assert.equal(await inFlight(id), 0);
  const [{ snapshot }] = await sql<{ snapshot: Record<string, unknown> }[]>`
    select snapshot from commands where command_id = ${id}`;
  assert.deepEqual(snapshot, {
    status: "done",
    value: "SUCCEEDED",
    children: {},
    historyValue: {},
  });
});

test("a non-zero result ends FAILED with DEVICE_EXECUTION_FAILED", async () => {
  const sn = f.device("fail");
  await dock({ sn, result: 321004 });
  const id = await f.submit(sn);
  const body = await f.waitForStatus(id, ["FAILED"]);
  assert.equal(body.response_code, "321004");
  assert.equal(body.failure_code, "DEVICE_EXECUTION_FAILED");
});

test("code, msg and description variants map to response_code and response_message", async () => {
  const variants: Array<[Record<string, unknown>, string, string, string | undefined]> = [
    [{ code: 5, message: "busy" }, "FAILED", "5", "busy"],
    [{ result: 7, msg: "no aircraft" }, "FAILED", "7", "no aircraft"],
    [{ result: 9, description: "cover stuck" }, "FAILED", "9", "cover stuck"],
    [{ code: 0, msg: "ok" }, "SUCCEEDED", "0", "ok"],
  ];
  for (const [i, [data, status, code, message]] of variants.entries()) {
    const sn = f.device(`variant${i}`);
    await dock({ sn, answer: () => ({ data }) });
    const id = await f.submit(sn);
    const body = await f.waitForStatus(id, [status]);
    assert.equal(body.response_code, code, JSON.stringify(data));
    assert.equal(body.response_message, message, JSON.stringify(data));
  }
});

test("a reply with another method ends UNMATCHED_RESPONSE", async () => {
  const sn = f.device("mismatch");
  await dock({ sn, methodMismatch: true });
  const id = await f.submit(sn);
  const body = await f.waitForStatus(id, ["UNMATCHED_RESPONSE"]);
  assert.equal(body.vendor_response.method, "fileupload_start_mismatch");
});

test("a reply with neither result nor code ends UNMATCHED_RESPONSE", async () => {
  const sn = f.device("noresult");
  await dock({ sn, answer: () => ({ data: { output: { status: "ok" } } }) });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["UNMATCHED_RESPONSE"]);
});

test("a silent dock ends TIMED_OUT at the deadline, not before", async () => {
  const sn = f.device("silent");
  await dock({ sn, silent: true });
  const id = await f.submit(sn, { timeout_seconds: 1 });
  const delivered = await f.waitForStatus(id, ["DELIVERED", "TIMED_OUT"]);
  assert.equal(delivered.status, "DELIVERED");
  const body = await f.waitForStatus(id, ["TIMED_OUT"], 5_000);
  const completed = Date.parse(body.completed_at);
  assert.equal(completed, Date.parse(body.deadline_at));
  assert.ok(Date.now() >= Date.parse(body.deadline_at));
  assert.equal(body.failure_code, "DEVICE_TIMEOUT");
  assert.equal(body.response_code, undefined);
});

test("a late reply after TIMED_OUT is kept and the status stays TIMED_OUT", async () => {
  const sn = f.device("late");
  await dock({ sn, delayMs: 1_800, result: 0 });
  const id = await f.submit(sn, { timeout_seconds: 1 });
  await f.waitForStatus(id, ["TIMED_OUT"], 5_000);
  const late = await f.waitForEvent((e) => e.command_id === id && e.problem === "LATE_REPLY");
  assert.equal(late.status, "TIMED_OUT");
  // The stored snapshot holds no context: the late reply's command was rebuilt from its row.
  assert.equal(late.failure_code, "DEVICE_TIMEOUT");
  assert.ok(late.completed_at && late.delivered_at && late.response_received_at);
  const body = await f.get(id);
  assert.equal(body.status, "TIMED_OUT");
  assert.equal(body.response_code, "0");
  assert.ok(body.response_received_at);
  assert.equal(body.failure_code, "DEVICE_TIMEOUT");
});

test("a reply from another gateway with a valid tid changes nothing", async () => {
  const sn = f.device("victim");
  const other = f.device("intruder");
  const d = await dock({ sn, silent: true });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["DELIVERED"]);
  await d.publish(
    `thing/product/${other}/services_reply`,
    JSON.stringify({ tid: id, bid: "b", method: "fileupload_start", data: { result: 0 } }),
  );
  const problem = await f.waitForEvent((e) =>
    e.command_id === id && e.problem === "FOREIGN_GATEWAY_REPLY"
  );
  assert.equal(problem.event_type, "command.problem");
  const body = await f.get(id);
  assert.equal(body.status, "DELIVERED");
  assert.equal(body.response_code, undefined);
});

test("a reply on another channel than the command's changes nothing; the right one finishes it", async () => {
  const sn = f.device("channel");
  const d = await dock({ sn, silent: true });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["DELIVERED"]);
  // fileupload_start goes out on services: its reply belongs on services_reply, not drc/up.
  const reply = JSON.stringify({
    tid: id,
    bid: "b",
    method: "fileupload_start",
    data: { result: 0 },
  });
  await d.publish(`thing/product/${sn}/drc/up`, reply);
  const problem = await f.waitForEvent((e) =>
    e.command_id === id && e.problem === "REPLY_WRONG_CHANNEL"
  );
  assert.equal(problem.event_type, "command.problem");
  assert.equal(problem.status, "DELIVERED");
  assert.match(problem.detail ?? "", /drc.*services/);
  const body = await f.get(id);
  assert.equal(body.status, "DELIVERED");
  assert.equal(body.response_code, undefined);
  await d.publish(`thing/product/${sn}/services_reply`, reply);
  const done = await f.waitForStatus(id, ["SUCCEEDED"]);
  assert.equal(done.response_code, "0");
});

test("a reply with an unknown tid is published as an unowned problem", async () => {
  const sn = f.device("stranger");
  const d = await dock({ sn, silent: true });
  const tid = crypto.randomUUID();
  await d.publish(
    `thing/product/${sn}/services_reply`,
    JSON.stringify({ tid, bid: "b", method: "fileupload_start", data: { result: 0 } }),
  );
  const problem = await f.waitForEvent(
    (e) => e.problem === "UNKNOWN_TID" && e.command_id === tid,
    10_000,
    f.unownedProblems,
  );
  assert.equal(problem.tenant_id, undefined);
  assert.equal(problem.device_id, sn);
});

test("malformed replies are dropped with a problem event and nothing breaks", async () => {
  const sn = f.device("garbage");
  const d = await dock({ sn, result: 0 });
  await d.publish(`thing/product/${sn}/services_reply`, "not json {");
  await d.publish(`thing/product/${sn}/services_reply`, JSON.stringify({ data: { result: 0 } }));
  await f.waitForEvent(
    (e) => e.device_id === sn && e.problem === "MALFORMED_REPLY_NOT_JSON",
    10_000,
    f.unownedProblems,
  );
  await f.waitForEvent(
    (e) => e.device_id === sn && e.problem === "MALFORMED_REPLY_NO_TID",
    10_000,
    f.unownedProblems,
  );
  const deep = "[".repeat(50_000) + "]".repeat(50_000);
  await d.publish(
    `thing/product/${sn}/services_reply`,
    `{"tid":"t","data":{"result":0,"output":${deep}}}`,
  );
  await f.waitForEvent(
    (e) => e.device_id === sn && e.problem === "MALFORMED_REPLY_TOO_DEEP",
    10_000,
    f.unownedProblems,
  );
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);
});

test("20 commands to one device reach it in acceptance order", async () => {
  const sn = f.device("fifo");
  const d = await dock({ sn, result: 0 });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await f.submit(sn));
  for (const id of ids) await f.waitForStatus(id, ["SUCCEEDED"]);
  assert.deepEqual(d.received.map((c) => c.tid), ids);
});

test("a NATS subscriber reads one command's events in order", async () => {
  const sn = f.device("events");
  await dock({ sn, result: 0, delayMs: 50 });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const completed = await f.waitForEvent((e) =>
    e.command_id === id && e.event_type === "command.completed"
  );
  const mine = f.events.filter((e) => e.command_id === id);
  assert.deepEqual(mine.map((e) => e.event_type), [
    "command.accepted",
    "command.delivered",
    "command.completed",
  ]);
  assert.equal(completed.status, "SUCCEEDED");
  assert.equal(completed.response_code, "0");
  assert.equal(completed.tenant_id, f.tenant_id);
  for (const e of mine) {
    assert.ok(!JSON.stringify(e).includes("access_key_secret"), "events never carry the payload");
  }
});
