// What the CLI's commands over an API resource (`devices`, `device-requests`) share: the client
// signed with the credentials of api_credentials.ts, a response's body or its error, the one id
// a `get` takes, and a listing printed page by page (--limit, --cursor, --all, --json).
import { apiError } from "../client/api_errors.ts";
import {
  createDownlinkClient,
  type DownlinkClient,
  type DownlinkResponse,
} from "../client/downlink_client.ts";
import type { CommandSpec } from "./command_help.ts";
import { resolveCredentials } from "./api_credentials.ts";
import { type ApiIo, type Options, UsageError } from "./api_commands.ts";

/** An option's value when it was given one. */
export const optionString = (o: Options, name: string): string | undefined =>
  typeof o[name] === "string" ? o[name] : undefined;

export function resourceClient(o: Options, env: ApiIo["env"]): DownlinkClient {
  return createDownlinkClient(resolveCredentials(o as Record<string, string | undefined>, env));
}

/** The body of a 2xx response; any other becomes the API's error. */
export function bodyOf<T>(res: DownlinkResponse<T>): T {
  if (res.status >= 200 && res.status < 300) return res.body;
  throw apiError(res.status, res.body, res.headers);
}

/** The one id a command takes (`what`: "device"), or a usage error showing `example`. */
export function oneId(positionals: string[], what: string, example: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`give the ${what} id, e.g. ${example}`);
  if (positionals.length > 1) throw new UsageError(`one ${what} id, got ${positionals.length}`);
  return id;
}

/** The paging options of a listing of `things` ("devices"). */
export function pageOptions(things: string): CommandSpec["options"] {
  return {
    limit: { value: "N", help: `${things} per page, 1-200 (default 50)` },
    cursor: { value: "C", help: "start after this page (a previous next_cursor)" },
    all: { help: "every page, not only the first" },
    json: { help: "print JSON (one object per line) instead of lines for people" },
  };
}

export const PAGE_NOTES = [
  "Without --all, a further page is announced on stderr with its --cursor.",
];

/** --limit as a number, checked; a listing takes no positional argument. */
export function listingLimit(o: Options, positionals: string[]): number | undefined {
  if (positionals.length > 0) {
    throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
  }
  const limit = optionString(o, "limit");
  if (limit !== undefined && !/^\d+$/.test(limit)) {
    throw new UsageError(`--limit must be a whole number, got ${JSON.stringify(limit)}`);
  }
  return limit === undefined ? undefined : Number(limit);
}

/** Prints the pages `fetch` reads from --cursor on (every page with --all, else the first and a
 * note of the next), each item as JSON with --json, else as `line` makes it. */
export async function printPages<T>(
  o: Options,
  io: ApiIo,
  fetch: (cursor: string | undefined) => Promise<
    DownlinkResponse<{ items: T[]; next_cursor?: string }>
  >,
  line: (item: T) => string,
): Promise<void> {
  let cursor = optionString(o, "cursor");
  do {
    const page = bodyOf(await fetch(cursor));
    for (const item of page.items) io.out(o.json === true ? JSON.stringify(item) : line(item));
    cursor = page.next_cursor;
    if (o.all !== true) {
      if (cursor) io.err(`more: add --cursor ${cursor} (or --all)`);
      break;
    }
  } while (cursor);
}
