// Reaching PostgreSQL, NATS and MQTT at start-up: a few quick retries (a service starting beside
// us may need a moment), then one error that names the service, its address and its variable.
import type { Logger } from "./log.ts";
import { type Clock, systemClock } from "../async/time.ts";
import { linear, retry } from "../async/retry.ts";

export interface Dependency {
  /** How an operator calls it: "PostgreSQL", "NATS", "MQTT". */
  service: string;
  url: string;
  /** The environment variable that holds `url`. */
  variable: string;
}

export class DependencyUnreachableError extends Error {
  override name = "DependencyUnreachableError";
  readonly code = "DEPENDENCY_UNREACHABLE";
  constructor(readonly dependency: Dependency, readonly reason: string, options?: ErrorOptions) {
    super(
      `cannot reach ${dependency.service} at ${
        redactUrl(dependency.url)
      } (${dependency.variable}): ${reason}`,
      options,
    );
  }
}

export interface ReachOptions {
  /** How long to keep retrying; the attempt under way may still take its own connect timeout. */
  budgetMs?: number;
  /** The host's real clock (the default): start-up is measured in wall time. */
  clock?: Clock;
}

/** 200 ms more per retry, at most 1 s. */
const REACH_BACKOFF = linear(200, 1_000);

/** Runs `attempt` until it succeeds or `budgetMs` is spent, logging one line per retry.
 * Kept short so a wrong address is reported in seconds; an orchestrator restarting the process
 * retries for longer than any budget we could pick. */
export async function reachDependency<T>(
  dependency: Dependency,
  log: Logger,
  attempt: () => Promise<T>,
  { budgetMs = 5_000, clock = systemClock }: ReachOptions = {},
): Promise<T> {
  const deadline = clock.now() + budgetMs;
  try {
    return await retry(attempt, {
      clock,
      backoff: REACH_BACKOFF,
      giveUp: (err, n) => {
        if (clock.now() + REACH_BACKOFF(n) > deadline) return true;
        // The reason, not the error object: an expected failure needs no stack trace in the log.
        log.warn(`${dependency.service} is not reachable yet, retrying`, {
          address: redactUrl(dependency.url),
          variable: dependency.variable,
          attempt: n + 1,
          err: describeFailure(err),
        });
        return false;
      },
    });
  } catch (err) {
    throw new DependencyUnreachableError(dependency, describeFailure(err), { cause: err });
  }
}

/** Replaces the user information of every URL in `text` (a comma-separated list for NATS):
 * a password, or a NATS token, must not reach a log or a terminal. */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/)[^/@\s,]*@/g, "$1***@");
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS lookup failed)",
  ETIMEDOUT: "no answer (timed out)",
  CONNECT_TIMEOUT: "no answer (timed out)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

function describeFailure(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    const reason = typeof e.code === "string" ? REASONS[e.code] : undefined;
    if (reason) return reason;
  }
  return redactUrl(err instanceof Error ? err.message : String(err));
}
