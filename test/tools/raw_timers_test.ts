// Every timer of the product is armed on an injected Clock, and the time is read from one
// (src/async/time.ts): a test's simulated clock then moves all of them, and none sleeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXCEPTIONS, rawTimers, rawTimersIn } from "../../tools/raw_timers.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("nothing in src/ or machines/ arms a raw timer or reads the time outside the Clock", () => {
  assert.deepEqual(rawTimers(root), []);
});

test("a raw timer in the product is found, one in the time module or a test is not", () => {
  const dir = mkdtempSync(join(tmpdir(), "raw-timers-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  try {
    write("src/async/time.ts", "export const now = () => Date.now();\n");
    write("test/x_test.ts", "setTimeout(() => {}, 10);\n");
    write(
      "src/http/close.ts",
      "// setTimeout( in a comment is no timer\n" +
        "export const close = (clock: Clock) => {\n" +
        "  clock.setTimeout(() => {}, 1);\n" +
        "  setTimeout(() => {}, 2_000);\n" +
        "};\n",
    );
    assert.deepEqual(rawTimers(dir), [{ file: "src/http/close.ts", line: 4, text: "setTimeout(" }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every form of raw timer and time read is found", () => {
  const source = 'import { setImmediate } from "node:timers";\n' +
    'import { setTimeout as sleep } from "timers/promises";\n' +
    "globalThis.setTimeout(f, 1); setInterval(f, 1); setImmediate(f); queueMicrotask(f);\n" +
    "const a = Date.now(), b = performance.now(), c = new Date(), d = Date.now;\n" +
    "o.clock.setTimeout(f, 1); this.clock.clearTimeout(t); new Date(0); const u = 'mqtt://x';\n";
  assert.deepEqual(rawTimersIn("src/x.ts", source).map((f) => `${f.line}: ${f.text}`), [
    '1: "node:timers"',
    '2: "timers/promises"',
    "3: globalThis.setTimeout(",
    "3: setInterval(",
    "3: setImmediate(",
    "3: queueMicrotask(",
    "4: Date.now",
    "4: performance.now",
    "4: Date.now",
    "4: new Date()",
  ]);
});

test("an exception holds for its file only, and each says why", () => {
  assert.deepEqual(rawTimersIn("src/runtime/log.ts", "const t = new Date().toISOString();"), []);
  assert.equal(
    rawTimersIn("src/runtime/other.ts", "const t = new Date().toISOString();").length,
    1,
  );
  for (const reasons of Object.values(EXCEPTIONS)) {
    for (const reason of Object.values(reasons)) assert.ok(reason.length > 10);
  }
});
