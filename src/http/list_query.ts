// Reading a list endpoint's query string (GET /commands, GET /devices): each parameter at most
// once, no unknown ones, `limit` and `cursor` alike everywhere, and one 400 VALIDATION_FAILED that
// names every offending parameter instead of the first.
import { describeValue } from "../json/describe_value.ts";
import { type ErrorDetail, ValidationError } from "./errors.ts";

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

export interface ListQuery {
  /** The parameter's one value, or undefined when absent (given twice is a problem). */
  one(name: string): string | undefined;
  /** Every value of a repeatable parameter. */
  all(name: string): string[] | undefined;
  fail(name: string, reason: string): void;
  /** `limit`, or the default. */
  limit(): number;
  /** `cursor`, decoded by the endpoint's own decoder. */
  cursor<T>(decode: (cursor: string) => T | undefined): T | undefined;
  /** Throws VALIDATION_FAILED ("Cannot list {what}: …") when any parameter was wrong. */
  done(what: string): void;
}

export function readListQuery(
  queries: Record<string, string[]>,
  known: ReadonlySet<string>,
): ListQuery {
  const details: ErrorDetail[] = [];
  const fail = (name: string, reason: string) => details.push({ path: `query.${name}`, reason });
  for (const name of Object.keys(queries)) {
    if (!known.has(name)) fail(name, "is not a known parameter");
  }
  const one = (name: string): string | undefined => {
    const values = queries[name];
    if (!values) return undefined;
    if (values.length > 1) fail(name, "must be given at most once");
    return values[0];
  };
  return {
    one,
    all: (name) => queries[name],
    fail,
    limit() {
      const limit = one("limit");
      if (limit === undefined) return LIST_DEFAULT_LIMIT;
      const n = /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
      if (n >= 1 && n <= LIST_MAX_LIMIT) return n;
      fail("limit", `must be an integer 1-${LIST_MAX_LIMIT}, got ${describeValue(limit)}`);
      return LIST_DEFAULT_LIMIT;
    },
    cursor(decode) {
      const cursor = one("cursor");
      if (cursor === undefined) return undefined;
      const position = decode(cursor);
      if (position === undefined) {
        fail("cursor", "is not a cursor this API issued (pass next_cursor as it came)");
      }
      return position;
    },
    done(what) {
      if (details.length === 0) return;
      throw new ValidationError(
        "VALIDATION_FAILED",
        `Cannot list ${what}: ${details.map((d) => `${d.path} ${d.reason}`).join("; ")}`,
        details,
      );
    },
  };
}
