// `npm run faults [-- --quick] [-- --scenario NAME[,NAME]]`: runs Downlink under steady load
// against servers of its own, injects one fault per scenario, and fails (exit 1) when a command
// was lost, never finished, finished wrongly, was published to its dock again, or its
// lifecycle events were missing, doubled or out of order.
import process from "node:process";
import { parseArgs } from "node:util";
import { cleanupOnSignals } from "./cleanup.ts";
import { SCENARIOS } from "./scenarios.ts";
import { FULL_PLAN, QUICK_PLAN } from "./run_plan.ts";
import { runScenario, type ScenarioResult } from "./scenario_run.ts";
import { failuresOf, formatResults } from "./result_table.ts";

const USAGE = `usage: npm run faults -- [--quick] [--scenario NAME[,NAME]]
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        scenario: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const names = args.scenario?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(", ")}\n${USAGE}`);
    return 2;
  }
  const chosen = names ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const plan = args.quick ? QUICK_PLAN : FULL_PLAN;
  cleanupOnSignals();

  // Downlink's processes inherit the environment: CI runs the suite once per link adapter.
  console.error(`[faults] link: ${process.env.DOWNLINK_LINK || "jetstream (the default)"}`);
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const started = Date.now();
    results.push(await runScenario(scenario, plan));
    console.error(
      `[faults ${scenario.name}] done in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  console.log(formatResults(results));
  const failed = results.map((r) => [r.scenario, failuresOf(r)] as const)
    .filter(([, f]) => f.length > 0);
  for (const [name, f] of failed) console.log(`FAIL ${name}: ${f.join(", ")}`);
  if (failed.length === 0) console.log(`PASS: ${results.length} scenario(s)`);
  return failed.length > 0 ? 1 : 0;
}

process.exit(await main());
