// Time is injected: everything that reads the clock or arms a timer takes a Clock.
// xstate's SimulatedClock satisfies this interface, so tests never sleep.
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
