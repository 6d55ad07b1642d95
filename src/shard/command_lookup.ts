// Reads the rows of commands this shard does not host (late replies to timed-out commands,
// replies to finished ones, stray tids), one query for all the replies that need it at once: a
// reply that comes late must not cost a query of its own, or a burst of them (a dock back
// online, a backlog after an outage) would be handled slower than replies come.
import { createGroupCommit } from "../store/group_commit.ts";
import type { LifecycleCommand, LifecycleStore } from "../store/lifecycle_store.ts";

export interface CommandLookup {
  /** The command's row, if it exists; rejects when the read failed. */
  find(commandId: string): Promise<LifecycleCommand | undefined>;
}

interface Pending {
  id: string;
  resolve(row: LifecycleCommand | undefined): void;
  reject(err: unknown): void;
}

export function createCommandLookup(store: Pick<LifecycleStore, "findCommands">): CommandLookup {
  const reads = createGroupCommit<Pending>(async (batch) => {
    try {
      const rows = await store.findCommands([...new Set(batch.map((p) => p.id))]);
      for (const p of batch) p.resolve(rows.get(p.id));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  });
  return {
    find: (id) => new Promise((resolve, reject) => reads.add({ id, resolve, reject })),
  };
}
