// Micro-benchmark of the shard's device host on its hot path: N commands, each dispatched,
// delivered and answered (the three events a command takes), through `createDeviceHost` with fake
// effects (no NATS, no Postgres), in-process. It uses only the host's public API, so the same
// file measures any build of it. `node --import tsx bench/host_step_micro.ts [N] [DEVICES]`.
// It reports the process's CPU time per command (`process.cpuUsage()`), which a machine shared
// with other work disturbs far less than the elapsed time.
import process from "node:process";
import { setImmediate } from "node:timers";
import { createDeviceHost } from "../src/shard/device_host.ts";
import type { TransitionWriter } from "../src/shard/transition_writer.ts";
import type { LifecycleStore } from "../src/store/lifecycle_store.ts";
import type { Logger } from "../src/runtime/log.ts";
import { systemClock } from "../src/async/time.ts";
import { hostedMachines, vendors } from "../src/composition_root.ts";

const N = Number(process.argv[2] ?? 20_000);
const DEVICES = Number(process.argv[3] ?? 100);
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const tick = () => new Promise<void>((r) => setImmediate(r));

function host() {
  let recorded = 0;
  const writer: TransitionWriter = {
    record() {
      recorded++;
    },
    publish() {},
    publishCommitted() {},
    afterCommit(fn) {
      fn();
    },
    settled: () => Promise.resolve(),
    uncommitted: () => false,
    stop: () => Promise.resolve(),
  };
  const store: LifecycleStore = {
    writeTransitions: () => Promise.resolve({ applied: new Set(), events: new Set() }),
    loadInFlight: () => Promise.resolve([]),
    loadOutbound: () => Promise.resolve(new Map()),
    loadUnfinishedJobs: () => Promise.resolve([]),
    findCommands: () => Promise.resolve(new Map()),
    claimSends: (ids) => Promise.resolve(new Map(ids.map((id) => [id, "claimed"]))),
  };
  const h = createDeviceHost({
    machines: hostedMachines(),
    link: { command: () => Promise.resolve() },
    store,
    vendors,
    writer,
    clock: systemClock,
    log: silent,
    count() {},
    presenceOf: () => ({ online: true }),
  });
  return { h, recorded: () => recorded };
}

const settle = { ack() {}, nak() {} };
const id = (i: number) => `0190b6c4-0000-7000-8000-${i.toString(16).padStart(12, "0")}`;
const device = (i: number) => `DOCK-${(i % DEVICES).toString().padStart(6, "0")}`;

/** Dispatches a batch of one command per device, then delivers and answers each. */
async function run(): Promise<{ ms: number; cpuMs: number; recorded: number }> {
  const { h, recorded } = host();
  const now = Date.now();
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let base = 0; base < N; base += DEVICES) {
    const batch = Array.from({ length: Math.min(DEVICES, N - base) }, (_, k) => base + k);
    for (const i of batch) {
      h.dispatch({
        command_id: id(i),
        tenant_id: "t1",
        client_id: "c1",
        vendor: "dji",
        device_id: device(i),
        command_type: "fileupload_start",
        channel: "services",
        bid: `bid-${i}`,
        timeout_seconds: 300,
        accepted_at: now,
        deadline_at: now + 300_000,
        partition: 0,
        payload_enc: new Uint8Array(64),
      });
    }
    // The intake hosts what was queued in this turn, the sender claims it.
    for (let k = 0; k < 3; k++) await tick();
    for (const i of batch) {
      h.fact({ kind: "delivered", command_id: id(i), device_id: device(i), at: now + 1 }, settle);
      h.fact({
        kind: "reply",
        vendor: "dji",
        gateway: device(i),
        channel: "services",
        received_at: now + 2,
        reply: { tid: id(i), bid: `bid-${i}`, method: "fileupload_start", data: { result: 0 } },
      }, settle);
    }
  }
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const left = h.size().commands;
  h.stop();
  if (left !== 0) throw new Error(`${left} commands left in flight`);
  return { ms, cpuMs, recorded: recorded() };
}

await run(); // warm-up
for (let round = 0; round < 5; round++) {
  const { ms, cpuMs, recorded } = await run();
  console.log(
    `host: ${N} commands (dispatched, delivered, answered) on ${DEVICES} devices: ` +
      `CPU ${(cpuMs * 1000 / N).toFixed(1)} µs/command (elapsed ${ms.toFixed(0)} ms), ` +
      `${recorded} transitions recorded`,
  );
}
process.exit(0);
