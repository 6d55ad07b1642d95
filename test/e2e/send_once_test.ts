// A command reaches its dock at most once: once claimed for sending, no restore, redelivered
// dispatch or recovered outbox row publishes it again (a dock would run it twice).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { partitionOf } from "../../src/command/partition.ts";
import { createLifecycleStore } from "../../src/store/lifecycle_store.ts";
import type { CommandDispatch } from "../../src/bus/messages.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { uniqueName } from "../support/harness.ts";
import { openPostgres } from "../../src/composition_root.ts";

const docks: DockSimulator[] = [];
const fixtures: LifecycleFixture[] = [];
after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  for (const f of fixtures) await f.stop().catch(() => {});
});

test("a dispatch of a finished command delivered again as new is not sent to the dock", async () => {
  const f = await startLifecycleFixture();
  fixtures.push(f);
  const sn = f.device("again");
  const dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn });
  docks.push(dock);
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);

  // What JetStream hands a shard after nats-server lost its consumer's acks: the command's
  // dispatch again, as a first delivery.
  const { sql, names, config, publisher } = f.harness.downlink.context;
  const [row] = await sql`select * from commands where command_id = ${id}`;
  const dispatch: CommandDispatch = {
    kind: "command",
    command_id: id,
    tenant_id: row.tenant_id,
    client_id: row.client_id,
    vendor: row.vendor,
    device_id: sn,
    command_type: row.command_type,
    channel: row.channel,
    bid: row.bid,
    timeout_seconds: row.timeout_seconds,
    accepted_at: Date.now(),
    deadline_at: Date.now() + 10_000,
    payload_enc: Buffer.from(row.payload_enc).toString("base64"),
  };
  await publisher.publish(
    names.commandSubject(partitionOf(sn, config.partitions), sn),
    new TextEncoder().encode(JSON.stringify(dispatch)),
    uniqueName("again"),
  );
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(dock.received.filter((c) => c.tid === id).length, 1, "received once");
  assert.equal((await f.get(id)).status, "SUCCEEDED");
});

test("a command claimed for sending before a crash is not sent again by the restore", async () => {
  const namespace = uniqueName();
  const env = { DOWNLINK_NAMESPACE: namespace, DOWNLINK_DB_SCHEMA: namespace };
  const first = await startLifecycleFixture({ env });
  const sn = first.device("crashed");
  // A dock that takes the command and never answers: it stays DELIVERED until the crash.
  const dock = await createDockSimulator({ mqttUrl: first.mqttUrl, sn, silent: true });
  docks.push(dock);
  const id = await first.submit(sn, { timeout_seconds: 4 });
  await first.waitForStatus(id, ["DELIVERED"]);
  // As the process left it if killed between the broker's PUBACK and the DELIVERED commit: the
  // command claimed for sending, its row still ACCEPTED.
  await first.harness.downlink.stop();
  await first.nc.close();
  const direct = openPostgres(first.harness.config, { poolSize: 1 });
  await direct`update commands set status = 'ACCEPTED', delivered_at = null, snapshot = null
    where command_id = ${id}`;
  const [{ sending_at }] = await direct`select sending_at from in_flight_commands
    where command_id = ${id}`;
  assert.ok(sending_at, "claimed before it was sent");

  const second = await startLifecycleFixture({ env });
  fixtures.push(second);
  // Its tenant's client belongs to the first fixture: read the row.
  let status = "ACCEPTED";
  for (let i = 0; i < 200 && (status === "ACCEPTED" || status === "DELIVERED"); i++) {
    await new Promise((r) => setTimeout(r, 50));
    [{ status }] = await direct`select status from commands where command_id = ${id}`;
  }
  await direct.end();
  assert.equal(status, "TIMED_OUT");
  assert.equal(dock.received.filter((c) => c.tid === id).length, 1, "not sent again");
});

test("a claim whose answer was lost is found as claimed by its retry, and refused to anyone else", async () => {
  const f = await startLifecycleFixture();
  fixtures.push(f);
  const sn = f.device("claim");
  const dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn, silent: true });
  docks.push(dock);
  const id = await f.submit(sn, { timeout_seconds: 30 });
  await f.waitForStatus(id, ["DELIVERED"]);
  const { sql } = f.harness.downlink.context;
  await sql`update in_flight_commands set sending_at = null, sending_by = null
    where command_id = ${id}`;
  const store = createLifecycleStore(sql);
  const mine = crypto.randomUUID();
  assert.equal((await store.claimSends([id], mine)).get(id), "claimed");
  assert.equal((await store.claimSends([id], mine)).get(id), "claimed", "the retry");
  assert.equal((await store.claimSends([id], crypto.randomUUID())).get(id), "sent");
});
