// The KV nonce cache on real NATS: a nonce is accepted once per client across instances.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { createKvNonceCache, NONCE_BUCKET_TTL_MS } from "../../src/bus/nonce_cache.ts";
import { type ApiFixture, manualClock, startApiFixture } from "../support/api_fixtures.ts";
import { newNonce } from "../../src/http/signing.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture({ serve: false });
});
after(async () => {
  await f?.stop();
});

test("a nonce claimed by one instance is a replay for another", async () => {
  const clock = manualClock();
  const a = await createKvNonceCache(f.nc, f.names, { clock });
  const b = await createKvNonceCache(f.nc, f.names, { clock });
  try {
    const nonce = newNonce();
    assert.equal(await a.claim("ak_1", nonce, 300), true);
    assert.equal(await b.claim("ak_1", nonce, 300), false);
    assert.equal(await a.claim("ak_1", nonce, 300), false);
    assert.equal(await b.claim("ak_2", nonce, 300), true);
  } finally {
    a.close();
    b.close();
  }
});

test("concurrent claims of one nonce succeed exactly once", async () => {
  const clock = manualClock();
  const cache = await createKvNonceCache(f.nc, f.names, { clock });
  try {
    const nonce = newNonce();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => cache.claim("ak_c", nonce, 300)),
    );
    assert.equal(results.filter(Boolean).length, 1);
  } finally {
    cache.close();
  }
});

test("a nonce older than the retention is fresh again, exactly once", async () => {
  const clock = manualClock();
  const cache = await createKvNonceCache(f.nc, f.names, { clock });
  try {
    const nonce = newNonce();
    assert.equal(await cache.claim("ak_r", nonce, 10), true);
    clock.advance(10_001);
    const again = await Promise.all([
      cache.claim("ak_r", nonce, 10),
      cache.claim("ak_r", nonce, 10),
    ]);
    assert.deepEqual(again.sort(), [false, true]);
  } finally {
    cache.close();
  }
});

test("the bucket keeps nonces for the longest window plus skew (2 h)", async () => {
  const jsm = await jetstreamManager(f.nc);
  const info = await jsm.streams.info(`KV_${f.names.nonceBucket}`);
  assert.equal(info.config.max_age, NONCE_BUCKET_TTL_MS * 1e6);
  assert.ok(NONCE_BUCKET_TTL_MS >= 2 * 3600 * 1000);
});
