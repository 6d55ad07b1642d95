// package.json's `downlink/client` entry points at the client: its TypeScript for Deno, and for
// Node the files `npm run build` emits from that same source (tsconfig.build.json → dist/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const build = JSON.parse(readFileSync(new URL("tsconfig.build.json", root), "utf8"));

test("downlink/client resolves to the client's entry, built or as source", () => {
  const entry = pkg.exports["./client"];
  assert.equal(entry.deno, "./src/client/index.ts");
  assert.ok(existsSync(new URL(entry.deno, root)), entry.deno);
  const outDir = build.compilerOptions.outDir;
  // rootDir "." keeps src/ under outDir; .ts becomes .js and .d.ts.
  assert.equal(build.compilerOptions.rootDir, ".");
  assert.ok(build.include.includes("src"));
  assert.equal(entry.default, `./${outDir}/src/client/index.js`);
  assert.equal(entry.types, `./${outDir}/src/client/index.d.ts`);
});

test("the production start and the image run what the build emits", () => {
  const outDir = build.compilerOptions.outDir;
  assert.equal(pkg.scripts.build, "tsc -p tsconfig.build.json");
  assert.equal(pkg.scripts["start:dist"], `node ${outDir}/src/main.js`);
  const dockerfile = readFileSync(new URL("Dockerfile", root), "utf8");
  assert.match(dockerfile, new RegExp(`CMD \\["node", "${outDir}/src/main\\.js"\\]`));
  assert.match(
    readFileSync(new URL("docs/DEPLOY.md", root), "utf8"),
    new RegExp(`ExecStart=/usr/bin/node ${outDir}/src/main\\.js`),
  );
});
