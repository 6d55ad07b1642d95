// The signing recipe: canonical query, the eight-line string to sign and its HMAC.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  canonicalQuery,
  hmacHex,
  newNonce,
  sha256Hex,
  signRequest,
  stringToSign,
} from "../../src/http/signing.ts";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

test("the string to sign is eight lines joined by newlines with the body's sha256 last", () => {
  const text = stringToSign({
    method: "post",
    path: "/api/v1/open/downlink/commands",
    clientId: "ak_test",
    timestamp: "1776859200",
    nonce: "nonce-0123456789abcdef",
    body: '{"a":1}',
  });
  assert.deepEqual(text.split("\n"), [
    "DOWNLINK-HMAC-SHA256",
    "POST",
    "/api/v1/open/downlink/commands",
    "",
    "ak_test",
    "1776859200",
    "nonce-0123456789abcdef",
    sha256Hex('{"a":1}'),
  ]);
});

test("a GET signs the sha256 of the empty string", () => {
  const text = stringToSign({
    method: "GET",
    path: "/x",
    clientId: "c",
    timestamp: "1",
    nonce: "n",
  });
  assert.equal(text.split("\n")[7], EMPTY_SHA256);
});

test("the signature is the lowercase hex HMAC-SHA256 of the string to sign", () => {
  // Pinned: a client in another language must reproduce exactly this value.
  const signature = signRequest("s3cret", {
    method: "POST",
    path: "/api/v1/open/downlink/commands",
    clientId: "ak_test",
    timestamp: "1776859200",
    nonce: "nonce-0123456789abcdef",
    body: '{"a":1}',
  });
  assert.equal(signature, "12356ab96609b8369ea503dfcf2d02c139e8a07a73931ddfa7000fe7b3d571b9");
  assert.match(signature, /^[0-9a-f]{64}$/);
});

test("bytes and the same text sign alike", () => {
  const base = { method: "POST", path: "/p", clientId: "c", timestamp: "1", nonce: "n" };
  assert.equal(
    signRequest("k", { ...base, body: "héllo" }),
    signRequest("k", { ...base, body: new TextEncoder().encode("héllo") }),
  );
  assert.notEqual(
    signRequest("k", { ...base, body: "a" }),
    signRequest("k", { ...base, body: "b" }),
  );
});

test("the canonical query sorts keys and values and RFC 3986 encodes them", () => {
  assert.equal(canonicalQuery(""), "");
  assert.equal(canonicalQuery("?"), "");
  assert.equal(canonicalQuery("b=2&a=1&a=0"), "a=0&a=1&b=2");
  assert.equal(
    canonicalQuery("?status=ACCEPTED&device_id=dock.1"),
    "device_id=dock.1&status=ACCEPTED",
  );
  // Space, reserved sub-delims and non-ASCII are percent-encoded; a raw '+' is a plus sign
  // (RFC 3986), not a form-encoded space.
  assert.equal(
    canonicalQuery("q=a+b&s=a%20b&x=it's(*)!&u=%C3%A9"),
    "q=a%2Bb&s=a%20b&u=%C3%A9&x=it%27s%28%2A%29%21",
  );
  assert.equal(canonicalQuery("flag&k="), "flag=&k=");
});

test("hmacHex keys with the secret", () => {
  assert.notEqual(hmacHex("a", "text"), hmacHex("b", "text"));
});

test("nonces are 32 characters of the allowed alphabet and differ each time", () => {
  const a = newNonce();
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(a, newNonce());
});
