// The CLI's commands for API callers: `command send|get|list|wait`, through the typed client,
// signed with the credentials of api_credentials.ts. Lines for people; --json for programs.
// `--until finished` follows a long job past its reply to the end its dock reports.
import { readFileSync } from "node:fs";
import { type ApiErrorDetail, DownlinkApiError } from "../client/api_errors.ts";
import {
  type CommandClient,
  type CommandState,
  createCommandClient,
  type ListFilter,
  type SendCommand,
} from "../client/command_client.ts";
import type { CommandStatus } from "../command/status.ts";
import { PROGRESS_FAILED_STATUSES } from "../vendors/dji/progress_statuses.ts";
import { CREDENTIAL_OPTIONS, resolveCredentials } from "./api_credentials.ts";
import type { CommandSpec } from "./command_help.ts";
import { commandLine, progressStepOf, type Step, stepLine, stepsOf } from "./lifecycle_lines.ts";
import { type Clock, systemClock } from "../async/time.ts";

export interface ApiIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  signal?: AbortSignal;
  /** What `--timeout` is measured on (default: the system clock). */
  clock?: Clock;
}

export type Options = Record<string, string | boolean | undefined>;

export interface ApiCommand {
  spec: CommandSpec;
  run(options: Options, positionals: string[], io: ApiIo): Promise<number>;
}

/** Exit codes shared by send --wait and wait. */
export const EXIT = {
  SUCCEEDED: 0,
  /** Usage, connection or API errors. */
  ERROR: 1,
  /** Terminal, but not SUCCEEDED (FAILED, TIMED_OUT, UNMATCHED_RESPONSE); with --until
   * finished also a job whose dock reported it failed. */
  NOT_SUCCEEDED: 3,
  /** wait --timeout passed before the command was terminal (with --until finished: before its
   * job finished). */
  NOT_TERMINAL: 4,
} as const;

const EXIT_NOTES = [
  "exit codes: 0 done (with --wait: SUCCEEDED), 1 a usage, connection or API error,",
  "  3 terminal but not SUCCEEDED (FAILED, TIMED_OUT, UNMATCHED_RESPONSE), 4 --timeout passed first",
  "  (with --until finished: 3 also when the dock reported the job failed, 4 when --timeout",
  "  passed before the job finished)",
];

/** What following a command waits for (GET .../wait?until=). */
type Until = "terminal" | "finished";

const UNTIL_OPTION: CommandSpec["options"] = {
  until: {
    value: "WHAT",
    help: "terminal (default): until the reply decides the status; finished: until the " +
      "job's dock reports its end (progress.finished_at) too, for long jobs such as " +
      "fileupload_start, a line per progress seen",
  },
};

export class UsageError extends Error {
  override name = "UsageError";
}

const str = (o: Options, name: string): string | undefined => {
  const v = o[name];
  return typeof v === "string" ? v : undefined;
};

function wholeNumber(o: Options, name: string): number | undefined {
  const v = str(o, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) {
    throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function readJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

function client(o: Options, io: ApiIo): CommandClient {
  const credentials = resolveCredentials(o as Record<string, string | undefined>, io.env);
  return createCommandClient(credentials);
}

function untilOf(o: Options): Until {
  const v = str(o, "until");
  if (v === undefined || v === "terminal" || v === "finished") return v ?? "terminal";
  throw new UsageError(`--until must be terminal or finished, got ${JSON.stringify(v)}`);
}

/** A finished job that did not do what it was asked: its dock said so by status or result. */
function jobFailed(state: CommandState): boolean {
  const p = state.progress;
  if (!p?.finished_at) return false;
  return PROGRESS_FAILED_STATUSES.includes(p.status) || (p.result !== undefined && p.result !== 0);
}

function commandId(positionals: string[], o: Options): string {
  const id = positionals[0] ?? str(o, "id");
  if (!id) throw new UsageError("give the command id, e.g. command get 0192…");
  if (positionals.length > 1) throw new UsageError(`one command id, got ${positionals.length}`);
  return id;
}

/** Prints each step the state shows that was not printed yet; returns the steps printed. */
function printNewSteps(
  state: CommandState,
  printed: Set<string>,
  out: (t: string) => void,
): Step[] {
  const fresh = stepsOf(state).filter((s) => !printed.has(s.name));
  for (const step of fresh) {
    printed.add(step.name);
    out(stepLine(step, state.accepted_at));
  }
  return fresh;
}

/** Prints the job's progress when it shows something not printed yet (the last line printed
 * is kept in `last`). */
function printNewProgress(state: CommandState, last: { line?: string }, out: (t: string) => void) {
  const step = progressStepOf(state);
  if (!step) return;
  const line = stepLine(step, state.accepted_at);
  // The time is left out of the comparison: a report that changes nothing shown is not news.
  const shown = `${step.name} ${step.detail}`;
  if (shown === last.line) return;
  last.line = shown;
  out(line);
}

/** Follows a command until terminal (with `until` finished: until its job finished), or
 * `timeoutSeconds`, printing each step as it shows. The server's wait answers at once when
 * what it waits for happened (and says whether it did); a 1 s wait shows a DELIVERED, or a
 * job's progress, in between. */
async function follow(
  api: CommandClient,
  id: string,
  printed: Set<string>,
  o: Options,
  io: ApiIo,
  timeoutSeconds?: number,
): Promise<number> {
  const json = o.json === true;
  const quiet = o.quiet === true;
  const what = untilOf(o);
  const progress: { line?: string } = {};
  const clock = io.clock ?? systemClock;
  const until = timeoutSeconds === undefined ? Infinity : clock.now() + timeoutSeconds * 1000;
  let { state, reached } = await api.waitOnce(id, { timeoutSeconds: 0, until: what });
  for (;;) {
    if (!json && !quiet) {
      printNewSteps(state, printed, io.out);
      if (what === "finished") printNewProgress(state, progress, io.out);
    }
    if (reached || clock.now() >= until || io.signal?.aborted) break;
    const left = Math.max(0, (until - clock.now()) / 1000);
    ({ state, reached } = await api.waitOnce(id, {
      timeoutSeconds: Math.min(1, left),
      until: what,
      signal: io.signal,
    }));
  }
  if (json) io.out(JSON.stringify(state));
  if (!reached) return EXIT.NOT_TERMINAL;
  if (state.status !== "SUCCEEDED") return EXIT.NOT_SUCCEEDED;
  return what === "finished" && jobFailed(state) ? EXIT.NOT_SUCCEEDED : EXIT.SUCCEEDED;
}

const OUTPUT_OPTIONS: CommandSpec["options"] = {
  json: { help: "print JSON (one object per line) instead of lines for people" },
};

const SEND: ApiCommand = {
  spec: {
    description: "Sends a command and prints its 202 (command id, request id). With --wait, " +
      "each lifecycle step follows, a line each, until the command is terminal.",
    options: {
      device: { value: "SN", help: "the device's serial (device_id)" },
      type: { value: "METHOD", help: "the command type, e.g. fileupload_start (see the catalog)" },
      payload: { value: "JSON", help: "the payload, a JSON object (default {})" },
      "payload-file": { value: "F", help: "read the payload from file F" },
      file: {
        value: "F",
        help: "read the whole request body from F (as POST /commands takes it); flags override",
      },
      key: { value: "K", help: "the idempotency key (default: from --file, else a fresh UUID)" },
      timeout: { value: "SECONDS", help: "timeout_seconds, 1-300 (default: the server's)" },
      wait: { help: "follow the command until terminal, a line per step" },
      ...UNTIL_OPTION,
      quiet: { help: "print only the command id (with --wait, the exit code tells the outcome)" },
      ...OUTPUT_OPTIONS,
      ...CREDENTIAL_OPTIONS,
    },
    notes: [
      ...EXIT_NOTES,
      "",
      "example:",
      "  ID=$(npm run -s downlink -- command send --device drone-001 --type fileupload_start \\",
      "    --payload-file payload.json --quiet)",
    ],
  },
  async run(o, positionals, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
    }
    const fromFile = str(o, "file") !== undefined
      ? readJson(`--file ${str(o, "file")}`, readFileSync(str(o, "file")!, "utf8"))
      : {};
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) {
      throw new UsageError(`--file must hold a JSON object`);
    }
    const body = fromFile as Record<string, unknown>;
    if (str(o, "payload") !== undefined && str(o, "payload-file") !== undefined) {
      throw new UsageError("give --payload or --payload-file, not both");
    }
    const payloadText = str(o, "payload") ??
      (str(o, "payload-file") !== undefined
        ? readFileSync(str(o, "payload-file")!, "utf8")
        : undefined);
    const payload = payloadText !== undefined
      ? readJson("the payload", payloadText)
      : body.payload ?? {};
    const device = str(o, "device") ?? body.device_id;
    const type = str(o, "type") ?? body.command_type;
    if (typeof device !== "string") {
      throw new UsageError("--device is required (or device_id in --file)");
    }
    if (typeof type !== "string") {
      throw new UsageError("--type is required (or command_type in --file)");
    }
    const command = {
      ...body,
      device_id: device,
      command_type: type,
      payload,
      idempotency_key: str(o, "key") ?? body.idempotency_key,
      timeout_seconds: wholeNumber(o, "timeout") ?? body.timeout_seconds,
    } as SendCommand;

    if (str(o, "until") !== undefined && o.wait !== true) {
      throw new UsageError("--until says what --wait waits for: give --wait too");
    }
    untilOf(o); // a wrong --until is refused before anything is sent
    const api = client(o, io);
    const accepted = await api.send(command);
    if (o.quiet === true) {
      io.out(accepted.command_id);
    } else if (o.json === true) {
      io.out(JSON.stringify({ status_code: 202, ...accepted }));
    } else {
      io.out(
        `202 ${accepted.status}  command_id=${accepted.command_id}  ` +
          `request_id=${accepted.request_id}` +
          (accepted.replayed ? "  (replayed: this idempotency key was used before)" : ""),
      );
    }
    if (o.wait !== true) return EXIT.SUCCEEDED;
    return await follow(api, accepted.command_id, new Set(["ACCEPTED"]), o, io);
  },
};

const GET: ApiCommand = {
  spec: {
    description: "Prints a command's state (the Query Response) as JSON.",
    arguments: "<command_id>",
    options: { ...CREDENTIAL_OPTIONS },
  },
  async run(o, positionals, io) {
    const state = await client(o, io).get(commandId(positionals, o));
    io.out(JSON.stringify(state, null, 2));
    return EXIT.SUCCEEDED;
  },
};

const WAIT: ApiCommand = {
  spec: {
    description: "Follows a command until it is terminal. Prints each lifecycle step " +
      "(ACCEPTED, DELIVERED, the outcome) with its time; with --until finished, the job's " +
      "progress (PROGRESS) until its dock reports its end (FINISHED).",
    arguments: "<command_id>",
    options: {
      ...UNTIL_OPTION,
      timeout: { value: "SECONDS", help: "give up after this long (default: until terminal)" },
      quiet: { help: "print nothing; the exit code tells the outcome" },
      ...OUTPUT_OPTIONS,
      ...CREDENTIAL_OPTIONS,
    },
    notes: EXIT_NOTES,
  },
  async run(o, positionals, io) {
    const id = commandId(positionals, o);
    return await follow(client(o, io), id, new Set(), o, io, wholeNumber(o, "timeout"));
  },
};

const LIST: ApiCommand = {
  spec: {
    description: "Lists the client's tenant's commands, newest first. One line each: " +
      "accepted_at, command_id, device, type, status, outcome.",
    options: {
      status: { value: "S[,S]", help: "only these statuses, e.g. FAILED,TIMED_OUT" },
      device: { value: "SN", help: "only this device" },
      type: { value: "METHOD", help: "only this command type" },
      after: { value: "TIME", help: "accepted at or after this RFC 3339 time" },
      before: { value: "TIME", help: "accepted before this RFC 3339 time" },
      limit: { value: "N", help: "commands per page, 1-200 (default 50)" },
      cursor: { value: "C", help: "start after this page (a previous next_cursor)" },
      all: { help: "every page, not only the first" },
      ...OUTPUT_OPTIONS,
      ...CREDENTIAL_OPTIONS,
    },
    notes: ["Without --all, a further page is announced on stderr with its --cursor."],
  },
  async run(o, positionals, io) {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
    }
    const filter: ListFilter = {
      status: str(o, "status")?.split(",").map((s) => s.trim()) as CommandStatus[] | undefined,
      device_id: str(o, "device"),
      command_type: str(o, "type"),
      accepted_after: str(o, "after"),
      accepted_before: str(o, "before"),
      limit: wholeNumber(o, "limit"),
      cursor: str(o, "cursor"),
    };
    for (const key of Object.keys(filter) as (keyof ListFilter)[]) {
      if (filter[key] === undefined) delete filter[key];
    }
    for await (const page of client(o, io).list(filter)) {
      for (const c of page.items) io.out(o.json === true ? JSON.stringify(c) : commandLine(c));
      if (o.all !== true) {
        if (page.next_cursor) io.err(`more: add --cursor ${page.next_cursor} (or --all)`);
        break;
      }
    }
    return EXIT.SUCCEEDED;
  },
};

export const API_COMMANDS: Record<string, ApiCommand> = {
  "command send": SEND,
  "command get": GET,
  "command list": LIST,
  "command wait": WAIT,
};

/** An API error as the lines the CLI prints: status, code, message, then each detail. */
export function apiErrorLines(e: DownlinkApiError): string[] {
  return [
    `${e.status} ${e.code}: ${e.message.replace(/^\d{3} [A-Z_0-9]+: /, "")}` +
    (e.requestId ? ` (request_id ${e.requestId})` : ""),
    ...e.details.map((d: ApiErrorDetail) => `  ${d.path}: ${d.reason}`),
  ];
}
