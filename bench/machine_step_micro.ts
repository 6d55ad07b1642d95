// Micro-benchmark of the shard's hot step: N commands through accept → delivered → reply,
// in-process, no I/O. `node --import tsx bench/machine_step_micro.ts [N]`. Compares the hosted
// command as a live actor, a child of its device shard's actor (spawned, two events stepped with
// their actions returned, stopped: what the host does now), with the machine stepped from its
// persisted snapshot (one scope per host, actions returned: what the host did before, and still
// does for a late reply) and with xstate's own `transition()` (an inert actor per call).
import { type AnyActorRef, createActor, SimulatedClock, transition } from "xstate";
import {
  type CommandEvent,
  commandMachine,
  type PersistedCommandSnapshot,
  restingSnapshot,
  spawnableCommand,
} from "../machines/command_machine.ts";
import { deviceShardMachine } from "../machines/device_shard_machine.ts";
import { createActorStepper } from "../src/shard/actor_step.ts";
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

/** The live way: one device shard actor (its system's root) spawns each command's actor, which
 * takes both events through the stepper and is stopped once finished. The device's own steps
 * (spawn, stop) are counted in. */
function runLive(): { ms: number; actions: number } {
  const stepper = createActorStepper();
  const machine = deviceShardMachine.provide({
    actions: stepper.effectsOf(deviceShardMachine) as never,
    actors: {
      command: spawnableCommand(
        commandMachine.provide({ actions: stepper.effectsOf(commandMachine) as never }),
      ),
    },
  });
  const device = createActor(machine, {
    clock,
    input: { device_id: "DOCK1", gateway: { online: false } },
  });
  device.start();
  let actions = 0;
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const snapshot = accepted(i);
    const id = snapshot.context.command_id;
    actions += stepper.step(device, { type: "command.dispatched", command: snapshot.context })[1]
      .length;
    const child = device.getSnapshot().children[id] as AnyActorRef;
    let s: PersistedCommandSnapshot = snapshot;
    for (const e of [delivered, replied]) {
      const [next, list] = stepper.step(child, e);
      s = persisted(next);
      actions += list.length;
    }
    actions +=
      stepper.step(device, { type: "command.finished", command_id: id, status: s.value })[1]
        .length;
  }
  const ms = performance.now() - start;
  device.stop();
  return { ms, actions };
}

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

const print = (name: string, { ms, actions }: { ms: number; actions: number }) =>
  console.log(
    `${name}: ${N} commands in ${ms.toFixed(0)} ms, ${
      (ms * 1000 / (2 * N)).toFixed(2)
    } µs/event, ` +
      `${(ms * 1000 / N).toFixed(2)} µs/command, ${actions} actions`,
  );
for (const step of Object.values(ways)) run(step); // warm-up
runLive();
for (let round = 0; round < 3; round++) {
  for (const [name, step] of Object.entries(ways)) print(name, run(step));
  print("live command actor, child of its device shard (spawn, 2 events, stop)", runLive());
}
