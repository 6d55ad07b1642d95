// A passivated command taking events: the step returns its next snapshot and the actions to run,
// running none; the actor-less step and the materialising one (used with the inspector on) must
// return the same snapshots and the same actions in the same order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type InspectionEvent, SimulatedClock } from "xstate";
import {
  type CommandEvent,
  commandMachine,
  type PersistedCommandSnapshot,
  type ReplyOutcome,
  restingSnapshot,
} from "../../machines/command_machine.ts";
import { createMachineStep, type StepAction } from "../../src/shard/machine_step.ts";
import { SAMPLE_COMMAND } from "../support/sample_command.ts";

const T0 = 1_700_000_000_000;
const ID = "0190b6c4-0000-7000-8000-0000000000aa";

const succeeded: ReplyOutcome = {
  status: "SUCCEEDED",
  response_code: "0",
  vendor_response: { result: 0, output: { status: "ok" } },
};
const reply = (gateway: string, channel: "services" | "drc" = "services"): CommandEvent => ({
  type: "device.reply",
  gateway,
  channel,
  received_at: T0 + 2_000,
  outcome: succeeded,
});

const SEQUENCES: Record<string, CommandEvent[]> = {
  "delivered, then replied": [{ type: "bridge.delivered", at: T0 + 1_000 }, reply("DOCK1")],
  "reply overtakes the delivery ack": [reply("DOCK1")],
  "the wrong channel, then the right one": [reply("DOCK1", "drc"), reply("DOCK1")],
  "timed out, then a late reply": [{ type: "deadline.reached", at: T0 + 30_000 }, reply("DOCK1")],
};

function run(events: CommandEvent[], inspect?: (e: InspectionEvent) => void) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const machine = createMachineStep(commandMachine, { clock, ...(inspect ? { inspect } : {}) });
  let snapshot: PersistedCommandSnapshot = restingSnapshot("ACCEPTED", {
    command_id: ID,
    ...SAMPLE_COMMAND,
    accepted_at: T0,
    deadline_at: T0 + 30_000,
  });
  const snapshots: PersistedCommandSnapshot[] = [];
  const steps: StepAction[][] = [];
  for (const e of events) {
    const [next, actions] = machine.step(ID, machine.restore(snapshot), e);
    snapshot = commandMachine.getPersistedSnapshot(next) as unknown as PersistedCommandSnapshot;
    snapshots.push(snapshot);
    steps.push(actions.map(({ type, params }) => ({ type, params })));
  }
  // Each action with what it says, as the host reads it: the kind it records and the
  // completion time the next snapshot holds then, the problem it reports.
  const actions = steps.flatMap((list, i) =>
    list.map((a) =>
      a.type === "record"
        ? `record ${(a.params as { kind: string }).kind} ${snapshots[i].context.completed_at}`
        : a.type === "reportProblem"
        ? `problem ${(a.params as { problem: string }).problem}`
        : a.type === "notifyFinished"
        ? "finished"
        : a.type
    )
  );
  return { actions, steps, snapshots };
}

for (const [name, events] of Object.entries(SEQUENCES)) {
  test(`command step: ${name}: the same with and without an actor`, () => {
    const inspected: string[] = [];
    const plain = run(events);
    const materialised = run(events, (e) => inspected.push(e.type));
    // Compared as stored (jsonb): the actor's snapshot also carries keys set to undefined.
    const stored = (r: typeof plain) => JSON.parse(JSON.stringify(r));
    assert.deepEqual(stored(plain), stored(materialised));
    assert.ok(inspected.includes("@xstate.event"), "the inspector sees the materialised actor");
  });
}

test("command step: each transition's actions, in order, with the context they saw", () => {
  assert.deepEqual(run(SEQUENCES["delivered, then replied"]).actions, [
    "record delivered undefined",
    `record completed ${T0 + 2_000}`,
    "finished",
  ]);
  const late = run(SEQUENCES["timed out, then a late reply"]);
  assert.deepEqual(late.actions, [
    `record completed ${T0 + 30_000}`,
    "finished",
    `record late_reply ${T0 + 30_000}`,
  ]);
  assert.deepEqual(late.snapshots.map((s) => s.value), ["TIMED_OUT", "TIMED_OUT"]);
  assert.equal(late.snapshots[1].context.response_code, "0");
  const wrong = run(SEQUENCES["the wrong channel, then the right one"]);
  assert.deepEqual(wrong.actions[0], "problem REPLY_WRONG_CHANNEL");
  assert.deepEqual(wrong.snapshots.map((s) => [s.value, s.status]), [
    ["ACCEPTED", "active"],
    ["SUCCEEDED", "done"],
  ]);
});

test("command step: accepted, delivered, replied returns each effect with its params and runs none", () => {
  const delivered = T0 + 1_000;
  const { steps, snapshots } = run(SEQUENCES["delivered, then replied"]);
  assert.deepEqual(steps, [
    [{ type: "record", params: { kind: "delivered" } }],
    [{ type: "record", params: { kind: "completed" } }, {
      type: "notifyFinished",
      params: undefined,
    }],
  ]);
  assert.equal(snapshots[0].context.delivered_at, delivered);
  assert.deepEqual(snapshots.map((s) => s.value), ["DELIVERED", "SUCCEEDED"]);
  const wrong = run(SEQUENCES["the wrong channel, then the right one"]).steps[0];
  assert.deepEqual(wrong, [{
    type: "reportProblem",
    params: {
      problem: "REPLY_WRONG_CHANNEL",
      detail: "reply on the drc channel for a command of the services channel; ignored",
    },
  }]);
});
