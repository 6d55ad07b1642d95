// One event taken by a live actor, as a step: its next snapshot and the named actions it ran, in
// order, with their resolved params (the shape of xstate's `transition()`). Inside the actors a
// machine's named effects only report to the stepper (`effectsOf`, given with `.provide()`); the
// stepper files those of the actor it is stepping, for the host to run by `type` and `params`.
import type { AnyActorRef, AnyStateMachine, EventObject } from "xstate";
import type { deviceShardMachine } from "../../machines/device_shard_machine.ts";
import type { StepAction } from "./machine_step.ts";

export interface ActorStepper {
  /** Implementations of `machine`'s named effects (its plain actions: not `assign`,
   * `enqueueActions` or xstate's own, which xstate resolves itself) that each report the action
   * and its params to this stepper and do nothing else. */
  effectsOf(
    machine: AnyStateMachine,
  ): Record<string, (args: { self: AnyActorRef }, params: unknown) => void>;
  /** `actor` takes `event`; returns its snapshot after the event and the named effects it ran
   * meanwhile. */
  step<S, E extends EventObject = EventObject>(
    actor: AnyActorRef,
    event: E,
  ): [next: S, actions: StepAction[]];
}

/** The machines a device host runs: the device shard machine, its `command` children's machine
 * within, their named effects given to `stepper` (by the composition root, with `.provide()`). */
export interface HostedMachines {
  stepper: ActorStepper;
  device: typeof deviceShardMachine;
}

/** One stepper per host: what it files belongs to the step under way (the actor being stepped),
 * never to a value set for an action to read. */
export function createActorStepper(): ActorStepper {
  let stepping: AnyActorRef | undefined;
  let taken: StepAction[] = [];
  return {
    effectsOf(machine) {
      const effects: Record<string, (args: { self: AnyActorRef }, params: unknown) => void> = {};
      for (const [type, impl] of Object.entries(machine.implementations.actions)) {
        // xstate's own actions (assign, enqueueActions, spawnChild…) carry a `resolve`.
        if (typeof impl !== "function" || "resolve" in impl) continue;
        effects[type] = ({ self }, params) => {
          if (self !== stepping) return;
          taken.push(params === undefined ? { type } : { type, params });
        };
      }
      return effects;
    },
    step<S, E extends EventObject>(actor: AnyActorRef, event: E): [S, StepAction[]] {
      // A step inside a step (an actor woken while its device's actions run) keeps each apart.
      const outer = stepping;
      const outerTaken = taken;
      const actions: StepAction[] = taken = [];
      stepping = actor;
      try {
        actor.send(event);
      } finally {
        stepping = outer;
        taken = outerTaken;
      }
      return [actor.getSnapshot() as S, actions];
    },
  };
}
