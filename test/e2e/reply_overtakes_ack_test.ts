// A reply that reaches the shard before the bridge's delivery ack, made deterministic: no
// bridge role runs, the test plays the bridge and sends the reply first, then the ack.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import type { DeliveredFact, PresenceFact, ReplyFact } from "../../src/bus/messages.ts";
import { partitionOf } from "../../src/command/partition.ts";
import { jetstreamManager } from "@nats-io/jetstream";

let f: LifecycleFixture;

before(async () => {
  f = await startLifecycleFixture({ env: { DOWNLINK_ROLES: "api,shard" } });
});

after(async () => {
  await f.stop();
});

test("a reply before the delivery ack ends the command from ACCEPTED; the late ack changes nothing", async () => {
  const sn = f.device("overtaken");
  const { nc, names, config } = f.harness.downlink.context;
  const partition = partitionOf(sn, config.partitions);
  // Hosted: the shard handed the command to the (absent) bridge. Hosting writes nothing to
  // Postgres, so the ToDevice message is the sign.
  const toBridge = nc.subscribe(names.bridgeSubject(partition, sn), { max: 1 });
  const id = await f.submit(sn);
  // As the bridge would tell it of a dock's update_topo: the command waits for its gateway.
  const online: PresenceFact = {
    kind: "seen",
    devices: [{ device_id: sn, at: Date.now(), gateway: true }],
  };
  await nc.request(
    names.presenceSubject(partition),
    new TextEncoder().encode(JSON.stringify(online)),
  );
  for await (const _ of toBridge) break;
  const subject = names.factSubject(partition, sn);
  const publish = (m: ReplyFact | DeliveredFact) =>
    f.harness.downlink.context.nc.request(subject, new TextEncoder().encode(JSON.stringify(m)));
  await publish({
    kind: "reply",
    vendor: "dji",
    gateway: sn,
    channel: "services",
    received_at: Date.now(),
    reply: { tid: id, bid: "b", method: "fileupload_start", data: { result: 0 } },
  });
  const body = await f.waitForStatus(id, ["SUCCEEDED"]);
  assert.equal(body.delivered_at, undefined);
  await publish({ kind: "delivered", command_id: id, device_id: sn, at: Date.now() });
  // The shard acknowledges a fact once what it changed is committed: wait for that, not a while.
  const jsm = await jetstreamManager(nc);
  for (;;) {
    const info = await jsm.consumers.info(names.shardStream, names.shardConsumer(partition));
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await f.nc.flush();
  const again = await f.get(id);
  assert.equal(again.status, "SUCCEEDED");
  const kinds = f.events.filter((e) => e.command_id === id).map((e) => e.event_type);
  assert.deepEqual(kinds, ["command.accepted", "command.completed"]);
});
