import { test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats, deleteNamespaceStreams, ensureStreams } from "../../src/bus/nats.ts";
import { EVENTS_STREAM, topologyNames } from "../../src/bus/subjects.ts";
import { loadConfig } from "../../src/runtime/config.ts";
import { testEnv } from "../support/test_env.ts";

test("ensuring the events stream adds its subjects and keeps those another version added", async () => {
  const config = loadConfig(testEnv());
  const names = topologyNames(config.namespace);
  const nc = await connectNats(config.natsUrl, "nats-test");
  const jsm = await jetstreamManager(nc);
  const extra = `downlink_test.${config.namespace}`;
  try {
    await ensureStreams(nc, names);
    const before = (await jsm.streams.info(EVENTS_STREAM)).config;
    await jsm.streams.update(EVENTS_STREAM, { ...before, subjects: [...before.subjects, extra] });
    await ensureStreams(nc, names);
    const subjects = (await jsm.streams.info(EVENTS_STREAM)).config.subjects;
    assert.ok(subjects.includes(extra), JSON.stringify(subjects));
    assert.ok(subjects.includes("downlink.device.*.*"));
    assert.ok(subjects.includes("tenant.*.command.*"));
  } finally {
    const now = (await jsm.streams.info(EVENTS_STREAM)).config;
    await jsm.streams.update(EVENTS_STREAM, {
      ...now,
      subjects: now.subjects.filter((s) => s !== extra),
    }).catch(() => {});
    await deleteNamespaceStreams(nc, names);
    await nc.close();
  }
});
