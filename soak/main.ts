// `npm run soak [-- --minutes N] [-- --rate R] [-- --quick]`: one Downlink process under a
// steady signed load against servers of its own, one line per minute, and exit 1 when a target
// of issue 16 (item 5) is missed: answered commands succeed, reply lag, flat memory, accept p99.
import process from "node:process";
import { cleanupOnSignals } from "../faults/cleanup.ts";
import { parseSoakArgs, USAGE } from "./soak_plan.ts";
import { runSoak } from "./soak_run.ts";
import { formatSoakReport, writeSoakResult } from "./soak_report.ts";

async function main(): Promise<number> {
  const plan = parseSoakArgs(process.argv.slice(2));
  if (plan === "help") {
    console.log(USAGE);
    return 0;
  }
  if ("error" in plan) {
    console.error(`${plan.error}\n${USAGE}`);
    return 2;
  }
  cleanupOnSignals();
  let result;
  try {
    result = await runSoak(plan);
  } catch (err) {
    console.error(`[soak] failed to run: ${(err as Error).stack ?? err}`);
    return 1;
  }
  console.log(formatSoakReport(result));
  console.log(`results: ${writeSoakResult(result)}`);
  const missed = result.verdict.targets.filter((t) => t.result === "FAIL");
  for (const t of missed) console.log(`FAIL ${t.target}: ${t.measured}`);
  if (missed.length === 0) console.log("PASS: every target met");
  return missed.length > 0 ? 1 : 0;
}

process.exit(await main());
