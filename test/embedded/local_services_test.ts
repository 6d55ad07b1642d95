// Finding or starting PostgreSQL, NATS and Mosquitto: real embedded servers on free ports
// standing in for the default ones, in a temp data folder.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import postgres from "postgres";
import mqtt from "mqtt";
import { jetstreamManager } from "@nats-io/jetstream";
import { ensureLocalServices } from "../../src/embedded/local_services.ts";
import { MissingBinaryError } from "../../src/embedded/server_binary.ts";
import { serviceUser } from "../../src/embedded/service_user.ts";
import { portAnswers } from "../../src/embedded/port_answers.ts";
import { freePort } from "../../bench/loopback_port.ts";
import { openNats } from "../../src/composition_root.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "downlink-embedded-"));
  // mkdtemp makes it 0700: the servers run as nobody when the tests run as root.
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

async function freeDefaults() {
  return {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
    NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A message on `t/1` reaches an MQTT 5 subscriber of `$share/g/t/1`, as the bridge's replies do. */
async function sharedSubscriptionDelivers(url: string): Promise<boolean> {
  const sub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  try {
    const got = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3_000);
      sub.on("message", (topic) => {
        clearTimeout(timer);
        resolve(topic === "t/1");
      });
    });
    await sub.subscribeAsync("$share/g/t/1", { qos: 1 });
    await pub.publishAsync("t/1", "x", { qos: 1 });
    return await got;
  } finally {
    await sub.endAsync(true);
    await pub.endAsync(true);
  }
}

test("where nothing answers, embedded PostgreSQL, NATS and Mosquitto start, keep their data across a restart and all stop", async () => {
  const dataDir = tempDir();
  const defaults = await freeDefaults();
  const lines: string[] = [];
  const start = () =>
    ensureLocalServices({
      env: { PATH: process.env.PATH },
      defaults,
      dataDir,
      say: (l) => lines.push(l),
    });

  const first = await start();
  try {
    assert.equal(lines.length, 3, lines.join("\n"));
    for (const line of lines) assert.match(line, /started an embedded one there .*created/);
    assert.deepEqual(first.urls, defaults);

    const sql = postgres(first.urls.DATABASE_URL, { max: 1, onnotice: () => {} });
    const [{ version }] = await sql`select version()`;
    assert.match(version, /^PostgreSQL 18/);
    await sql`create table kept (x int)`;
    await sql`insert into kept values (42)`;
    await sql.end();

    const nc = await openNats(first.urls.NATS_URL, "embedded-test");
    await (await jetstreamManager(nc)).streams.add({ name: "KEPT", subjects: ["kept.>"] });
    await nc.close();

    assert.equal(await sharedSubscriptionDelivers(first.urls.MQTT_URL), true);
  } finally {
    await first.stop();
  }
  const pids = Object.values(first.embedded).map((s) => s.pid);
  assert.equal(pids.length, 3);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still runs`);

  lines.length = 0;
  const second = await start();
  try {
    for (const line of lines) assert.match(line, /started an embedded one there .*kept/);
    const sql = postgres(second.urls.DATABASE_URL, { max: 1, onnotice: () => {} });
    assert.deepEqual([...await sql`select x from kept`], [{ x: 42 }]);
    await sql.end();
    const nc = await openNats(second.urls.NATS_URL, "embedded-test");
    const info = await (await jetstreamManager(nc)).streams.info("KEPT");
    assert.deepEqual(info.config.subjects, ["kept.>"]);
    await nc.close();
  } finally {
    await second.stop();
  }

  const user = serviceUser();
  if (user) {
    // As root the servers run as nobody, and their data is nobody's.
    assert.equal(statSync(join(dataDir, "postgres")).uid, user.uid);
    assert.equal(statSync(join(dataDir, "nats")).uid, user.uid);
  }
});

test("a set variable wins and a default port that answers is used: nothing is started", async () => {
  const listeners: Server[] = [];
  const listen = async () => {
    const s = createServer((c) => c.destroy());
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    listeners.push(s);
    return (s.address() as { port: number }).port;
  };
  const defaults = {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
    NATS_URL: `nats://127.0.0.1:${await listen()}`,
    MQTT_URL: `mqtt://127.0.0.1:${await listen()}`,
  };
  const lines: string[] = [];
  const services = await ensureLocalServices({
    env: { PATH: process.env.PATH, DATABASE_URL: "postgres://app@db.example:5432/app" },
    defaults,
    dataDir: tempDir(),
    say: (l) => lines.push(l),
  });
  await services.stop();
  for (const s of listeners) s.close();
  assert.deepEqual(services.embedded, {});
  assert.deepEqual(services.urls, {
    ...defaults,
    DATABASE_URL: "postgres://app@db.example:5432/app",
  });
  assert.match(lines[0], /^PostgreSQL: DATABASE_URL is set, using it$/);
  assert.match(
    lines[1],
    /^NATS: using the one answering on 127\.0\.0\.1:\d+ \(NATS_URL is not set\)$/,
  );
  assert.match(lines[2], /^MQTT broker: using the one answering/);
});

test("without nats-server on PATH start-up says how to install it and leaves nothing running", async () => {
  const defaults = await freeDefaults();
  const pgPort = Number(new URL(defaults.DATABASE_URL).port);
  const emptyPath = tempDir();
  await assert.rejects(
    ensureLocalServices({
      env: { PATH: emptyPath },
      defaults,
      dataDir: tempDir(),
      say: () => {},
    }),
    (err) =>
      err instanceof MissingBinaryError && /apt install nats-server/.test(err.message) &&
      /NATS_URL/.test(err.message),
  );
  // PostgreSQL (from npm, no PATH needed) had started first: it is stopped again.
  assert.equal(await portAnswers("127.0.0.1", pgPort), false);
});

test("servers a killed Downlink left are stopped and started anew, not taken for the machine's", async () => {
  const dataDir = tempDir();
  const defaults = await freeDefaults();
  const start = (say: (l: string) => void) =>
    ensureLocalServices({ env: { PATH: process.env.PATH }, defaults, dataDir, say });
  // Started and never stopped: what a SIGKILLed Downlink leaves, pid files included.
  const killed = await start(() => {});
  const orphans = Object.values(killed.embedded).map((s) => s.pid);
  const lines: string[] = [];
  const next = await start((l) => lines.push(l));
  try {
    for (const pid of orphans) {
      assert.equal(alive(pid), false, `pid ${pid} still runs`);
      assert.ok(
        lines.some((l) => l.includes(`a killed Downlink left (pid ${pid})`)),
        lines.join("\n"),
      );
    }
    assert.equal(
      lines.filter((l) => /started an embedded one there/.test(l)).length,
      3,
      lines.join("\n"),
    );
    assert.equal(Object.keys(next.embedded).length, 3);
  } finally {
    await next.stop();
    await killed.stop();
  }
});
