// The metrics registry: counters with labels, counters read from elsewhere at each scrape,
// in the Prometheus text format.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createHistogram,
  createMetricsRegistry,
  metricName,
  roleCounters,
} from "../../src/runtime/metrics.ts";

test("a counter renders HELP, TYPE and one line per label set", () => {
  const registry = createMetricsRegistry();
  const responses = registry.counter("http_responses", "HTTP responses by status code");
  responses.inc({ status: "200" });
  responses.inc({ status: "200" });
  responses.inc({ status: "404" }, 3);

  assert.equal(
    registry.render(),
    [
      "# HELP http_responses_total HTTP responses by status code",
      "# TYPE http_responses_total counter",
      'http_responses_total{status="200"} 2',
      'http_responses_total{status="404"} 3',
      "",
    ].join("\n"),
  );
});

test("asking for a counter twice returns the same counter", () => {
  const registry = createMetricsRegistry();
  registry.counter("jobs_total", "jobs").inc();
  registry.counter("jobs", "jobs").inc();
  assert.match(registry.render(), /^jobs_total 2$/m);
});

test("label values are escaped", () => {
  const registry = createMetricsRegistry();
  registry.counter("x", "x").inc({ v: 'a"b\\c\nd' });
  assert.match(registry.render(), /^x_total\{v="a\\"b\\\\c\\nd"\} 1$/m);
});

test("collected records are read live at each scrape, prefixed and named as counters", () => {
  const shard: Record<string, number> = { transitions: 1 };
  const bridge: Record<string, number> = {};
  const registry = createMetricsRegistry();
  registry.collect(roleCounters({ shard, bridge }), { prefix: "downlink_" });
  assert.match(registry.render(), /^downlink_shard_transitions_total 1$/m);

  shard.transitions = 5;
  bridge["mqtt.reconnects"] = 2;

  const text = registry.render();
  assert.match(text, /^downlink_shard_transitions_total 5$/m);
  assert.match(text, /^# TYPE downlink_bridge_mqtt_reconnects_total counter$/m);
  assert.match(text, /^downlink_bridge_mqtt_reconnects_total 2$/m);
});

test("a source that throws leaves the rest of the scrape intact", () => {
  const registry = createMetricsRegistry();
  registry.counter("ok", "ok").inc();
  registry.collect(() => {
    throw new Error("role stopping");
  });
  assert.match(registry.render(), /^ok_total 1$/m);
});

test("gauges are read once per scrape and rendered with their help and type", () => {
  const registry = createMetricsRegistry();
  let reads = 0;
  let queued = 3;
  registry.gauges(() => {
    reads++;
    return { queue_depth: queued, queue_bytes: queued * 10 };
  }, { queue_depth: "Items waiting", queue_bytes: "Bytes waiting" });

  assert.equal(
    registry.render(),
    [
      "# HELP queue_depth Items waiting",
      "# TYPE queue_depth gauge",
      "queue_depth 3",
      "# HELP queue_bytes Bytes waiting",
      "# TYPE queue_bytes gauge",
      "queue_bytes 30",
      "",
    ].join("\n"),
  );
  queued = 1;
  assert.match(registry.render(), /^queue_depth 1$/m);
  assert.equal(reads, 2);
});

test("a gauge source that throws leaves the rest of the scrape intact", () => {
  const registry = createMetricsRegistry();
  registry.counter("ok", "ok").inc();
  registry.gauges(() => {
    throw new Error("not available here");
  }, {});
  assert.equal(registry.render(), "# HELP ok_total ok\n# TYPE ok_total counter\nok_total 1\n");
});

test("metric names keep only Prometheus characters", () => {
  assert.equal(metricName("a.b-c d"), "a_b_c_d");
  assert.equal(metricName("9lives"), "_9lives");
});

test("a histogram renders cumulative buckets, +Inf, sum and count", () => {
  const registry = createMetricsRegistry();
  const h = createHistogram("commit_seconds", "Commit latency.", [0.1, 0.01, 1]);
  registry.histogram(h);
  for (const v of [0.005, 0.01, 0.05, 0.5, 3]) h.observe(v);
  assert.equal(
    registry.render(),
    [
      "# HELP commit_seconds Commit latency.",
      "# TYPE commit_seconds histogram",
      'commit_seconds_bucket{le="0.01"} 2',
      'commit_seconds_bucket{le="0.1"} 3',
      'commit_seconds_bucket{le="1"} 4',
      'commit_seconds_bucket{le="+Inf"} 5',
      "commit_seconds_sum 3.565",
      "commit_seconds_count 5",
      "",
    ].join("\n"),
  );
});
