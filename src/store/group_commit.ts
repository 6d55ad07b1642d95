// Group commit: what callers queue is written in batches, one batch at a time. While a batch's
// statement runs, new items wait and go together in the next one, so under load a batch grows
// with the latency of a commit instead of each event-loop turn paying a commit of its own; when
// idle, an item is written at the end of the turn that queued it.
import { setImmediate } from "node:timers";

export interface GroupCommit<T> {
  /** Queues an item for the next batch. */
  add(item: T): void;
}

/** `write` gets every item queued since the previous batch began, and resolves (or rejects: the
 * items' callers are told by `write` itself) once they are committed. */
export function createGroupCommit<T>(write: (items: T[]) => Promise<unknown>): GroupCommit<T> {
  let queue: T[] = [];
  let writing = false;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (writing || queue.length === 0) return;
    const items = queue;
    queue = [];
    writing = true;
    write(items).catch(() => {}).finally(() => {
      writing = false;
      flush();
    });
  };

  return {
    add(item) {
      queue.push(item);
      if (!writing && !scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
