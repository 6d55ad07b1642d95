import assert from "node:assert/strict";
import { test } from "node:test";
import { describeResultCode } from "../../../src/vendors/dji/result_code_text.ts";
import { DJI_RESULT_TEXTS } from "../../../src/vendors/dji/result_codes_data.ts";

test("a documented code reads as its code and DJI's text", () => {
  assert.equal(
    describeResultCode(514116),
    "514116: Unable to perform operation. Dock is executing other command. Try again later",
  );
  assert.equal(
    describeResultCode(319001),
    "319001: Unable to perform task. Dock is performing task or uploading issue logs. " +
      "Wait until task is complete or logs uploaded and try again",
  );
});

test("a code given as its digits reads the same as the number", () => {
  assert.equal(describeResultCode("514116"), describeResultCode(514116));
});

test("an undocumented code names the module of its prefix", () => {
  assert.equal(DJI_RESULT_TEXTS[514199], undefined);
  assert.equal(
    describeResultCode(514199),
    "514199: undocumented result code of DJI's dock device and remote debugging module",
  );
  assert.equal(
    describeResultCode(324999),
    "324999: undocumented result code of DJI's remote log module",
  );
});

test("514 splits by its fourth digit: 5143xx is the DRC link", () => {
  assert.equal(DJI_RESULT_TEXTS[514399], undefined);
  assert.equal(
    describeResultCode(514399),
    "514399: undocumented result code of DJI's DRC link module",
  );
});

test("a six-digit code of a prefix DJI lists nothing for names its source and module digits", () => {
  assert.equal(
    describeResultCode(399001),
    "399001: undocumented result code (device side, module 99)",
  );
  assert.equal(
    describeResultCode(613006),
    "613006: undocumented result code (DJI Pilot 2 side, module 13)",
  );
});

test("values that are no six-digit code are left to the caller", () => {
  for (const value of [0, 7, -1, 1234567, 5141.5, "abc", "", null, undefined, {}, [514116]]) {
    assert.equal(describeResultCode(value), undefined, JSON.stringify(value));
  }
});
