// Micro-benchmark of the shard's device host on its own: heap bytes per in-flight command with
// 100,000 commands on 10,000 devices (right after their dispatch, each a live actor, and once
// passivated), and the time to restore as many from in-memory rows.
// Effects are fakes (no NATS, no Postgres). Run: node --expose-gc --import tsx bench/shard_memory.ts
import process from "node:process";
import { setImmediate } from "node:timers";
import type { JsMsg } from "@nats-io/jetstream";
import type { AckedPublisher } from "../src/bus/acked_publisher.ts";
import { createDeviceHost, type DeviceHost } from "../src/shard/device_host.ts";
import type { TransitionWriter } from "../src/shard/transition_writer.ts";
import type { InFlightCommand, LifecycleStore } from "../src/store/lifecycle_store.ts";
import type { CommandDispatch } from "../src/bus/messages.ts";
import { topologyNames } from "../src/bus/subjects.ts";
import { createJetStreamLink } from "../src/link/jetstream_link.ts";
import type { Logger } from "../src/runtime/log.ts";
import { systemClock } from "../src/async/time.ts";
import { hostedMachines, vendors } from "../src/composition_root.ts";

const COMMANDS = Number(process.env.COMMANDS ?? 100_000);
const DEVICES = Number(process.env.DEVICES ?? 10_000);
/** A sealed payload of a typical command (AES-GCM of a small JSON body, plus IV and tag). */
const PAYLOAD_BYTES = Number(process.env.PAYLOAD_BYTES ?? 256);
const TIMEOUT_MS = 300_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

function fakeHost(rows: InFlightCommand[] = []): DeviceHost {
  const publisher: AckedPublisher = { publish: () => Promise.resolve(), close() {} };
  const writer: TransitionWriter = {
    record() {},
    publish() {},
    publishCommitted() {},
    afterCommit(fn) {
      fn();
    },
    settled: () => Promise.resolve(),
    uncommitted: () => false,
    stop: () => Promise.resolve(),
  };
  let pending: InFlightCommand[] | undefined = rows;
  const store: LifecycleStore = {
    writeTransitions: () => Promise.resolve({ applied: new Set(), events: new Set() }),
    loadInFlight: () => {
      const out = pending ?? [];
      pending = undefined; // the host keeps what it needs, the bench nothing
      return Promise.resolve(out);
    },
    loadOutbound: () => Promise.resolve(new Map()),
    loadUnfinishedJobs: () => Promise.resolve([]),
    findCommands: () => Promise.resolve(new Map()),
    claimSends: (ids) => Promise.resolve(new Map(ids.map((id) => [id, "claimed"]))),
  };
  return createDeviceHost({
    machines: hostedMachines(),
    link: createJetStreamLink({ publisher, names: topologyNames("bench") }),
    store,
    vendors,
    writer,
    clock: systemClock,
    log: silent,
    count() {},
    // Every dock listening: commands are handed to the (fake) bridge as in production.
    presenceOf: () => ({ online: true }),
    // Passivated by hand below, so that both states are measured.
    passivateAfterMs: 0,
  });
}

const id = (i: number) => `0190b6c4-0000-7000-8000-${i.toString(16).padStart(12, "0")}`;
const device = (i: number) => `DOCK-${(i % DEVICES).toString().padStart(6, "0")}`;
// Fresh strings per command, as JSON.parse of each message makes them.
const fresh = (s: string) => (" " + s).slice(1);

function dispatch(i: number, now: number): CommandDispatch {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(i & 0xff);
  return {
    kind: "command",
    command_id: id(i),
    tenant_id: fresh("tenant_bench"),
    client_id: fresh("0190b6c4-0000-7000-8000-client000001"),
    vendor: fresh("dji"),
    device_id: fresh(device(i)),
    command_type: fresh("fileupload_start"),
    channel: "services",
    bid: crypto.randomUUID(),
    timeout_seconds: TIMEOUT_MS / 1000,
    accepted_at: now,
    deadline_at: now + TIMEOUT_MS,
    payload_enc: Buffer.from(payload).toString("base64"),
  };
}

function row(i: number, now: number): InFlightCommand {
  const d = dispatch(i, now);
  // The first command of each device reached the bridge before the crash; the rest wait.
  const delivered = i < DEVICES;
  // The dispatch minus what only travels with it is the command's machine input.
  const { kind: _kind, bid: _bid, timeout_seconds: _timeout, payload_enc: _payload, ...input } = d;
  const context = { ...input, ...(delivered ? { delivered_at: now + 5 } : {}) };
  return {
    ...input,
    partition: 0,
    sent: false,
    bid: d.bid,
    status: delivered ? "DELIVERED" : "ACCEPTED",
    ...(delivered ? { delivered_at: now + 5 } : {}),
    // Delivered rows carry the snapshot their transition stored; ACCEPTED rows none (the API
    // commits the row; hosting writes nothing), but their sealed payload.
    snapshot: delivered
      ? JSON.parse(JSON.stringify({
        status: "active",
        value: "DELIVERED",
        context,
        children: {},
        historyValue: {},
      }))
      : null,
    ...(delivered ? {} : { payload_enc: Buffer.from(d.payload_enc, "base64") }),
  };
}

function heap() {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function fakeMsg(d: CommandDispatch): JsMsg {
  const data = new TextEncoder().encode(JSON.stringify(d));
  return {
    data,
    subject: "bench",
    redelivered: false,
    ack() {},
    nak() {},
    term() {},
  } as unknown as JsMsg;
}

function report(label: string, before: ReturnType<typeof heap>, after: ReturnType<typeof heap>) {
  const perCmd = (n: number) => (n / COMMANDS).toFixed(0);
  console.log(
    `${label}: heap ${perCmd(after.heap - before.heap)} B/command, ` +
      `+ buffers ${perCmd(after.buffers - before.buffers)} B/command, ` +
      `rss ${perCmd(after.rss - before.rss)} B/command`,
  );
}

async function hostByDispatch() {
  const now = Date.now();
  const host = fakeHost();
  const before = heap();
  const started = performance.now();
  for (let i = 0; i < COMMANDS; i++) {
    host.handle(fakeMsg(dispatch(i, now)), 0);
    if (i % 2_000 === 1_999) await tick();
  }
  for (let i = 0; i < 5; i++) await tick();
  const ms = performance.now() - started;
  const after = heap();
  const size = host.size();
  console.log(
    `dispatch: hosted ${size.commands} commands on ${size.devices} devices in ${
      ms.toFixed(0)
    } ms, ${host.liveCommands()} of them live actors`,
  );
  report("dispatch (each command a live actor)", before, after);
  // What the host's passivation does once they have been idle: the second look stops the command
  // actors (idle since the first), the third the device actors (idle since the second).
  host.passivateIdle();
  const stopped = host.passivateIdle().stopped;
  host.passivateIdle();
  const passivated = heap();
  console.log(
    `passivated: ${stopped} command actors stopped, ${host.liveCommands()} commands and ` +
      `${host.liveDevices()} devices live`,
  );
  report("dispatch, then passivated", before, passivated);
  host.stop();
}

async function restore() {
  const now = Date.now();
  const base = heap();
  // Only the fake store holds the rows, and only until the host has loaded them.
  const host = fakeHost(Array.from({ length: COMMANDS }, (_, i) => row(i, now)));
  const started = performance.now();
  const n = await host.restore(0);
  const ms = performance.now() - started;
  const after = heap();
  const size = host.size();
  console.log(
    `restore: ${n} rows → ${size.commands} commands on ${size.devices} devices in ${
      ms.toFixed(0)
    } ms`,
  );
  report("restore", base, after);
  host.stop();
}

await hostByDispatch();
await restore();
process.exit(0);
