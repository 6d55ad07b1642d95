// Everything the fault suite starts (servers, Downlink processes, temp folders) registers how to
// undo it here, so a failed scenario or a Ctrl-C still leaves the machine as it was found.
import process from "node:process";

type Undo = () => void | Promise<void>;

const undos = new Map<number, { what: string; undo: Undo }>();
let next = 0;

/** Registers `undo`; the returned function runs it now (once) and unregisters it. */
export function onCleanup(what: string, undo: Undo): () => Promise<void> {
  const id = next++;
  undos.set(id, { what, undo });
  return async () => {
    if (!undos.delete(id)) return;
    await undo();
  };
}

/** Runs every registered undo, newest first; one failing does not stop the others. */
export async function cleanupAll(): Promise<void> {
  const pending = [...undos.entries()].reverse();
  undos.clear();
  for (const [, { what, undo }] of pending) {
    try {
      await undo();
    } catch (err) {
      console.error(`[faults] cleanup of ${what} failed: ${(err as Error).message}`);
    }
  }
}

/** On SIGINT/SIGTERM: clean up, then exit 130/143. Ctrl-C reaches this process twice (from the
 * terminal and relayed by tsx), so only a signal 3 s after the first one exits at once. */
export function cleanupOnSignals(): void {
  let firstAt: number | undefined;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      if (firstAt !== undefined) {
        if (Date.now() - firstAt > 3_000) process.exit(code);
        return;
      }
      firstAt = Date.now();
      console.error(`[faults] ${signal}: cleaning up`);
      cleanupAll().finally(() => process.exit(code));
    });
  }
}
