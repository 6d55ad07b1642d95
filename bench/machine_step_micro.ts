// Micro-benchmark of the shard's hot step: N commands through accept → delivered → reply, each
// event taken by the command machine from its persisted snapshot, in-process, no I/O.
// `node --import tsx bench/machine_step_micro.ts [N]`. Compares the host's step (one scope per
// host, actions returned) with xstate's own `transition()` (an inert actor per call).
import { SimulatedClock, transition } from "xstate";
import {
  type CommandEvent,
  commandMachine,
  type PersistedCommandSnapshot,
  restingSnapshot,
} from "../machines/command_machine.ts";
import { createMachineStep, type StepAction } from "../src/shard/machine_step.ts";

const N = Number(process.argv[2] ?? 100_000);
const T0 = 1_700_000_000_000;
const clock = new SimulatedClock();
clock.set(T0);

const delivered: CommandEvent = { type: "bridge.delivered", at: T0 + 1_000 };
const replied: CommandEvent = {
  type: "device.reply",
  gateway: "DOCK1",
  channel: "services",
  received_at: T0 + 2_000,
  outcome: { status: "SUCCEEDED", response_code: "0", vendor_response: { result: 0 } },
};

function accepted(i: number): PersistedCommandSnapshot {
  return restingSnapshot("ACCEPTED", {
    command_id: `cmd-${i}`,
    tenant_id: "t1",
    client_id: "c1",
    vendor: "dji",
    device_id: "DOCK1",
    command_type: "fileupload_start",
    channel: "services",
    accepted_at: T0,
    deadline_at: T0 + 30_000,
  });
}

type Step = (
  id: string,
  s: PersistedCommandSnapshot,
  e: CommandEvent,
) => [PersistedCommandSnapshot, StepAction[]];

const persisted = (s: unknown) =>
  commandMachine.getPersistedSnapshot(s as never) as unknown as PersistedCommandSnapshot;

const host = createMachineStep(commandMachine, { clock });
const ways: Record<string, Step> = {
  "host step (scope per host, actions returned)": (id, s, e) => {
    const [next, actions] = host.step(id, host.restore(s), e);
    return [persisted(next), actions];
  },
  "xstate transition()": (_id, s, e) => {
    const [next, actions] = transition(commandMachine, host.restore(s), e);
    return [persisted(next), actions];
  },
};

function run(step: Step): { ms: number; actions: number } {
  let actions = 0;
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const id = `cmd-${i}`;
    let s = accepted(i);
    for (const e of [delivered, replied]) {
      const [next, list] = step(id, s, e);
      s = next;
      actions += list.length;
    }
  }
  return { ms: performance.now() - start, actions };
}

for (const step of Object.values(ways)) run(step); // warm-up
for (let round = 0; round < 3; round++) {
  for (const [name, step] of Object.entries(ways)) {
    const { ms, actions } = run(step);
    console.log(
      `${name}: ${N} commands in ${ms.toFixed(0)} ms, ${
        (ms * 1000 / (2 * N)).toFixed(2)
      } µs/event, ` +
        `${actions} actions`,
    );
  }
}
