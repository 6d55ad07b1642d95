// Group commit: what callers queue is written in batches, one batch at a time. While a batch's
// statement runs, new items wait and go together in the next one, so under load a batch grows
// with the latency of a commit instead of each event-loop turn paying a commit of its own; when
// idle, an item is written at the end of the turn that queued it. The queue has a limit: when
// the database stalls, callers are refused at once instead of piling up behind it.
import { nextTurn } from "../async/time.ts";

export interface GroupCommit<T> {
  /** Queues an item for the next batch; false (and not queued) when `maxQueued` items wait. */
  add(item: T): boolean;
}

export interface GroupCommitOptions {
  /** How many items may wait for the next batch (default: no limit). */
  maxQueued?: number;
  /** How many batches may be written at once (default 1: batches are written in order). */
  concurrency?: number;
}

/** `write` gets every item queued since the previous batch began, and resolves (or rejects: the
 * items' callers are told by `write` itself) once they are committed. */
export function createGroupCommit<T>(
  write: (items: T[]) => Promise<unknown>,
  { maxQueued = Infinity, concurrency = 1 }: GroupCommitOptions = {},
): GroupCommit<T> {
  let queue: T[] = [];
  let writing = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (writing >= concurrency || queue.length === 0) return;
    const items = queue;
    queue = [];
    writing++;
    write(items).catch(() => {}).finally(() => {
      writing--;
      flush();
    });
  };

  return {
    add(item) {
      if (queue.length >= maxQueued) return false;
      queue.push(item);
      if (writing < concurrency && !scheduled) {
        scheduled = true;
        nextTurn(flush);
      }
      return true;
    },
  };
}
