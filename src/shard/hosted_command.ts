// A command hosted by a device shard: its persisted snapshot (kept after every step, the only copy
// while it is passivated) and, until it is handed to the bridge, its payload; how it takes an
// event (the actions its step returns, run here by type and params), and how its context is built
// from a dispatch or a row.
import {
  type CommandContext,
  type CommandEvent,
  type CommandInput,
  commandMachine,
  type PersistedCommandSnapshot,
  RESULT_FIELDS,
  statusOf,
  type TransitionKind,
} from "../../machines/command_machine.ts";
import type { AnyActorRef, InspectionEvent } from "xstate";
import { lifecycleEvent } from "../command/lifecycle_event.ts";
import type { LifecycleCommand } from "../store/lifecycle_store.ts";
import type { Logger } from "../runtime/log.ts";
import type { Clock } from "../async/time.ts";
import type { TransitionWriter } from "./transition_writer.ts";
import type { ActorStepper } from "./actor_step.ts";
import { createMachineStep } from "./machine_step.ts";

/** A hosted command: its persisted snapshot as of its last step (the transition writer reads it
 * at commit time; a passivated command is only this), and until it is handed to the bridge, what
 * the bridge needs besides. A class, so that entries share their method and hold no closure. */
export class HostedCommand {
  /** It took an event since the host last looked for idle command actors. */
  stepped = true;
  constructor(
    readonly id: string,
    public snapshot: PersistedCommandSnapshot,
    public bid: string | undefined,
    public payload_enc: Uint8Array | undefined,
  ) {}
  getPersistedSnapshot(): PersistedCommandSnapshot {
    return this.snapshot;
  }
}

/** The command machine's named actions, as a step returns them. */
type CommandAction =
  | { type: "record"; params: { kind: TransitionKind } }
  | { type: "reportProblem"; params: { problem: string; detail: string } }
  | { type: "notifyFinished" };

/** Has a command take an event: its live actor (a child of its device shard) when it has one, else
 * its snapshot through the machine (a finished command no device hosts, taking a late reply).
 * Returns whether it is finished (it needs its device no more). */
export type CommandTaker = (
  c: HostedCommand,
  event: CommandEvent,
  live?: { stepper: ActorStepper; actor: AnyActorRef },
) => boolean;

export function createCommandTaker(o: {
  writer: TransitionWriter;
  clock: Clock;
  log: Logger;
  count(name: string): void;
  inspect?: (event: InspectionEvent) => void;
}): CommandTaker {
  const commandStep = createMachineStep(commandMachine, { clock: o.clock, inspect: o.inspect });

  /** Has the command take `event`, keeps its next persisted snapshot and runs the actions the
   * step returned. Returns whether the command is finished (it needs its device no more). */
  function toCommand(
    c: HostedCommand,
    event: CommandEvent,
    live?: { stepper: ActorStepper; actor: AnyActorRef },
  ): boolean {
    const before = c.snapshot;
    const [next, actions] = live
      ? live.stepper.step<ReturnType<typeof commandMachine.transition>>(live.actor, event)
      : commandStep.step(c.id, commandStep.restore(before), event);
    c.stepped = true;
    // Kept before the actions run: the writer reads it at commit time.
    c.snapshot = commandMachine.getPersistedSnapshot(next) as unknown as PersistedCommandSnapshot;
    let finished = false;
    for (const action of actions as CommandAction[]) {
      switch (action.type) {
        case "record":
          o.writer.record(c, action.params.kind, c.snapshot.context);
          break;
        case "reportProblem": {
          const { problem, detail } = action.params;
          o.count("problems");
          o.log.warn("reply problem", { problem, detail, command_id: c.id });
          // A problem changes no state: the status before the event is the status it reports.
          o.writer.publish(
            lifecycleEvent("problem", c.snapshot.context, statusOf(before), o.clock.now(), {
              problem,
              detail,
            }),
          );
          break;
        }
        case "notifyFinished":
          finished = true;
          break;
      }
    }
    return finished;
  }
  return toCommand;
}

/** One copy of each string that repeats across commands (tenant, client, vendor, type, channel,
 * device): every parsed message and row brings its own copies, ~150 B per command in all. */
export function createInterner(): (s: string) => string {
  const table = new Map<string, string>();
  return (s) => {
    const known = table.get(s);
    if (known !== undefined) return known;
    table.set(s, s);
    return s;
  };
}

export function toInput(d: CommandInput, intern: (s: string) => string): CommandInput {
  return {
    command_id: d.command_id,
    tenant_id: intern(d.tenant_id),
    client_id: intern(d.client_id),
    vendor: intern(d.vendor),
    device_id: intern(d.device_id),
    command_type: intern(d.command_type),
    channel: intern(d.channel) as CommandInput["channel"],
    accepted_at: d.accepted_at,
    deadline_at: d.deadline_at,
  };
}

/** A command's machine context rebuilt from its row: the stored snapshot holds none. */
export function contextOf(r: LifecycleCommand, intern: (s: string) => string): CommandContext {
  const context: Partial<CommandContext> = toInput(r, intern);
  for (const k of RESULT_FIELDS) if (r[k] !== undefined) context[k] = r[k] as never;
  return context as CommandContext;
}
