// The deadlines of every command a shard hosts, in one place: a min-heap keyed by absolute
// `deadline_at`, driven by the injected Clock with a single armed timer (not one per command).
import type { Clock } from "../async/time.ts";

export interface DeadlineSchedule<K> {
  /** Schedules `key` at the absolute time `at` (epoch ms), replacing an earlier schedule. */
  set(key: K, at: number): void;
  /** Unschedules `key`; true when it was scheduled. */
  delete(key: K): boolean;
  readonly size: number;
  /** Clears every deadline and the armed timer. */
  clear(): void;
}

export interface DeadlineScheduleOptions<K> {
  clock: Clock;
  /** Called from the timer, never from `set`, once `at` has come; `key` is unscheduled by then. */
  onDue(key: K, at: number): void;
}

interface Entry<K> {
  key: K;
  at: number;
  /** Position in the heap, kept so that `delete` and `set` are O(log n). */
  index: number;
}

/** setTimeout takes at most a signed 32-bit delay; a longer wait re-arms on the way. */
const MAX_DELAY = 2 ** 31 - 1;

export function createDeadlineSchedule<K>(o: DeadlineScheduleOptions<K>): DeadlineSchedule<K> {
  const heap: Entry<K>[] = [];
  const entries = new Map<K, Entry<K>>();
  let timer: unknown = undefined;
  let armedAt = Infinity;

  const swap = (i: number, j: number) => {
    const a = heap[i];
    heap[i] = heap[j];
    heap[j] = a;
    heap[i].index = i;
    heap[j].index = j;
  };
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].at <= heap[i].at) return;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let min = i;
      if (l < heap.length && heap[l].at < heap[min].at) min = l;
      if (r < heap.length && heap[r].at < heap[min].at) min = r;
      if (min === i) return;
      swap(i, min);
      i = min;
    }
  };
  const removeAt = (i: number) => {
    const last = heap.pop()!;
    if (i === heap.length) return;
    heap[i] = last;
    last.index = i;
    up(i);
    down(last.index);
  };

  /** Keeps the one timer armed for the earliest deadline. */
  const arm = () => {
    const next = heap.length > 0 ? heap[0].at : Infinity;
    if (next === armedAt) return;
    if (timer !== undefined) o.clock.clearTimeout(timer);
    timer = undefined;
    armedAt = next;
    if (next === Infinity) return;
    const delay = Math.min(MAX_DELAY, Math.max(0, next - o.clock.now()));
    timer = o.clock.setTimeout(fire, delay);
  };

  function fire() {
    timer = undefined;
    armedAt = Infinity;
    const now = o.clock.now();
    // Collect first: onDue may set or delete other deadlines.
    const due: Entry<K>[] = [];
    while (heap.length > 0 && heap[0].at <= now) {
      const e = heap[0];
      removeAt(0);
      entries.delete(e.key);
      due.push(e);
    }
    try {
      for (const e of due) o.onDue(e.key, e.at);
    } finally {
      arm();
    }
  }

  return {
    set(key, at) {
      const e = entries.get(key);
      if (e) {
        const earlier = at < e.at;
        e.at = at;
        if (earlier) up(e.index);
        else down(e.index);
      } else {
        const added: Entry<K> = { key, at, index: heap.length };
        entries.set(key, added);
        heap.push(added);
        up(added.index);
      }
      arm();
    },
    delete(key) {
      const e = entries.get(key);
      if (!e) return false;
      entries.delete(key);
      removeAt(e.index);
      arm();
      return true;
    },
    get size() {
      return heap.length;
    },
    clear() {
      heap.length = 0;
      entries.clear();
      arm();
    },
  };
}
