// A limit on how many operations run at once (a counting semaphore), for paths that take
// thousands of operations a second: a free slot is taken without a promise, and a released slot
// passes straight to the first in line, in arrival order.

export interface Limiter {
  /** Takes a slot: undefined when one was free (taken already), else a promise that resolves
   * once a released slot is handed to this caller. `await` both alike. */
  acquire(): Promise<void> | undefined;
  /** Gives a slot back: to the first waiting caller, or to the pool. */
  release(): void;
  /** Slots taken now. */
  readonly active: number;
  /** Callers waiting for a slot. */
  readonly waiting: number;
}

/** A queue this many entries past its head is compacted (once most of it is spent). */
const COMPACT_AFTER = 1024;

export function createLimiter(max: number): Limiter {
  let active = 0;
  // A queue with a moving head: shift() on a long array copies it every time.
  const waiting: Array<() => void> = [];
  let head = 0;
  return {
    acquire() {
      if (active < max) {
        active++;
        return undefined;
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      if (head < waiting.length) {
        const next = waiting[head++]; // the slot passes straight to the next in line
        if (head > COMPACT_AFTER && head * 2 > waiting.length) {
          waiting.splice(0, head);
          head = 0;
        }
        next();
      } else active--;
    },
    get active() {
      return active;
    },
    get waiting() {
      return waiting.length - head;
    },
  };
}
