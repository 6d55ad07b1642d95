// How long and how hard a soak runs, read from the command line once: the minutes, the rate,
// the docks, and the warm-up after which memory and accept latency are held to their targets.
import { parseArgs } from "node:util";

export interface SoakPlan {
  /** Seconds of steady load (`--minutes` may be a decimal: CI runs 2). */
  loadSeconds: number;
  perSecond: number;
  docks: number;
  timeoutSeconds: number;
  /** Where the load is taken as warmed up: RSS and accept p99 are held to what they were in the
   * `windowSeconds` after it (the reference window), the last `windowSeconds` of load to that. */
  warmupSeconds: number;
  windowSeconds: number;
  /** Waited past the last accepted command's deadline before its final state is read. */
  marginSeconds: number;
}

export const USAGE = `usage: npm run soak -- [--minutes N] [--rate R] [--docks D] | --quick
  --minutes N  minutes of load, decimals allowed (default 30)
  --rate R     signed commands per second, an integer (default 200)
  --docks D    simulated docks, every one answering result 0 at once (default 100)
  --quick      the CI form: --minutes 2 --rate 200`;

/** The plan, or a message saying which argument is wrong. */
export function parseSoakArgs(argv: string[]): SoakPlan | { error: string } | "help" {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        minutes: { type: "string" },
        rate: { type: "string" },
        docks: { type: "string" },
        quick: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (values.help) return "help";
  if (values.quick && (values.minutes !== undefined || values.rate !== undefined)) {
    return { error: "--quick is --minutes 2 --rate 200: give either, not both" };
  }
  const minutes = Number(values.quick ? "2" : values.minutes ?? "30");
  const rate = Number(values.quick ? "200" : values.rate ?? "200");
  const docks = Number(values.docks ?? "100");
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    return { error: `--minutes must be a number above 0 and at most 1440, got ${values.minutes}` };
  }
  if (!Number.isInteger(rate) || rate < 1 || rate > 5_000) {
    return { error: `--rate must be an integer 1-5000, got ${values.rate}` };
  }
  if (!Number.isInteger(docks) || docks < 1 || docks > 10_000) {
    return { error: `--docks must be an integer 1-10000, got ${values.docks}` };
  }
  const loadSeconds = minutes * 60;
  return {
    loadSeconds,
    perSecond: rate,
    docks,
    timeoutSeconds: 30,
    // Minute 2 for a long run; a short one has no minute 2 to spare, so its first third.
    warmupSeconds: Math.min(120, loadSeconds / 3),
    windowSeconds: Math.min(60, loadSeconds / 3),
    marginSeconds: 10,
  };
}
