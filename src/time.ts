// Time is injected: everything that reads the clock or arms a timer takes a Clock.
// xstate's SimulatedClock satisfies this interface, so tests never sleep.
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

/** RFC 3339 UTC with milliseconds, e.g. 2026-04-22T12:00:00.000Z. */
export function rfc3339(ms: number | Date): string {
  return (typeof ms === "number" ? new Date(ms) : ms).toISOString();
}
