// src/vendors/dji/result_codes_data.ts is DJI's table as the generator renders it: an edit by
// hand, or a generator change without a re-run, fails here.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import {
  modulePrefixes,
  RESULT_CODES_FILE,
  resultCodesSource,
} from "../../tools/gen_dji_result_codes.ts";

const REFERENCE = new URL("../../../shared/dji/", import.meta.url);
const haveReference = existsSync(new URL("error-codes.json", REFERENCE));

test("result_codes_data.ts is generated from shared/dji/error-codes.json as it is", {
  skip: haveReference ? false : "no ../shared/dji beside the repository",
}, () => {
  const codes = JSON.parse(readFileSync(new URL("error-codes.json", REFERENCE), "utf8"));
  const note = readFileSync(new URL("error-codes.SOURCE.md", REFERENCE), "utf8");
  assert.equal(
    readFileSync(RESULT_CODES_FILE, "utf8"),
    resultCodesSource(codes, note),
    "src/vendors/dji/result_codes_data.ts is stale: run `npx tsx tools/gen_dji_result_codes.ts`",
  );
});

test("a prefix with two modules is split by its fourth digit", () => {
  const prefixes = modulePrefixes([
    { code: 312014, module: "firmware upgrade", message: "a" },
    { code: 514100, module: "remote debugging", message: "b" },
    { code: 514301, module: "DRC link", message: "c" },
  ]);
  assert.deepEqual([...prefixes], [
    ["312", "firmware upgrade"],
    ["5141", "remote debugging"],
    ["5143", "DRC link"],
  ]);
});

test("the generated file names its source and holds each text", () => {
  const source = resultCodesSource(
    [{ code: 514116, module: "dock", message: " Dock is executing other command " }],
    "Source: repo `dji-sdk/Cloud-API-Doc`, path `docs/en/71.error-code.md`",
  );
  assert.match(source, /^\/\/ Source: repo `dji-sdk\/Cloud-API-Doc`/m);
  assert.match(source, /^ {2}514116: "Dock is executing other command",$/m);
  assert.match(source, /^ {2}"514": "dock",$/m);
});

test("a table with a code that is not six digits is refused", () => {
  assert.throws(
    () => resultCodesSource([{ code: 42, module: "m", message: "t" }], "s"),
    /six digits, got 42/,
  );
});
