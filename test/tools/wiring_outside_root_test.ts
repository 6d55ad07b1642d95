// The pieces of the role context are built, and the roles started, in the composition root
// only (src/composition_root.ts): main.ts, the CLI, the tests, bench, faults and soak wire
// through it, so no copy of the wiring can drift from the one production runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  importedNames,
  mayImport,
  provideOutsideRoot,
  WIRING,
  wiringOutsideRoot,
} from "../../tools/wiring_outside_root.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("nothing outside the composition root imports a constructor of the role context", () => {
  assert.deepEqual(wiringOutsideRoot(root), []);
});

test("machines get their implementations (.provide) in the composition root only", () => {
  assert.deepEqual(provideOutsideRoot(root), []);
});

test("the rule names the pieces' constructors and the role starters, each exported where named", () => {
  assert.deepEqual(Object.values(WIRING).flat().sort(), [
    "connectNats",
    "createAckedPublisher",
    "createDataCipher",
    "createEventPublisher",
    "createSql",
    "djiAdapter",
    "runMigrations",
    "startApiRole",
    "startBridgeRole",
    "startShardRole",
  ]);
  // A constructor renamed or moved would leave the rule guarding nothing.
  for (const [module, names] of Object.entries(WIRING)) {
    const source = readFileSync(join(root, module), "utf8");
    for (const name of names) {
      assert.match(source, new RegExp(`export (async )?(function|const) ${name}\\b`), module);
    }
  }
});

test("an import of a constructor is found, except in the root and the constructor's own test", () => {
  const dir = mkdtempSync(join(tmpdir(), "wiring-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  try {
    write("src/store/db.ts", "export function createSql() {}\nexport type Sql = unknown;\n");
    write("src/composition_root.ts", 'import { createSql } from "./store/db.ts";\n');
    write("test/store/db_test.ts", 'import { createSql } from "../../src/store/db.ts";\n');
    write("test/store/types_only.ts", 'import type { Sql } from "../../src/store/db.ts";\n');
    write(
      "test/support/fixture.ts",
      'import { createSql as make, type Sql } from "../../src/store/db.ts";\n',
    );
    write("bench/all.ts", 'import * as db from "../src/store/db.ts";\n');
    assert.deepEqual(wiringOutsideRoot(dir), [
      { file: "bench/all.ts", name: "createSql" },
      { file: "test/support/fixture.ts", name: "createSql" },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("imported names are read from every form of import", () => {
  assert.deepEqual(
    importedNames(
      'import { a, type B, c as d } from "./x.ts";\nimport type { E } from "./y.ts";\n' +
        'import * as z from "./z.ts";\nexport { f } from "./w.ts";\nimport g from "./v.ts";\n' +
        'import { h } from "node:fs";\n',
    ),
    [
      { specifier: "./x.ts", names: ["a", "c"] },
      { specifier: "./z.ts", names: ["*"] },
      { specifier: "./w.ts", names: ["f"] },
      { specifier: "./v.ts", names: [] },
    ],
  );
  assert.ok(mayImport("test/store/db_test.ts", "src/store/db.ts"));
  assert.ok(mayImport("src/composition_root.ts", "src/store/db.ts"));
  assert.ok(!mayImport("test/store/nonce_store_test.ts", "src/store/db.ts"));
});
