// Whether a module started in a fresh Node and a fresh Deno process lets the process end: a timer
// or socket left referenced would keep it running until the time-out kills it.
import { execFile } from "node:child_process";
import assert from "node:assert/strict";

/** Runs `script` (an ES module's text, its imports relative to the repository root) under Node
 * (with tsx) and Deno; fails unless each exits by itself with code 0 within 15 s. */
export async function assertExitsByItself(script: string): Promise<void> {
  const runtimes: Array<[string, string[]]> = [
    ["node", ["--import", "tsx", "--input-type=module", "-e", script]],
    ["node_modules/.bin/deno", ["eval", script]],
  ];
  for (const [command, args] of runtimes) {
    const exit = await new Promise<{ code: number | null; killed: boolean }>((resolve) => {
      const child = execFile(command, args, { timeout: 15_000 }, () => {});
      child.on("exit", (code) => resolve({ code, killed: child.killed }));
    });
    assert.deepEqual(exit, { code: 0, killed: false }, `${command} did not exit by itself`);
  }
}
