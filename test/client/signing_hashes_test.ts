// The client's signing seam: WebCrypto and node:crypto sign exactly as the server checks, and the
// client's module graph loads no node: module, so it bundles for a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { signRequest } from "../../src/http/signing.ts";
import { signWith, webCryptoHashes } from "../../src/client/signing_hashes.ts";
import { nodeSigningHashes } from "../../src/client/node_signing_hashes.ts";

const INPUTS = [
  {
    method: "POST",
    path: "/api/v1/open/downlink/commands",
    clientId: "ak_0123456789abcdef01234567",
    timestamp: "1776859200",
    nonce: "nonce-0123456789abcdef",
    body: '{"device_id":"drone-001","note":"größe ✓"}',
  },
  {
    method: "GET",
    path: "/api/v1/open/downlink/commands",
    query: "status=FAILED,TIMED_OUT&limit=20&accepted_after=2026-01-01T00:00:00%2B02:00",
    clientId: "ak_x",
    timestamp: "1",
    nonce: "n".repeat(16),
  },
  {
    method: "POST",
    path: "/x",
    clientId: "ak_bytes",
    timestamp: "2",
    nonce: "m".repeat(16),
    body: new Uint8Array([0, 255, 10, 13]),
  },
];

for (
  const [name, hashes] of [["WebCrypto", webCryptoHashes()], [
    "node:crypto",
    nodeSigningHashes,
  ]] as const
) {
  test(`${name} signs every request exactly as the server checks it`, async () => {
    for (const input of INPUTS) {
      const secret = "sk_secret-ünïcode";
      assert.equal(await signWith(hashes, secret, input), signRequest(secret, input));
    }
  });
}

test("without crypto.subtle the client says why and what to pass instead", () => {
  assert.throws(() => webCryptoHashes(null as never), /crypto\.subtle.*nodeSigningHashes/s);
});

test("the client's entry bundles for a browser: no node: module on its path", async () => {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [new URL("../../src/client/index.ts", import.meta.url).pathname],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  assert.equal(/from\s*["']node:/.test(code), false, "imports a node: module");
  assert.match(code, /crypto\.subtle|subtle\.sign/);
});
