// The api role started on its own on a real role context: what other roles hand it shows at
// /metrics.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { startApiRole } from "../../src/http/api_role.ts";
import { openPostgres } from "../../src/composition_root.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import { roleCounters } from "../../src/runtime/metrics.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture({ serve: false });
});
after(async () => {
  await f?.stop();
});

const scrape = async (baseUrl: string) => await (await fetch(`${baseUrl}/metrics`)).text();

describe("startApiRole", () => {
  test("shows the counters other roles hand to startApiRole, read at each scrape", async () => {
    const shard: Record<string, number> = { transitions: 3 };
    const bridge: Record<string, number> = { delivered: 2 };
    const api = await startApiRole(f.ctx, {
      port: 0,
      probeSql: openPostgres(f.config, { poolSize: 1 }),
      link: createJetStreamLink(f.ctx),
      readiness: async () => ({}),
      metrics: roleCounters({ shard, bridge }),
    });
    try {
      const baseUrl = `http://127.0.0.1:${api.port}`;
      const first = await scrape(baseUrl);
      assert.match(first, /^downlink_shard_transitions_total 3$/m);
      assert.match(first, /^downlink_bridge_delivered_total 2$/m);

      shard.transitions = 10;
      assert.match(await scrape(baseUrl), /^downlink_shard_transitions_total 10$/m);
    } finally {
      await api.stop();
    }
  });
});
