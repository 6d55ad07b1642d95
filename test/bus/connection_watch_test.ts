// The NATS connection watch on a real server behind a TCP proxy: down from the disconnect until
// the reconnect, and for good once the connection is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { watchConnection } from "../../src/bus/connection_watch.ts";
import { eventually } from "../support/api_fixtures.ts";
import { startTcpProxy } from "../support/tcp_proxy.ts";
import { testEnv } from "../support/test_env.ts";
import { openNats } from "../../src/composition_root.ts";

test("the watch is down while NATS is away, up again after the reconnect, down once closed", async () => {
  const natsUrl = loadConfig(testEnv()).natsUrl.split(",")[0];
  const target = new URL(natsUrl);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 4222));
  const nc = await openNats(proxy.url(natsUrl), "test-connection-watch");
  const watch = watchConnection(nc);
  try {
    assert.equal(watch.connected, true);
    await proxy.close();
    await eventually(() => watch.connected ? undefined : true, 5_000, "the disconnect");
    await proxy.open();
    await eventually(() => watch.connected || undefined, 10_000, "the reconnect");
    await nc.close();
    assert.equal(watch.connected, false);
  } finally {
    watch.close();
    await nc.close().catch(() => {});
    await proxy.stop();
  }
});
