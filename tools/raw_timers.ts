// Which product files arm a timer or read the time without the injected Clock
// (src/async/time.ts): a raw timer cannot be moved by a test's simulated clock, and a raw read
// of the time disagrees with one. Run it to list them; test/tools/raw_timers_test.ts fails on
// any. Reads files only: no module is loaded.
import { readFileSync } from "node:fs";
import { isEntryPoint, tsFiles } from "./source_tree.ts";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The one module that touches the runtime's timers and clocks: it implements Clock. */
export const TIME_MODULE = "src/async/time.ts";

/** The folders held to it: the product (tests, benches and tools may sleep and time). */
export const CHECKED_FOLDERS = ["src", "machines"] as const;

/** What counts as raw: timers armed on the runtime rather than on a clock (a call through a
 * receiver named `clock` is the injected one), the runtime's timer modules, and reads of the
 * wall or monotonic clock. */
const RAW: readonly { what: string; pattern: RegExp }[] = [
  {
    what: "timer",
    pattern:
      /(?<![\w$])(?:([\w$.]+)\s*\.\s*)?(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/g,
  },
  { what: "timer module", pattern: /["'](?:node:)?timers(?:\/promises)?["']/g },
  { what: "time read", pattern: /(?<![\w$.])(Date\s*\.\s*now|performance\s*\.\s*now)\b/g },
  { what: "time read", pattern: /\bnew\s+Date\s*\(\s*\)/g },
];

/** Raw uses that stay, each with why: `file` → the matched text → the reason. */
export const EXCEPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "src/runtime/log.ts": {
    // A log line is read beside other processes' lines and the machine's: it carries the wall
    // time it was written at, whatever clock (a test's simulated one) the code logging runs on.
    "new Date()": "a log line's time is the wall time it was written at",
  },
  // The client library runs in its user's process, maybe a browser: it imports nothing of Node
  // (src/async/time.ts imports node:timers), and its user gives it a clock through `now`.
  "src/client/downlink_client.ts": {
    "Date.now": "the client's default `now`, for its signatures, in its user's process",
  },
  "src/client/command_client.ts": {
    "Date.now": "wait()'s timeout is its caller's wall time; the client imports nothing of Node",
  },
};

/** One raw use: `src/http/serve.ts:48: setTimeout(`. */
export interface RawTimer {
  file: string;
  line: number;
  text: string;
}

/** `source` with its comments blanked (kept the same length, so offsets give line numbers). A
 * `//` after a `:` is taken for a URL, not a comment. */
export function withoutComments(source: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  return source.replace(/\/\*[\s\S]*?\*\//g, blank).replace(
    /(^|[^:])(\/\/.*)/gm,
    (_, a, c) => a + blank(c),
  );
}

/** The raw timers and time reads in one file's source. */
export function rawTimersIn(file: string, source: string): RawTimer[] {
  const code = withoutComments(source);
  const found: RawTimer[] = [];
  for (const { pattern } of RAW) {
    for (const m of code.matchAll(pattern)) {
      const receiver = m[1];
      if (receiver !== undefined && /clock$/i.test(receiver)) continue;
      const text = m[0].replace(/\s+/g, " ");
      if (EXCEPTIONS[file]?.[text] !== undefined) continue;
      found.push({ file, line: code.slice(0, m.index).split("\n").length, text });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/** Every raw timer and time read in the product of the repository at `root`, by file. */
export function rawTimers(root: string): RawTimer[] {
  return CHECKED_FOLDERS.flatMap((folder) => tsFiles(join(root, folder)))
    .map((path) => relative(root, path).split("\\").join("/"))
    .filter((file) => file !== TIME_MODULE)
    .sort()
    .flatMap((file) => rawTimersIn(file, readFileSync(join(root, file), "utf8")));
}

if (isEntryPoint(import.meta.url)) {
  const found = rawTimers(fileURLToPath(new URL("../", import.meta.url)));
  for (const { file, line, text } of found) console.log(`${file}:${line}: ${text}`);
  console.log(`${found.length} raw timers or time reads outside ${TIME_MODULE}`);
}
