// Retrying an operation on an injected clock: the one retry loop every store write, publish and
// start-up connection goes through. A library (@std/async's retry, p-retry, exponential-backoff)
// sleeps on the global setTimeout and stops after a count; ours must sleep on a `Clock` (tests
// move a simulated one) and stop when the caller says so (shutdown, a deadline passed, a budget
// spent), with the caller's own log cadence.
import { type Clock, systemClock } from "./time.ts";

/** How long to wait after failed attempt `attempt` (0 for the first attempt). */
export type Backoff = (attempt: number) => number;

/** `initialMs`, doubled per attempt, at most `maxMs`: 100, 200, 400, … */
export const exponential = (initialMs: number, maxMs: number): Backoff => (attempt) =>
  Math.min(maxMs, initialMs * 2 ** attempt);

/** `stepMs` more per attempt, at most `maxMs`: 200, 400, 600, … */
export const linear = (stepMs: number, maxMs: number): Backoff => (attempt) =>
  Math.min(maxMs, stepMs * (attempt + 1));

/** The same wait every time. */
export const constant = (ms: number): Backoff => () => ms;

export interface RetryOptions {
  /** What the waits are measured on (default: the system clock). */
  clock?: Clock;
  /** The wait after each failed attempt; 0 tries again at once. */
  backoff: Backoff;
  /**
   * Told each failure (log it here); true gives up, and the failure is thrown to the caller.
   * Asked before the wait, so a caller that is stopping does not wait first. Default: never.
   */
  giveUp?: (err: unknown, attempt: number) => boolean;
}

/** Runs `fn` until it resolves, or until `giveUp` says so (then throws the last failure). A
 * throw before `fn` returns its promise is a failure like a rejection. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  try {
    return await fn(0);
  } catch (err) {
    return await retryAfter(err, fn, o);
  }
}

/**
 * Continues after a first attempt the caller made itself and saw fail with `err`: a path that
 * runs once per item keeps its success case free of the retry machinery (no extra promise or
 * closure per item) and enters it only on failure.
 */
export async function retryAfter<T>(
  err: unknown,
  fn: (attempt: number) => Promise<T>,
  { clock = systemClock, backoff, giveUp }: RetryOptions,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    if (giveUp?.(err, attempt)) throw err;
    const ms = backoff(attempt);
    if (ms > 0) await new Promise<void>((r) => clock.setTimeout(r, ms));
    try {
      return await fn(attempt + 1);
    } catch (e) {
      err = e;
    }
  }
}
