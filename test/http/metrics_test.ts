// GET /metrics on a real api role: unsigned Prometheus text, HTTP responses counted by status,
// the counters other roles hand in through startApiRole's `metrics` option, process memory and
// how late the event loop runs.
import { after, before, describe, test } from "node:test";
import { performance } from "node:perf_hooks";
import { setTimeout } from "node:timers";
import assert from "node:assert/strict";
import { type ApiFixture, seedCommand, startApiFixture } from "../support/api_fixtures.ts";
import { startApiRole } from "../../src/http/api_role.ts";
import { createJetStreamLink } from "../../src/link/jetstream_link.ts";
import { roleCounters } from "../../src/metrics.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

async function scrape(
  baseUrl = f.baseUrl,
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${baseUrl}/metrics`);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    text: await res.text(),
  };
}

function responses(text: string, status: number): number {
  const m = text.match(
    new RegExp(`^downlink_http_responses_total\\{status="${status}"\\} (\\d+)$`, "m"),
  );
  return m ? Number(m[1]) : 0;
}

describe("GET /metrics", () => {
  test("is unsigned Prometheus text", async () => {
    const res = await scrape();
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^# TYPE downlink_http_responses_total counter$/m);
  });

  test("shows the process's resident memory and heap as gauges", async () => {
    const { text } = await scrape();
    for (const name of ["process_resident_memory_bytes", "downlink_heap_used_bytes"]) {
      assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, "m"));
      assert.match(text, new RegExp(`^${name} [1-9]\\d*$`, "m"));
    }
  });

  test("shows how late the event loop ran since the previous scrape", async () => {
    await scrape(); // a new window starts here
    // Hold the one thread, as a slow handler would: the sampler's next tick runs that late.
    const stalledUntil = performance.now() + 150;
    while (performance.now() < stalledUntil) { /* busy */ }
    // A timer due after the sampler's: when it has run, the late tick has been recorded.
    await new Promise((resolve) => setTimeout(resolve, 0));

    const { text } = await scrape();
    for (const q of ["p50", "p99", "max"]) {
      assert.match(text, new RegExp(`^# TYPE downlink_event_loop_delay_${q}_seconds gauge$`, "m"));
    }
    const max = text.match(/^downlink_event_loop_delay_max_seconds (\S+)$/m);
    assert.ok(max, `no max delay in:\n${text}`);
    assert.ok(Number(max[1]) >= 0.1, `a 150 ms stall shows as a max delay of ${max[1]} s`);
  });

  test("counts HTTP responses by status code, error responses included", async () => {
    const caller = await f.createClient();
    const before = (await scrape()).text;

    await caller.http.request("GET", "/api/v1/open/downlink/commands"); // 200
    await caller.http.request("GET", "/api/v1/open/downlink/commands", { unsigned: true }); // 401
    await caller.http.request("GET", "/api/v1/open/downlink/commands", { unsigned: true }); // 401
    await fetch(`${f.baseUrl}/no/such/route`); // 404

    const now = (await scrape()).text;
    assert.equal(responses(now, 200) - responses(before, 200), 2); // the list and the scrape
    assert.equal(responses(now, 401) - responses(before, 401), 2);
    assert.equal(responses(now, 404) - responses(before, 404), 1);
  });

  test("times each accepted command in downlink_http_accept_seconds, and nothing else", async () => {
    const caller = await f.createClient();
    const count = (text: string) =>
      Number(text.match(/^downlink_http_accept_seconds_count (\d+)$/m)?.[1] ?? NaN);
    const before = (await scrape()).text;
    assert.match(before, /^# TYPE downlink_http_accept_seconds histogram$/m);

    const body = seedCommand();
    assert.equal((await caller.http.createCommand(body)).status, 202);
    // An idempotent replay is answered 202 as well: the caller waited for it all the same.
    assert.equal((await caller.http.createCommand(body)).status, 202);
    // Neither a refused POST nor a GET on the path is an accept.
    assert.equal((await caller.http.createCommand({ ...seedCommand(), vendor: "x" })).status, 400);
    await caller.http.request("GET", "/api/v1/open/downlink/commands");

    const now = (await scrape()).text;
    assert.equal(count(now) - count(before), 2);
    assert.match(now, /^downlink_http_accept_seconds_bucket\{le="\+Inf"\} \d+$/m);
  });

  test("shows the counters other roles hand to startApiRole, read at each scrape", async () => {
    const shard: Record<string, number> = { transitions: 3 };
    const bridge: Record<string, number> = { delivered: 2 };
    const api = await startApiRole(f.ctx, {
      link: createJetStreamLink(f.ctx),
      port: 0,
      readiness: async () => ({}),
      metrics: roleCounters({ shard, bridge }),
    });
    try {
      const baseUrl = `http://127.0.0.1:${api.port}`;
      const first = (await scrape(baseUrl)).text;
      assert.match(first, /^downlink_shard_transitions_total 3$/m);
      assert.match(first, /^downlink_bridge_delivered_total 2$/m);

      shard.transitions = 10;
      assert.match((await scrape(baseUrl)).text, /^downlink_shard_transitions_total 10$/m);
    } finally {
      await api.stop();
    }
  });
});
