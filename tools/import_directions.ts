// Which imports cross between layers (machines/, src/<folder>, src's loose files) and which of
// them point against the intended direction. Run it to measure; test/tools/import_directions_test.ts
// fails on a forbidden arrow. Reads files only: no module is loaded.
import { readFileSync } from "node:fs";
import { tsFiles } from "./source_tree.ts";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One import from one file of the repository to another, by path from the repository root. */
export interface ImportEdge {
  from: string;
  to: string;
}

/** Which layers a layer must not import (absent: no constraint). "src" stands for every src layer. */
const FORBIDDEN: Record<string, readonly string[]> = {
  // Pure machine definitions: nothing of src/ but the shared command module.
  machines: ["src"],
  // What every layer shares, so it reaches into none of them (but the clock, in src/async).
  "src/command": ["machines", "src"],
  // Timers, the clock, retry and the limiter: below every layer.
  "src/async": ["machines", "src"],
  // The process as a whole (configuration, logs, metrics, memory): no role, no store, no bus.
  "src/runtime": [
    "machines",
    "src/command",
    "src/store",
    "src/bus",
    "src/link",
    "src/shard",
    "src/http",
    "src/bridge",
    "src/vendors",
    "src/vendors/dji",
  ],
  "src/store": ["machines", "src/bus", "src/shard", "src/http", "src/bridge", "src/vendors/dji"],
  // The outbox relay reads the store's outbox; the store never imports the bus.
  "src/bus": ["machines", "src/shard", "src/http", "src/bridge", "src/vendors/dji"],
  // The link carries messages between the roles; it knows none of them (they attach their ends).
  "src/link": ["machines", "src/store", "src/shard", "src/http", "src/bridge", "src/vendors/dji"],
  "src/bridge": ["machines", "src/store", "src/shard", "src/http", "src/vendors/dji"],
  "src/http": ["machines", "src/shard", "src/bridge", "src/vendors/dji"],
  "src/shard": ["src/http", "src/bridge", "src/vendors/dji"],
  "src/device": ["machines", "src/shard", "src/http", "src/bridge", "src/vendors/dji"],
  // The vendor port knows no vendor; a vendor knows nothing of the layers that use it.
  "src/vendors": ["machines", "src"],
  "src/vendors/dji": ["machines", "src/store", "src/bus", "src/shard", "src/http", "src/bridge"],
};

/** What a layer may import although its rule above would forbid it. */
const ALLOWED: Record<string, readonly string[]> = {
  machines: ["src/command"],
  "src/command": ["src/async"],
  "src/vendors": ["src/command"],
};

/** The layer a repository path belongs to: `machines`, `src/http`, `src/vendors/dji`, `src/main`. */
export function layerOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "src") return parts[0];
  if (parts.length === 2) return `src/${parts[1].replace(/\.ts$/, "")}`;
  if (parts[1] === "vendors" && parts.length > 3) return `src/vendors/${parts[2]}`;
  return `src/${parts[1]}`;
}

/** Whether an import from layer `from` to layer `to` points against the intended direction. */
export function isForbidden(from: string, to: string): boolean {
  if (from === to) return false;
  if (ALLOWED[from]?.includes(to)) return false;
  const rule = FORBIDDEN[from];
  if (!rule) return false;
  return rule.some((r) => r === to || (r === "src" && to.startsWith("src/")));
}

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The relative imports of the given TypeScript source, as written. */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const s = m[1] ?? m[2];
    if (s.startsWith(".")) out.push(s);
  }
  return out;
}

/** Every relative import of every .ts file under src/ and machines/ of the repository at `root`. */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of [...tsFiles(join(root, "src")), ...tsFiles(join(root, "machines"))]) {
    const from = relative(root, file);
    for (const s of importSpecifiers(readFileSync(file, "utf8"))) {
      edges.push({ from, to: relative(root, resolve(dirname(file), s)) });
    }
  }
  return edges;
}

/** The imports that cross from one layer to another. */
export function crossings(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => layerOf(e.from) !== layerOf(e.to));
}

/** The crossings against the intended direction. */
export function forbidden(edges: readonly ImportEdge[]): ImportEdge[] {
  return crossings(edges).filter((e) => isForbidden(layerOf(e.from), layerOf(e.to)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const all = crossings(importEdges(root));
  const wrong = forbidden(all);
  const pairs = (es: readonly ImportEdge[]) =>
    new Set(es.map((e) => `${layerOf(e.from)} -> ${layerOf(e.to)}`));
  console.log(
    `crossings: ${all.length} imports over ${pairs(all).size} layer pairs; ` +
      `against the direction: ${wrong.length} imports over ${pairs(wrong).size} layer pairs`,
  );
  for (const e of wrong) console.log(`  ${e.from} -> ${e.to}`);
}

/** The groups of files that import each other, directly or through others (Tarjan's strongly
 * connected components of more than one file). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    next.get(e.from)!.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return groups;
}
