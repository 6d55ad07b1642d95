// Prints the suite's results as one table (a row per scenario), what each non-zero count is
// made of, and which scenarios failed on which counts.
import type { FailingCounts } from "./command_audit.ts";
import type { ScenarioResult } from "./scenario_run.ts";

const FAILING: readonly [keyof FailingCounts, string][] = [
  ["lost", "lost"],
  ["neverTerminal", "never terminal"],
  ["wronglyFinished", "wrongly finished"],
  ["publishedAgain", "published again (no DUP)"],
  ["eventsMissing", "events missing"],
  ["eventsDoubled", "events doubled"],
  ["eventsOutOfOrder", "events out of order"],
];

/** The failing counts of one result, e.g. ["lost 3", "events missing 12"]; [] when it passed. */
export function failuresOf(r: ScenarioResult): string[] {
  if (r.error) return [`did not run: ${r.error}`];
  const out = FAILING.filter(([k]) => r.audit![k] > 0).map(([k, name]) => `${name} ${r.audit![k]}`);
  if (r.notes?.takeoverLate) out.push("partitions not taken over within lease TTL + 5 s");
  return out;
}

export function formatResults(results: readonly ScenarioResult[]): string {
  const head = [
    "scenario",
    "accepted",
    "lost",
    "never term",
    "wrong",
    "again",
    "again>1s",
    "dup rx",
    "ev miss",
    "ev double",
    "ev order",
    "unreached",
    "ready s",
    "503s",
    "503 p99 ms",
    "no ans 10s",
    "other err",
    "takeover s",
  ];
  const fmt = (n: number | undefined, digits = 0) => n === undefined ? "-" : n.toFixed(digits);
  const rows = results.map((r) => {
    const a = r.audit;
    if (!a) return [r.scenario, ...head.slice(1).map(() => "-")];
    return [
      r.scenario,
      fmt(a.accepted),
      fmt(a.lost),
      fmt(a.neverTerminal),
      fmt(a.wronglyFinished),
      fmt(a.publishedAgain),
      fmt(a.againAfterDelivered),
      fmt(a.withDupCopies),
      fmt(a.eventsMissing),
      fmt(a.eventsDoubled),
      fmt(a.eventsOutOfOrder),
      fmt(a.neverReachedDock),
      r.readyAgainSeconds === undefined ? "never" : fmt(r.readyAgainSeconds, 1),
      fmt(a.http503),
      fmt(a.p99Of503Ms),
      fmt(a.noAnswerIn10s),
      fmt(a.otherErrors),
      fmt(r.notes?.takeoverSeconds, 1),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ""];
  out.push(
    "lost..ev order must be 0 ('again' counts commands a dock got more than once without DUP;",
    "again>1s, dup rx, unreached and the rest are information). ready s: from the fault until",
    "/readyz answered 200 again. no ans 10s: requests answered after 10 s or never.",
    "",
  );
  for (const r of results) {
    if (!r.audit) continue;
    const statuses = [...r.audit.statuses].map(([s, n]) => `${s} ${n}`).join(", ");
    out.push(`${r.scenario}: final states ${statuses || "none"}`);
    const sorted = [...r.audit.findings].sort((x, y) => y[1] - x[1]);
    for (const [what, n] of sorted.slice(0, 12)) out.push(`  ${String(n).padStart(6)}  ${what}`);
    if (sorted.length > 12) out.push(`  (${sorted.length - 12} more kinds)`);
    for (const e of r.audit.examples) out.push(`    e.g. ${e}`);
  }
  return out.join("\n");
}
