// What the repository's checking tools share: the TypeScript files of a folder, and whether a
// tool module runs as the script (its report) or is imported (by its test).
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Every .ts file below `dir` (none when it does not exist), node_modules left out. */
export function tsFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory()
      ? (e.name === "node_modules" ? [] : tsFiles(join(dir, e.name)))
      : e.name.endsWith(".ts")
      ? [join(dir, e.name)]
      : []
  );
}

/** Whether the module at `moduleUrl` (its import.meta.url) is the script being run. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = (globalThis as { process?: { argv: string[] } }).process?.argv[1];
  return !!script && resolve(script) === fileURLToPath(moduleUrl);
}
