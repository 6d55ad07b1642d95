// Lifecycle events are committed with the state they report (the event outbox) and published
// from there: every event of a command is in the stream once, in order, and an event a crashed
// process committed but never published is published by the shard that takes its partition.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { loadConfig } from "../../src/runtime/config.ts";
import { createLogger } from "../../src/runtime/log.ts";
import {
  eventSubject,
  type LifecycleEvent,
  storedEvent,
} from "../../src/command/lifecycle_event.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { startHarness, testEnv } from "../support/harness.ts";
import { streamEvents } from "../support/stream_events.ts";
import { openNats, openStorage, startDownlink } from "../../src/composition_root.ts";

let f: LifecycleFixture;
let dock: DockSimulator;

before(async () => {
  f = await startLifecycleFixture();
});
after(async () => {
  await dock?.stop();
  await f?.stop();
});

test("a finished command's events are in the stream once each, in order, and leave the outbox", async () => {
  const sn = f.device("outbox");
  dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn });
  const id = await f.submit(sn);
  await f.waitForStatus(id, ["SUCCEEDED"]);
  const { sql } = f.harness.downlink.context;
  for (let i = 0;; i++) {
    const [{ n }] = await sql`select count(*)::int as n from event_outbox`;
    if (n === 0) break;
    assert.ok(i < 100, `${n} events still in the outbox`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const events = (await streamEvents(f.nc, `tenant.${f.tenant_id}.command.*`))
    .filter((e) => e.command_id === id);
  assert.deepEqual(events.map((e) => e.event_type), [
    "command.accepted",
    "command.delivered",
    "command.completed",
  ]);
});

test("events a crashed process committed are published, once and in order, by the partition's next owner", async () => {
  const env = testEnv();
  const config = loadConfig(env);
  const { sql, close } = await openStorage(config, { poolSize: 1 });
  const nc = await openNats(config.natsUrl, "event-outbox-test");
  const tenant = `tenant_${crypto.randomUUID().slice(0, 8)}`;
  const command_id = crypto.randomUUID();
  const event = (type: "delivered" | "completed", status: "DELIVERED" | "SUCCEEDED") =>
    storedEvent(
      {
        event_id: crypto.randomUUID(),
        event_type: `command.${type}`,
        command_id,
        tenant_id: tenant,
        device_id: "DOCK-1",
        status,
        occurred_at: new Date().toISOString(),
      } satisfies LifecycleEvent,
    );
  const delivered = event("delivered", "DELIVERED");
  const completed = event("completed", "SUCCEEDED");
  let harness;
  try {
    // What a process killed after its commit leaves: two events of one command in the outbox,
    // the first of them published already (its row's deletion was lost with the process).
    for (const e of [delivered, completed]) {
      await sql`insert into event_outbox (event_id, partition, command_id, subject, body)
        values (${e.event_id}, 1, ${command_id}, ${e.subject}, ${e.body})`;
    }
    const killed = await startDownlink(config, { log: createLogger("silent"), roles: new Set() });
    await killed.context.events.publish(delivered);
    await killed.stop();

    harness = await startHarness({ env });
    const [{ n }] = await sql`select count(*)::int as n from event_outbox`;
    assert.equal(n, 0, "the outbox is empty once the partitions are taken");
    const events = await streamEvents(
      nc,
      eventSubject(tenant, "delivered").replace(
        ".delivered",
        ".*",
      ),
    );
    assert.deepEqual(events.map((e) => e.event_id), [delivered.event_id, completed.event_id]);
  } finally {
    await harness?.stop();
    await nc.close();
    await close();
  }
});
