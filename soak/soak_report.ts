// What a soak leaves behind: the targets table printed at the end, and every reading as JSON in
// soak/results/ (ignored by git), so two runs can be compared line by line.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SoakResult } from "./soak_run.ts";

export const RESULTS_DIR = join("soak", "results");

export function formatSoakReport(r: SoakResult): string {
  const t = r.final.totals;
  const lines = [
    "",
    `soak: ${r.plan.loadSeconds / 60} min at ${r.plan.perSecond}/s to ${r.plan.docks} docks: ` +
    `${r.requests} requests, ${r.accepted} accepted, ${r.http503} answered 503`,
    `final: ${
      Object.entries(t).sort().map(([k, n]) => `${k} ${n}`).join(", ") || "no rows"
    }; ${r.final.neverReachedDock} never reached their dock`,
    "",
  ];
  const width = Math.max(...r.verdict.targets.map((x) => x.target.length));
  const mwidth = Math.max(...r.verdict.targets.map((x) => x.measured.length), 8);
  lines.push(`${"target".padEnd(width)}  ${"measured".padEnd(mwidth)}  result`);
  for (const x of r.verdict.targets) {
    lines.push(`${x.target.padEnd(width)}  ${x.measured.padEnd(mwidth)}  ${x.result}`);
  }
  for (const n of r.verdict.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}

/** The start time as it names a run's files (no colons). */
export const resultStamp = (startedAt: number): string =>
  new Date(startedAt).toISOString().replaceAll(":", "-");

/** Writes the result as JSON; returns the file's path. */
export function writeSoakResult(r: SoakResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `soak-${resultStamp(Date.parse(r.startedAt))}.json`);
  writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
  return file;
}
