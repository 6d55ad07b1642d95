// A list endpoint's query: every problem named in one 400, limit and cursor read alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LIST_DEFAULT_LIMIT, readListQuery } from "../../src/http/list_query.ts";
import { ValidationError } from "../../src/http/errors.ts";

const known = new Set(["limit", "cursor", "online"]);

test("limit defaults, and a valid limit and cursor are read", () => {
  assert.equal(readListQuery({}, known).limit(), LIST_DEFAULT_LIMIT);
  const q = readListQuery({ limit: ["7"], cursor: ["abc"] }, known);
  assert.equal(q.limit(), 7);
  assert.equal(q.cursor((c) => c.toUpperCase()), "ABC");
  q.done("things"); // nothing wrong: no throw
});

test("every offending parameter is named in one VALIDATION_FAILED", () => {
  const q = readListQuery(
    { limit: ["0"], cursor: ["nope"], online: ["a", "b"], colour: ["red"] },
    known,
  );
  q.limit();
  q.cursor(() => undefined);
  q.one("online");
  assert.throws(() => q.done("things"), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /^Cannot list things: /);
    const paths = (err.details ?? []).map((d) => d.path).sort();
    assert.deepEqual(paths, ["query.colour", "query.cursor", "query.limit", "query.online"]);
    return true;
  });
});
