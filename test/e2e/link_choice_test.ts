// DOWNLINK_LINK picks what carries commands and facts between the roles of one process: by
// default JetStream carries the dispatch, the command for the bridge and the delivered fact as
// it does between processes; with `local` the shard and the bridge next door hand them over in
// memory, and only the reply still travels through JetStream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator } from "../../src/cli/dock_simulate.ts";
import { partitionOf } from "../../src/command/partition.ts";

/** Runs one command through a one-process Downlink and says which of its messages crossed
 * JetStream's shard and bridge subjects (seen by a plain NATS subscriber). */
async function messagesOfOneCommand(link: string) {
  // "" is unset: the default.
  const f = await startLifecycleFixture({ env: { DOWNLINK_LINK: link } });
  const names = f.harness.downlink.context.names;
  const dock = await createDockSimulator({ mqttUrl: f.mqttUrl, sn: f.device("link"), result: 0 });
  try {
    const sn = dock.sns[0];
    const p = partitionOf(sn, f.harness.config.partitions);
    const seen: { subject: string; kind?: string }[] = [];
    const subs = [names.shardSubjects, names.bridgeSubjects].map((s) => f.nc.subscribe(s));
    for (const sub of subs) {
      void (async () => {
        for await (const m of sub) {
          let kind: string | undefined;
          try {
            kind = m.json<{ kind?: string }>().kind;
          } catch { /* not JSON */ }
          seen.push({ subject: m.subject, kind });
        }
      })();
    }
    await f.nc.flush();
    await dock.answered();
    const id = await f.submit(sn);
    await f.waitForStatus(id, ["SUCCEEDED"]);
    // The reply crossed JetStream under either adapter: wait for it, then for what may trail it.
    const facts = () => seen.filter((m) => m.subject === names.factSubject(p, sn));
    const deadline = Date.now() + 5_000;
    while (!facts().some((m) => m.kind === "reply") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const sub of subs) sub.unsubscribe();
    return {
      dispatches: seen.filter((m) => m.subject === names.commandSubject(p, sn)).length,
      bridgeCommands: seen.filter((m) => m.subject === names.bridgeSubject(p, sn)).length,
      delivered: facts().filter((m) => m.kind === "delivered").length,
      replies: facts().filter((m) => m.kind === "reply").length,
    };
  } finally {
    await dock.stop();
    await f.stop();
  }
}

test("by default JetStream carries the dispatch, the bridge command and the facts in one process", async () => {
  assert.deepEqual(await messagesOfOneCommand(""), {
    dispatches: 1,
    bridgeCommands: 1,
    delivered: 1,
    replies: 1,
  });
});

test("with DOWNLINK_LINK=local the shard and bridge next door hand over all but the reply", async () => {
  assert.deepEqual(await messagesOfOneCommand("local"), {
    dispatches: 0,
    bridgeCommands: 0,
    delivered: 0,
    replies: 1,
  });
});
