// GET /api/v1/open/downlink/commands/{id}/wait: answers the Query Response as soon as the
// command is terminal (or with ?until=finished, its job has finished), or its current state after
// timeout_seconds (X-Wait-Timed-Out: true). Woken by the tenant's completed (and progress) events
// on core NATS; Postgres is read before and after.
import type { Context } from "hono";
import { Type } from "@sinclair/typebox";
import type { CompletionWatch } from "../bus/completion_watch.ts";
import type { CommandStore, CommandView } from "../store/command_store.ts";
import type { Clock } from "../async/time.ts";
import { commandIdPath } from "./command_id_param.ts";
import type { ApiEnv } from "./api_env.ts";
import { COMMANDS_PATH } from "./commands.ts";
import { NotFoundError } from "./errors.ts";
import { defineRoute, param, readQuery } from "./route.ts";
import { TERMINAL_STATUSES } from "../command/status.ts";
import type { VendorRegistry } from "../vendors/vendor_registry.ts";

export const WAIT_DEFAULT_SECONDS = 30;
export const WAIT_MAX_SECONDS = 60;

export interface CommandWaitDeps {
  clock: Clock;
  commands: CommandStore;
  completions: CompletionWatch;
  /** Which command types report their job's progress (by the command's vendor). */
  vendors: VendorRegistry;
  /** Watches command.progress: needed for ?until=finished. */
  progress?: CompletionWatch;
}

/** What a wait waits for: the reply's terminal status, or the job's end. */
export const WAIT_UNTIL = ["terminal", "finished"] as const;
export type WaitUntil = typeof WAIT_UNTIL[number];

/** The query of a wait: read leniently (see QuerySpec), the first problem named. */
export const waitQuery = {
  cannot: "Cannot wait for command",
  strict: false,
  params: {
    timeout_seconds: param(Type.Integer({ minimum: 0, maximum: WAIT_MAX_SECONDS }), {
      description: "How long to wait for a terminal state",
      default: WAIT_DEFAULT_SECONDS,
    }),
    until: param(Type.Unsafe<WaitUntil>({ type: "string", enum: [...WAIT_UNTIL] }), {
      description: "`terminal`: the reply decided the status; `finished`: the job's terminal " +
        "progress (finished_at), or a status that ends it without one (FAILED, TIMED_OUT, ...)",
      default: "terminal",
    }),
  },
};

/** until of the query: terminal (default) or finished. */
export function parseWaitUntil(value: string | undefined): WaitUntil {
  return readQuery(waitQuery, value === undefined ? {} : { until: [value] }).until;
}

/** A job has finished when its dock reported a terminal progress status; a command that ended
 * other than SUCCEEDED started no job, and one DJI reports no progress for ends with its reply. */
export function isFinished(view: CommandView, vendors: Pick<VendorRegistry, "of">): boolean {
  if (view.progress?.finished_at !== undefined) return true;
  if (!isTerminal(view)) return false;
  return view.status !== "SUCCEEDED" ||
    vendors.of(view.vendor).findCommand(view.command_type)?.progress_event === undefined;
}

/** timeout_seconds of the query: an integer 0-60, default 30. */
export function parseWaitSeconds(value: string | undefined): number {
  return readQuery(waitQuery, value === undefined ? {} : { timeout_seconds: [value] })
    .timeout_seconds;
}

const isTerminal = (view: CommandView) => TERMINAL_STATUSES.has(view.status);

/** GET /commands/{command_id}/wait. */
export const waitForCommandRoute = defineRoute({
  method: "get",
  path: `${COMMANDS_PATH}/:command_id/wait`,
  operationId: "waitForCommand",
  summary: "The command's state once terminal, or after timeout_seconds",
  scope: "open:command:read",
  pathParams: commandIdPath,
  query: waitQuery,
  responses: {
    "200": {
      description: "The Query Response",
      schema: "CommandView",
      headers: {
        "X-Wait-Timed-Out": {
          description: "`true` when what `until` waits for had not happened when the wait ended",
          schema: { type: "string", enum: ["true"] },
        },
      },
    },
    "400": "BadRequest",
    "404": "NotFound",
  },
  handle: waitForCommand,
});

async function waitForCommand(
  c: Context<ApiEnv>,
  { path: { command_id: id }, query }: {
    path: { command_id: string };
    query: { timeout_seconds: number; until: WaitUntil };
  },
  deps: CommandWaitDeps,
): Promise<Response> {
  const { clock, commands, completions, progress, vendors } = deps;
  const client = c.get("client");
  const { timeout_seconds: timeoutSeconds, until } = query;
  const done = until === "finished" ? (view: CommandView) => isFinished(view, vendors) : isTerminal;
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
}
