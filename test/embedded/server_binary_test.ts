// Finding nats-server and mosquitto on PATH, and the one line printed when one is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { findBinary, MissingBinaryError, requireBinary } from "../../src/embedded/server_binary.ts";
import { NATS_INSTALL } from "../../src/embedded/embedded_nats.ts";

test("a binary is found in the first PATH folder holding it executable", () => {
  const a = mkdtempSync(join(tmpdir(), "bin-a-"));
  const b = mkdtempSync(join(tmpdir(), "bin-b-"));
  try {
    writeFileSync(join(a, "fake-server"), "#!/bin/sh\n"); // not executable: skipped
    writeFileSync(join(b, "fake-server"), "#!/bin/sh\n");
    chmodSync(join(b, "fake-server"), 0o755);
    assert.equal(findBinary("fake-server", [a, b].join(delimiter)), join(b, "fake-server"));
    assert.equal(findBinary("fake-server", a), undefined);
    assert.equal(findBinary("fake-server", undefined), undefined);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test("a missing binary is one line naming it, the variable and how to install it", () => {
  const empty = mkdtempSync(join(tmpdir(), "bin-empty-"));
  try {
    const err = (() => {
      try {
        requireBinary("nats-server", empty, {
          service: "NATS",
          variable: "NATS_URL",
          install: NATS_INSTALL,
        });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof MissingBinaryError);
    assert.equal(err.binary, "nats-server");
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /^NATS is not configured \(NATS_URL\)/);
    assert.match(err.message, /needs nats-server on PATH: apt install nats-server, brew install/);
    assert.match(err.message, /github\.com\/nats-io\/nats-server\/releases/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
