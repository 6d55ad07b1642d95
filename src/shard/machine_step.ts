// One event taken by a machine held as a snapshot: snapshot and event in, the next snapshot and
// the actions to run out (the shape of xstate's `transition()`); nothing is executed here. The
// host runs the actions by `type` and `params`, so data reaches an effect only through them.
// Hosted commands are live actors stepped by `actor_step.ts`; this step serves a command no
// device shard hosts (a late reply to a TIMED_OUT command, read back from its row).
//
// xstate's own `transition()` builds an inert actor (and its system) on every call; this step
// builds one scope per host and, per event, only the array the actions are collected in. With
// the Stately inspector on, the machine is materialised as an actor for the event, so the
// inspector sees it take the event; its actions are collected from the inspection stream.
import {
  type ActorScope,
  type AnyActorRef,
  type AnyStateMachine,
  createActor,
  createEmptyActor,
  type EventFromLogic,
  type InspectionEvent,
  type SnapshotFrom,
} from "xstate";
import type { Clock } from "../async/time.ts";

/** An action a step returns: a named action of the machine and its resolved params. */
export interface StepAction {
  type: string;
  params?: unknown;
}

/** `[next snapshot, actions to run]`, as `transition()` returns them. */
export type Stepped<S> = [next: S, actions: StepAction[]];

export interface MachineStep<L extends AnyStateMachine> {
  /** The snapshot a machine starts in (`initialTransition`; these machines have no entry
   * actions at their initial state, so none is returned). */
  initial(input: unknown): SnapshotFrom<L>;
  /** A persisted snapshot made live again (no actions: a restore runs nothing). */
  restore(persisted: unknown): SnapshotFrom<L>;
  /** The machine in `snapshot` takes `event` (`id` names the actor for the inspector). */
  step(id: string, snapshot: SnapshotFrom<L>, event: EventFromLogic<L>): Stepped<SnapshotFrom<L>>;
}

export function createMachineStep<L extends AnyStateMachine>(
  logic: L,
  o: { clock: Clock; inspect?: (event: InspectionEvent) => void },
): MachineStep<L> {
  // The scope's `self` and system: the machines arm no timers, spawn and send nothing, so
  // neither is used for more than identity.
  const self = createEmptyActor();
  const base: ActorScope<SnapshotFrom<L>, EventFromLogic<L>> = {
    self: self as unknown as AnyActorRef,
    id: "",
    sessionId: "",
    logger: () => {},
    defer: () => {},
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    actionExecutor: () => {},
  } as never;
  const inspect = o.inspect;
  return {
    initial: (input) => logic.getInitialSnapshot(base as never, input) as SnapshotFrom<L>,
    restore: (persisted) =>
      logic.restoreSnapshot!(persisted as never, base as never) as SnapshotFrom<L>,
    step: inspect
      ? (id, snapshot, event) => materialised(logic, o.clock, inspect, id, snapshot, event)
      : (_id, snapshot, event) => {
        const actions: StepAction[] = [];
        // What `transition()` does with an action: collect it, in order, unexecuted.
        const scope = { ...base, actionExecutor: (a: StepAction) => void actions.push(a) };
        return [logic.transition(snapshot, event, scope as never) as SnapshotFrom<L>, actions];
      },
  };
}

function materialised<L extends AnyStateMachine>(
  logic: L,
  clock: Clock,
  inspect: (event: InspectionEvent) => void,
  id: string,
  snapshot: SnapshotFrom<L>,
  event: EventFromLogic<L>,
): Stepped<SnapshotFrom<L>> {
  const actions: StepAction[] = [];
  const actor = createActor(logic as AnyStateMachine, {
    id,
    snapshot: logic.getPersistedSnapshot(snapshot) as never,
    clock,
    inspect: (e) => {
      inspect(e);
      // The machines' named actions are no-ops: the actor reports them and runs nothing.
      if (e.type === "@xstate.action") {
        actions.push({ type: e.action.type, params: e.action.params });
      }
    },
  });
  actor.start();
  actor.send(event);
  const next = actor.getSnapshot() as SnapshotFrom<L>;
  actor.stop();
  return [next, actions];
}
