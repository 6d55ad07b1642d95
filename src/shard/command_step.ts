// One event taken by a passivated command: its persisted snapshot in, the next one out, the
// machine's actions run on the way.
//
// Materialising an actor per event (createActor, start, send, getPersistedSnapshot, stop) cost
// ~33 µs per event, most of it building an actor and its system that live for one event, and
// the garbage they leave. The machine's own `transition` with one actor scope made once per host
// does the same macrostep in ~14 µs. With the Stately inspector on, commands are materialised as
// actors again, so the inspector sees each of them take its event.
import {
  type ActorScope,
  type AnyActorRef,
  createActor,
  createEmptyActor,
  type EventObject,
  type InspectionEvent,
} from "xstate";
import type {
  CommandEvent,
  CommandMachine,
  PersistedCommandSnapshot,
} from "../../machines/command_machine.ts";
import type { Clock } from "../time.ts";

/** Has a command in `snapshot` take `event`; returns its next persisted snapshot. Actions run
 * synchronously, in order, before it returns. */
export type CommandStep = (
  id: string,
  snapshot: PersistedCommandSnapshot,
  event: CommandEvent,
) => PersistedCommandSnapshot;

export function createCommandStep(
  logic: CommandMachine,
  o: { clock: Clock; inspect?: (event: InspectionEvent) => void },
): CommandStep {
  if (o.inspect) return materialisingStep(logic, o.clock, o.inspect);
  let deferred: (() => void)[] = [];
  // The scope's `self` and system: the machine arms no timers, spawns and sends nothing, so
  // neither is used for more than identity.
  const self = createEmptyActor();
  type Scope = Parameters<CommandMachine["transition"]>[2];
  const checked: ActorScope<ReturnType<CommandMachine["transition"]>, EventObject> = {
    self: self as unknown as AnyActorRef,
    id: "",
    sessionId: "",
    logger: () => {},
    defer: (fn) => deferred.push(fn),
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    // What a started actor does with an action while it processes an event: run it now.
    actionExecutor: (action) => action.exec?.(action.info, action.params),
  };
  // The machine's own scope type names its events and system; the fields are the same.
  const scope = checked as unknown as Scope;
  return (_id, snapshot, event) => {
    const next = logic.transition(logic.restoreSnapshot(snapshot, scope), event, scope);
    // Work an actor defers until its event is processed (none in today's machine).
    if (deferred.length > 0) {
      const run = deferred;
      deferred = [];
      for (const fn of run) fn();
    }
    return logic.getPersistedSnapshot(next) as unknown as PersistedCommandSnapshot;
  };
}

function materialisingStep(
  logic: CommandMachine,
  clock: Clock,
  inspect: (event: InspectionEvent) => void,
): CommandStep {
  return (id, snapshot, event) => {
    const actor = createActor(logic, {
      id,
      snapshot: snapshot as never,
      input: snapshot.context,
      clock,
      inspect,
    });
    actor.start();
    actor.send(event);
    const next = actor.getPersistedSnapshot() as PersistedCommandSnapshot;
    actor.stop();
    return next;
  };
}
