// The typed client of Downlink's command API: `send` checked against each catalog command's
// payload type, `get`, `list` over every page, `wait` until terminal (or until the job finished),
// `waitOnce` for one server wait; each error answer thrown as its typed error (api_errors.ts).
// Runs on Node, Deno and in browsers.
import type { CommandStatus } from "../command/status.ts";
import type { CommandView } from "../store/command_store.ts";
import { apiError } from "./api_errors.ts";
import {
  COMMANDS_PATH,
  createDownlinkClient,
  type DownlinkClient,
  type DownlinkClientOptions,
  type DownlinkResponse,
} from "./downlink_client.ts";
import type { CommandPayloads, CommandType } from "./payload_types.ts";

export type { CommandPayloads, CommandStatus, CommandType };

/** A command's state, the API's Query Response. */
export type CommandState = CommandView;

/** What `send` takes: the command type names the payload's type. */
export interface SendCommand<T extends CommandType = CommandType> {
  device_id: string;
  command_type: T;
  payload: CommandPayloads[T];
  /** Default `dji`, the one vendor there is. */
  vendor?: "dji";
  /** The same key with the same command answers the same command_id, never a second command.
   * Default: a fresh UUID, which makes a retry after a lost answer a second command. */
  idempotency_key?: string;
  /** 1-300; 0 or absent: the deployment's default. */
  timeout_seconds?: number;
}

/** The 202 of an accepted command. */
export interface Accepted {
  command_id: string;
  status: "ACCEPTED";
  accepted_at: string;
  request_id: string;
  /** True when the idempotency key had been seen: this is the earlier command. */
  replayed: boolean;
}

export interface ListFilter {
  status?: CommandStatus | readonly CommandStatus[];
  device_id?: string;
  command_type?: string;
  /** Inclusive. */
  accepted_after?: string | Date;
  /** Exclusive. */
  accepted_before?: string | Date;
  /** Commands per page, 1-200 (default 50). */
  limit?: number;
  /** Start after this page (a previous page's next_cursor). */
  cursor?: string;
}

export interface CommandPage {
  items: CommandState[];
  /** Present only when more pages follow. */
  next_cursor?: string;
}

export interface WaitOptions {
  /** Give up after this many seconds and resolve with the state then; default: until terminal
   * (every command ends by its deadline, at most timeout_seconds after it was accepted). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
  /** `terminal` (default): the reply decided the status. `finished`: the job's terminal progress
   * (progress.finished_at), or a status that ends it without one. A job whose dock never reports
   * never finishes: give a timeoutSeconds with it. */
  until?: "terminal" | "finished";
}

/** One wait as the server answers it (`waitOnce`). */
export interface WaitOnceOptions {
  /** 0-60 (fractions are rounded up); 0 reads the state at once. Default: the server's (30). */
  timeoutSeconds?: number;
  signal?: AbortSignal;
  until?: "terminal" | "finished";
}

/** The state a wait ended with, and whether what it waited for happened (the server says so by
 * leaving out `X-Wait-Timed-Out`): only the server knows whether a job reports progress. */
export interface WaitAnswer {
  state: CommandState;
  reached: boolean;
}

export interface CommandClient {
  send<T extends CommandType>(command: SendCommand<T>): Promise<Accepted>;
  get(commandId: string): Promise<CommandState>;
  /** Every page of the caller's commands that match, newest first. */
  list(filter?: ListFilter): AsyncIterableIterator<CommandPage>;
  /** Resolves with the state once terminal, or when `timeoutSeconds` have passed. */
  wait(commandId: string, options?: WaitOptions): Promise<CommandState>;
  /** One server wait (at most 60 s): for a caller that shows what happens meanwhile, e.g. the
   * CLI's `command wait`, which waits a second at a time and prints each new step. */
  waitOnce(commandId: string, options?: WaitOnceOptions): Promise<WaitAnswer>;
  /** The signed HTTP layer underneath, for any other request. */
  readonly http: DownlinkClient;
}

const TERMINAL: ReadonlySet<string> = new Set([
  "SUCCEEDED",
  "FAILED",
  "TIMED_OUT",
  "UNMATCHED_RESPONSE",
]);

/** True for the statuses that end a command. */
export const isTerminal = (status: string): boolean => TERMINAL.has(status);

/** The server answers one wait for at most this long; longer waits are several. */
const WAIT_MAX_SECONDS = 60;

function ok<T>(res: DownlinkResponse<T>): T {
  if (res.status >= 200 && res.status < 300) return res.body;
  throw apiError(res.status, res.body, res.headers);
}

const commandPath = (commandId: string) => `${COMMANDS_PATH}/${encodeURIComponent(commandId)}`;

/** The list filter as the API's query string. */
export function listQuery(filter: ListFilter): string {
  const params = new URLSearchParams();
  const time = (t: string | Date) => typeof t === "string" ? t : t.toISOString();
  if (filter.status !== undefined) {
    params.set(
      "status",
      typeof filter.status === "string" ? filter.status : filter.status.join(","),
    );
  }
  if (filter.device_id !== undefined) params.set("device_id", filter.device_id);
  if (filter.command_type !== undefined) params.set("command_type", filter.command_type);
  if (filter.accepted_after !== undefined) {
    params.set("accepted_after", time(filter.accepted_after));
  }
  if (filter.accepted_before !== undefined) {
    params.set("accepted_before", time(filter.accepted_before));
  }
  if (filter.limit !== undefined) params.set("limit", String(filter.limit));
  if (filter.cursor !== undefined) params.set("cursor", filter.cursor);
  const query = params.toString();
  return query === "" ? "" : `?${query}`;
}

export function createCommandClient(options: DownlinkClientOptions): CommandClient {
  const http = createDownlinkClient(options);

  async function waitOnce(
    commandId: string,
    { timeoutSeconds, signal, until = "terminal" }: WaitOnceOptions = {},
  ): Promise<WaitAnswer> {
    const params = new URLSearchParams();
    if (timeoutSeconds !== undefined) {
      const seconds = Math.min(WAIT_MAX_SECONDS, Math.max(0, Math.ceil(timeoutSeconds)));
      params.set("timeout_seconds", String(seconds));
    }
    if (until !== "terminal") params.set("until", until);
    const query = params.toString();
    const res = await http.request<CommandState>(
      "GET",
      `${commandPath(commandId)}/wait${query === "" ? "" : `?${query}`}`,
      { signal },
    );
    return { state: ok(res), reached: res.headers.get("X-Wait-Timed-Out") !== "true" };
  }

  return {
    http,
    async send(command) {
      const body = {
        vendor: command.vendor ?? "dji",
        device_id: command.device_id,
        command_type: command.command_type,
        payload: command.payload,
        idempotency_key: command.idempotency_key ?? crypto.randomUUID(),
        ...(command.timeout_seconds !== undefined
          ? { timeout_seconds: command.timeout_seconds }
          : {}),
      };
      const res = await http.request<Omit<Accepted, "replayed">>("POST", COMMANDS_PATH, { body });
      return { ...ok(res), replayed: res.headers.get("idempotent-replayed") === "true" };
    },
    async get(commandId) {
      return ok(await http.request<CommandState>("GET", commandPath(commandId)));
    },
    async *list(filter = {}) {
      let cursor = filter.cursor;
      do {
        const page = ok(
          await http.request<CommandPage>("GET", COMMANDS_PATH + listQuery({ ...filter, cursor })),
        );
        yield page;
        cursor = page.next_cursor;
      } while (cursor !== undefined);
    },
    async wait(commandId, { timeoutSeconds, signal, until: what = "terminal" } = {}) {
      const until = timeoutSeconds === undefined ? Infinity : Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const left = Math.max(0, (until - Date.now()) / 1000);
        const { state, reached } = await waitOnce(commandId, {
          timeoutSeconds: Math.min(WAIT_MAX_SECONDS, left),
          signal,
          until: what,
        });
        if (reached || Date.now() >= until) return state;
      }
    },
    waitOnce,
  };
}
