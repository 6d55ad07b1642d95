// Which files build a piece of the role context, or start a role, without the composition root
// (src/composition_root.ts). Run it to list them; test/tools/wiring_outside_root_test.ts fails on
// any. Reads files only: no module is loaded.
import { readFileSync } from "node:fs";
import { isEntryPoint, tsFiles } from "./source_tree.ts";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const COMPOSITION_ROOT = "src/composition_root.ts";

/** The constructors of the role context's pieces and the role starters, by defining module:
 * only the composition root calls them. */
export const WIRING: Readonly<Record<string, readonly string[]>> = {
  "src/store/db.ts": ["createSql"],
  "src/store/migrations.ts": ["runMigrations"],
  "src/crypto/data_key.ts": ["createDataCipher"],
  "src/bus/nats.ts": ["connectNats"],
  "src/bus/acked_publisher.ts": ["createAckedPublisher"],
  "src/bus/event_publisher.ts": ["createEventPublisher"],
  "src/vendors/dji/dji_adapter.ts": ["djiAdapter"],
  "src/http/api_role.ts": ["startApiRole"],
  "src/shard/shard_role.ts": ["startShardRole"],
  "src/bridge/bridge_role.ts": ["startBridgeRole"],
};

/** The folders whose files are held to it. */
export const CHECKED_FOLDERS = ["src", "test", "bench", "faults", "soak"] as const;

/** One file importing one wiring constructor: `test/support/harness.ts: createSql`. */
export interface WiringImport {
  file: string;
  name: string;
}

/** Who may import a module's constructors besides the root: the module's own unit test (the
 * test that mirrors it, `src/x/y.ts` → `test/x/y_test.ts`), which tests the piece itself. */
export function mayImport(file: string, module: string): boolean {
  if (file === COMPOSITION_ROOT || file === module) return true;
  return file === module.replace(/^src\//, "test/").replace(/\.ts$/, "_test.ts");
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']/g;

/** The names a TypeScript source imports (or re-exports) from each relative specifier; `*` for
 * a namespace import or `export *`; type-only imports are left out. */
export function importedNames(source: string): { specifier: string; names: string[] }[] {
  const out: { specifier: string; names: string[] }[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const [, typeOnly, clause, specifier] = m;
    if (typeOnly || !specifier.startsWith(".")) continue;
    const names: string[] = [];
    if (/\*/.test(clause.replace(/\{[^}]*\}/, ""))) names.push("*");
    const braces = /\{([^}]*)\}/.exec(clause);
    for (const part of braces?.[1].split(",") ?? []) {
      const binding = part.trim();
      if (!binding || binding.startsWith("type ")) continue;
      names.push(binding.split(/\s+as\s+/)[0].trim());
    }
    out.push({ specifier, names });
  }
  return out;
}

/** Every import of a wiring constructor by a file that may not import it, in the repository at
 * `root`, sorted. */
export function wiringOutsideRoot(root: string): WiringImport[] {
  const found: WiringImport[] = [];
  for (const folder of CHECKED_FOLDERS) {
    for (const path of tsFiles(join(root, folder))) {
      const file = relative(root, path).split("\\").join("/");
      for (const { specifier, names } of importedNames(readFileSync(path, "utf8"))) {
        const module = relative(root, resolve(dirname(path), specifier)).split("\\").join("/");
        const constructors = WIRING[module];
        if (!constructors || mayImport(file, module)) continue;
        for (const name of constructors) {
          if (names.includes(name) || names.includes("*")) found.push({ file, name });
        }
      }
    }
  }
  return found.sort((a, b) => `${a.file}:${a.name}`.localeCompare(`${b.file}:${b.name}`));
}

/** Every file of the product (src/, machines/) outside the root that gives a machine its
 * implementations (`.provide(`): which effects a machine runs is the root's choice. Tests may
 * provide fakes to the machines they test. */
export function provideOutsideRoot(root: string): string[] {
  return ["src", "machines"].flatMap((folder) => tsFiles(join(root, folder)))
    .map((path) => relative(root, path).split("\\").join("/"))
    .filter((file) => file !== COMPOSITION_ROOT)
    .filter((file) => /[\w)\]]\.provide\(/.test(readFileSync(join(root, file), "utf8")))
    .sort();
}

if (isEntryPoint(import.meta.url)) {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const found = wiringOutsideRoot(root);
  for (const { file, name } of found) console.log(`${file}: ${name}`);
  console.log(`${found.length} imports of wiring outside ${COMPOSITION_ROOT}`);
  for (const file of provideOutsideRoot(root)) console.log(`${file}: .provide(`);
}
