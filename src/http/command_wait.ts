// GET /api/v1/open/downlink/commands/{id}/wait: answers the Query Response as soon as the
// command is terminal (or with ?until=finished, its job has finished), or its current state after
// timeout_seconds (X-Wait-Timed-Out: true). Woken by the tenant's completed (and progress) events
// on core NATS; Postgres is read before and after.
import { Hono } from "hono";
import type { CompletionWatch } from "../bus/completion_watch.ts";
import type { CommandStore, CommandView } from "../store/command_store.ts";
import type { Clock } from "../time.ts";
import { describeValue } from "../json/describe_value.ts";
import { requireScope } from "./auth.ts";
import { parseCommandId } from "./command_id_param.ts";
import type { ApiEnv } from "./commands.ts";
import { NotFoundError, ValidationError } from "./errors.ts";
import { TERMINAL_STATUSES } from "../command/status.ts";
import type { VendorAdapter } from "../vendors/vendor_adapter.ts";

export const WAIT_DEFAULT_SECONDS = 30;
export const WAIT_MAX_SECONDS = 60;

export interface CommandWaitDeps {
  clock: Clock;
  commands: CommandStore;
  completions: CompletionWatch;
  /** Which command types report their job's progress. */
  vendor: VendorAdapter;
  /** Watches command.progress: needed for ?until=finished. */
  progress?: CompletionWatch;
}

/** What a wait waits for: the reply's terminal status, or the job's end. */
export const WAIT_UNTIL = ["terminal", "finished"] as const;
export type WaitUntil = typeof WAIT_UNTIL[number];

/** until of the query: terminal (default) or finished. */
export function parseWaitUntil(value: string | undefined): WaitUntil {
  if (value === undefined) return "terminal";
  if ((WAIT_UNTIL as readonly string[]).includes(value)) return value as WaitUntil;
  const reason = `must be one of ${WAIT_UNTIL.join(", ")}, got ${describeValue(value)}`;
  throw new ValidationError("VALIDATION_FAILED", `Cannot wait for command: until ${reason}`, [
    { path: "query.until", reason },
  ]);
}

/** A job has finished when its dock reported a terminal progress status; a command that ended
 * other than SUCCEEDED started no job, and one DJI reports no progress for ends with its reply. */
export function isFinished(view: CommandView, vendor: Pick<VendorAdapter, "findCommand">): boolean {
  if (view.progress?.finished_at !== undefined) return true;
  if (!isTerminal(view)) return false;
  return view.status !== "SUCCEEDED" ||
    vendor.findCommand(view.command_type)?.progress_event === undefined;
}

/** timeout_seconds of the query: an integer 0-60, default 30. */
export function parseWaitSeconds(value: string | undefined): number {
  if (value === undefined) return WAIT_DEFAULT_SECONDS;
  const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= WAIT_MAX_SECONDS)) {
    const reason = `must be an integer 0-${WAIT_MAX_SECONDS}, got ${describeValue(value)}`;
    throw new ValidationError(
      "VALIDATION_FAILED",
      `Cannot wait for command: timeout_seconds ${reason}`,
      [{ path: "query.timeout_seconds", reason }],
    );
  }
  return n;
}

const isTerminal = (view: CommandView) => TERMINAL_STATUSES.has(view.status);

export function commandWaitRoutes(deps: CommandWaitDeps): Hono<ApiEnv> {
  const { clock, commands, completions, progress, vendor } = deps;
  const finished = (view: CommandView) => isFinished(view, vendor);
  const routes = new Hono<ApiEnv>();

  routes.get("/:command_id/wait", async (c) => {
    const client = c.get("client");
    requireScope(client, "open:command:read");
    const id = parseCommandId(c.req.param("command_id"));
    const timeoutSeconds = parseWaitSeconds(c.req.query("timeout_seconds"));
    const until = parseWaitUntil(c.req.query("until"));
    const done = until === "finished" ? finished : isTerminal;
    const read = async () => {
      // Another tenant's command is answered exactly like one that does not exist (as GET).
      const view = await commands.getCommand(client.tenant_id, id);
      if (!view) {
        throw new NotFoundError(
          "COMMAND_NOT_FOUND",
          `No command ${JSON.stringify(id.slice(0, 80))}`,
        );
      }
      return view;
    };

    let view: CommandView;
    if (timeoutSeconds === 0) {
      view = await read();
    } else {
      // A caller that hangs up keeps its place until the timeout (at most 60 s): request.signal
      // is not used because Deno (legacy mode) also aborts it after every successful answer.
      let timer: unknown;
      const expired = new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, timeoutSeconds * 1000);
      });
      // Subscribe before the first read: a completion between the two is then never missed.
      const watching = completions.watch(client.tenant_id, id);
      const progressing = until === "finished" ? progress?.watch(client.tenant_id, id) : undefined;
      try {
        await Promise.race([Promise.all([watching.ready, progressing?.ready]), expired]);
        view = await read();
        if (!progressing) {
          if (!done(view)) {
            await Promise.race([watching.completed, expired]);
            view = await read();
          }
        } else {
          // Each progress event (and the completion) wakes it to read again, until the job has
          // finished, the time is up, or the watches close (shutdown).
          let timedOut = false;
          void expired.then(() => (timedOut = true));
          while (!done(view) && !timedOut) {
            const more = await Promise.race([
              progressing.changed(),
              watching.changed(),
              expired.then(() => false),
            ]);
            view = await read();
            if (!more) break;
          }
        }
      } finally {
        watching.stop();
        progressing?.stop();
        clock.clearTimeout(timer);
      }
    }
    if (!done(view)) c.header("X-Wait-Timed-Out", "true");
    return c.json(view);
  });

  return routes;
}
