import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketsOf, percentileBetween } from "../../soak/histogram_window.ts";

const scrape = (counts: Record<string, number>) =>
  new Map(
    Object.entries(counts).map(([le, n]) => [`downlink_x_seconds_bucket{le="${le}"}`, n]),
  );

test("the p99 of the observations between two scrapes is the bound of its bucket", () => {
  const before = bucketsOf(
    scrape({ "0.01": 100, "0.1": 100, "1": 100, "+Inf": 100 }),
    "downlink_x_seconds",
  );
  // 200 new: 190 under 10 ms, 8 under 100 ms, 2 under 1 s.
  const after = bucketsOf(
    scrape({ "0.01": 290, "0.1": 298, "1": 300, "+Inf": 300 }),
    "downlink_x_seconds",
  );
  assert.equal(percentileBetween(before, after, 99), 0.1);
  assert.equal(percentileBetween(before, after, 50), 0.01);
  assert.equal(percentileBetween(before, after, 100), 1);
});

test("nothing observed between the scrapes has no percentile; past every bound is Infinity", () => {
  const same = bucketsOf(scrape({ "0.01": 5, "+Inf": 5 }), "downlink_x_seconds");
  assert.equal(percentileBetween(same, same, 99), undefined);
  const later = bucketsOf(scrape({ "0.01": 5, "+Inf": 9 }), "downlink_x_seconds");
  assert.equal(percentileBetween(same, later, 99), Infinity);
});

test("other metrics' samples are not read as buckets", () => {
  const m = new Map([
    ['downlink_x_seconds_bucket{le="0.5"}', 3],
    ['downlink_y_seconds_bucket{le="0.5"}', 7],
    ["downlink_x_seconds_count", 3],
  ]);
  assert.deepEqual([...bucketsOf(m, "downlink_x_seconds")], [[0.5, 3]]);
});
