import { test } from "node:test";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/runtime/config.ts";

test("defaults point at the local services and run every role", () => {
  const c = loadConfig({});
  assert.equal(c.databaseUrl, "postgres://postgres@127.0.0.1:5432/test");
  assert.equal(c.natsUrl, "nats://127.0.0.1:4222");
  assert.equal(c.mqttUrl, "mqtt://127.0.0.1:1883");
  assert.equal(c.port, 8080);
  assert.deepEqual([...c.roles].sort(), ["api", "bridge", "shard"]);
  assert.equal(c.defaultTimeoutSeconds, 30);
  assert.equal(c.dataKeyIsDevelopment, true);
});

test("production without DOWNLINK_DATA_KEY stops start-up naming the variable", () => {
  assert.throws(() => loadConfig({ DOWNLINK_ENV: "production" }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /DOWNLINK_DATA_KEY is required/);
    return true;
  });
});

test("a malformed DOWNLINK_DATA_KEY is refused even in development", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_DATA_KEY: "c2hvcnQ=" }),
    /DOWNLINK_DATA_KEY must be 32 bytes/,
  );
});

test("a 32-byte base64 key is accepted in production", () => {
  const key = Buffer.alloc(32, 7).toString("base64");
  const c = loadConfig({ DOWNLINK_ENV: "production", DOWNLINK_DATA_KEY: key });
  assert.equal(c.dataKeyIsDevelopment, false);
  assert.deepEqual([...c.dataKey], [...new Uint8Array(32).fill(7)]);
});

test("a non-integer PORT names the variable and the value seen", () => {
  assert.throws(() => loadConfig({ PORT: "80a" }), /PORT must be an integer, got "80a"/);
});

test("an unknown role is refused", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_ROLES: "api,worker" }),
    /DOWNLINK_ROLES must list roles/,
  );
});

test("an out-of-range value is refused with the variable's name", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_DEFAULT_TIMEOUT_SECONDS: "301" }),
    /DOWNLINK_DEFAULT_TIMEOUT_SECONDS/,
  );
});

test("an unknown DOWNLINK_ENV lists the allowed values and the value seen", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_ENV: "prod" }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        'DOWNLINK_ENV must be one of development, production, got "prod"',
      );
      return true;
    },
  );
});

test("an unknown DOWNLINK_LOG_LEVEL lists the allowed values and the value seen", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_LOG_LEVEL: "verbose" }),
    /^ConfigError: DOWNLINK_LOG_LEVEL must be one of debug, info, warn, error, silent, got "verbose"$/,
  );
});

test("DOWNLINK_LINK is jetstream unless set to local; anything else names the allowed values", () => {
  assert.equal(loadConfig({}).link, "jetstream");
  assert.equal(loadConfig({ DOWNLINK_LINK: "local" }).link, "local");
  assert.throws(
    () => loadConfig({ DOWNLINK_LINK: "memory" }),
    /^ConfigError: DOWNLINK_LINK must be one of jetstream, local, got "memory"$/,
  );
});

test("an unknown role in DOWNLINK_ROLES is named with the allowed roles", () => {
  assert.throws(
    () => loadConfig({ DOWNLINK_ROLES: "api,worker" }),
    /^ConfigError: DOWNLINK_ROLES must list roles among api, shard, bridge: "worker" is not one, got "api,worker"$/,
  );
});

test("a gateway is offline after 30 s of silence by default, and 0 s is refused", () => {
  assert.equal(loadConfig({}).deviceOfflineAfterSeconds, 30);
  assert.equal(
    loadConfig({ DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: "5" }).deviceOfflineAfterSeconds,
    5,
  );
  assert.throws(
    () => loadConfig({ DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS: "0" }),
    /^ConfigError: DOWNLINK_DEVICE_OFFLINE_AFTER_SECONDS is invalid: .*, got "0"$/,
  );
});

test("a command waits for its gateway by default; DOWNLINK_DELIVER_WHEN_OFFLINE=true sends it anyway", () => {
  assert.equal(loadConfig({}).deliverWhenOffline, false);
  assert.equal(loadConfig({ DOWNLINK_DELIVER_WHEN_OFFLINE: "true" }).deliverWhenOffline, true);
  assert.throws(
    () => loadConfig({ DOWNLINK_DELIVER_WHEN_OFFLINE: "sometimes" }),
    /^ConfigError: DOWNLINK_DELIVER_WHEN_OFFLINE must be 1\/0\/true\/false, got "sometimes"$/,
  );
});

test("a command waits for the running job of its class by default; DOWNLINK_HOLD_BY_CLASS=0 sends it anyway", () => {
  assert.equal(loadConfig({}).holdByClass, true);
  assert.equal(loadConfig({ DOWNLINK_HOLD_BY_CLASS: "0" }).holdByClass, false);
  assert.throws(
    () => loadConfig({ DOWNLINK_HOLD_BY_CLASS: "maybe" }),
    /^ConfigError: DOWNLINK_HOLD_BY_CLASS must be 1\/0\/true\/false, got "maybe"$/,
  );
});

test("device requests: Downlink answers after 5 s, a request expires after 60 s; both take fractions", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.deviceRequestGraceSeconds, 5);
  assert.equal(defaults.deviceRequestExpirySeconds, 60);
  const set = loadConfig({
    DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: "0.5",
    DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS: "30",
  });
  assert.equal(set.deviceRequestGraceSeconds, 0.5);
  assert.equal(set.deviceRequestExpirySeconds, 30);
  assert.throws(
    () => loadConfig({ DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS: "soon" }),
    /^ConfigError: DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS must be a number, got "soon"$/,
  );
  assert.throws(
    () => loadConfig({ DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS: "0" }),
    /^ConfigError: DOWNLINK_DEVICE_REQUEST_EXPIRY_SECONDS is invalid: .*, got "0"$/,
  );
});

test("a number variable takes a decimal (DOWNLINK_MAX_REPLY_LAG_SECONDS)", () => {
  assert.equal(loadConfig({ DOWNLINK_MAX_REPLY_LAG_SECONDS: "2.5" }).maxReplyLagSeconds, 2.5);
});
