import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createDataCipher, decodeDataKey, DecryptError } from "../../src/crypto/data_key.ts";

const cipher = createDataCipher(new Uint8Array(32).fill(1));

test("a sealed value opens to the original text and does not contain it", () => {
  const sealed = cipher.seal('{"access_key_secret":"s3cr3t"}', "cmd-1");
  assert.equal(new TextDecoder().decode(sealed).includes("s3cr3t"), false);
  assert.equal(cipher.openText(sealed, "cmd-1"), '{"access_key_secret":"s3cr3t"}');
});

test("a sealed value bound to one owner does not open for another", () => {
  const sealed = cipher.seal("x", "cmd-1");
  assert.throws(() => cipher.open(sealed, "cmd-2"), DecryptError);
});

test("a tampered sealed value fails authentication", () => {
  const sealed = cipher.seal("hello", "a");
  sealed[sealed.length - 20] ^= 1;
  assert.throws(() => cipher.open(sealed, "a"), DecryptError);
});

test("another key cannot open the value", () => {
  const other = createDataCipher(new Uint8Array(32).fill(2));
  assert.throws(() => other.open(cipher.seal("hello")), DecryptError);
});

test("keys must decode to exactly 32 bytes", () => {
  assert.equal(decodeDataKey("AAAA"), undefined);
  assert.equal(decodeDataKey("not base64!"), undefined);
  assert.equal(decodeDataKey(btoa(String.fromCharCode(...new Uint8Array(32))))?.length, 32);
});

test("a fingerprint depends on the key and the text, and is stable", () => {
  const other = createDataCipher(new Uint8Array(32).fill(2));
  assert.match(cipher.mac("payload"), /^[0-9a-f]{64}$/);
  assert.equal(cipher.mac("payload"), cipher.mac("payload"));
  assert.notEqual(cipher.mac("payload"), cipher.mac("payload!"));
  assert.notEqual(cipher.mac("payload"), other.mac("payload"));
});

test("every sealed value gets an IV of its own, across refills of the IV pool", () => {
  const cipher = createDataCipher(new Uint8Array(32).fill(7));
  const ivs = new Set<string>();
  for (let i = 0; i < 1_000; i++) {
    const sealed = cipher.seal(`value ${i}`, `owner-${i}`);
    ivs.add(Buffer.from(sealed.subarray(1, 13)).toString("hex"));
    assert.equal(cipher.openText(sealed, `owner-${i}`), `value ${i}`);
  }
  assert.equal(ivs.size, 1_000);
});
