// Time is injected: everything that reads the clock or arms a timer takes a Clock.
// xstate's SimulatedClock satisfies this interface, so tests never sleep. This is the one module
// that touches the runtime's timers (tools/raw_timers.ts checks it).
import nodeTimers from "node:timers";
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** The clock of a process's own background samplers: its timers never keep the process alive
 * (unref'd), and its `now` is the monotonic high-resolution one. */
export const backgroundClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => nodeTimers.setTimeout(fn, ms).unref(),
  clearTimeout: (id) => nodeTimers.clearTimeout(id as ReturnType<typeof nodeTimers.setTimeout>),
};

/** Runs `fn` at the end of this turn of the event loop, after the I/O it produced: how a batcher
 * gathers what one turn queued. Not a Clock's: a turn takes no time, so a simulated clock has
 * nothing to move, and a test awaiting a batch runs it by awaiting, as production does. */
export const nextTurn: (fn: () => void) => void = nodeTimers.setImmediate;

/** Runs `fn` every `ms` on `clock` (each run armed when the previous one ran) until the returned
 * function is called: setInterval on a Clock. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let timer: unknown;
  let stopped = false;
  const arm = () => {
    timer = clock.setTimeout(() => {
      if (stopped) return;
      arm();
      fn();
    }, ms);
  };
  arm();
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
