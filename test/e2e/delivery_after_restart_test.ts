// Presence survives a restart for delivery too: a dock that announced itself once, before the
// restart, gets a command right after it without announcing itself again, because the shard
// that takes its partition restores the registry from Postgres before it drives commands.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { uniqueName } from "../support/harness.ts";
import { seedCommand } from "../support/api_fixtures.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient } from "../../src/client/downlink_client.ts";

const docks: DockSimulator[] = [];
const fixtures: LifecycleFixture[] = [];
after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  for (const f of fixtures) await f.stop().catch(() => {});
});

test("a dock known online before a restart gets a command after it without announcing itself again", async () => {
  const namespace = uniqueName();
  const env = {
    DOWNLINK_NAMESPACE: namespace,
    DOWNLINK_DB_SCHEMA: namespace,
    DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: "20",
  };
  const first = await startLifecycleFixture({ env });
  const sn = first.device("steady");
  // One update_topo and then nothing of its own accord for a minute: only its answers speak.
  const dock = await createDockSimulator({
    mqttUrl: first.mqttUrl,
    sn,
    presence: { osdIntervalMs: 60_000, resendMs: 60_000 },
  });
  docks.push(dock);
  await dock.answered();
  const announced = dock.presenceCounts(sn).topo;
  await first.harness.downlink.stop();
  await first.nc.close();

  const second = await startLifecycleFixture({ env });
  fixtures.push(second);
  // The second fixture's client is granted its own prefix: one granted this dock sends.
  const { sql, cipher } = second.harness.downlink.context;
  const { client, secret } = await createPostgresClientStore(sql, cipher).createClient({
    tenantId: second.tenant_id,
    name: "restart",
    devices: [sn],
  });
  const http = createDownlinkClient({
    baseUrl: second.harness.baseUrl,
    clientId: client.client_id,
    secret,
  });
  const res = await http.createCommand(
    seedCommand({ device_id: sn, timeout_seconds: 10 }) as never,
  );
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = (res.body as { command_id: string }).command_id;
  const done = await second.waitForStatus(id, ["SUCCEEDED"], 10_000);
  assert.ok(done.delivered_at);
  assert.deepEqual(dock.received.map((c) => c.tid), [id]);
  assert.equal(dock.presenceCounts(sn).topo, announced, "no update_topo since the restart");
});
