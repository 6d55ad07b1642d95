// The signing recipe (signing_recipe.ts) with node:crypto's hashes, synchronous: what the server
// checks requests with, and what Node-only callers (CLI, tests, benchmark) sign with.
import { createHash, createHmac } from "node:crypto";
import { signatureHeaders, type SignatureInput, stringToSignWithHash } from "./signing_recipe.ts";

export {
  canonicalQuery,
  newNonce,
  type SignatureInput,
  SIGNING_ALGORITHM,
} from "./signing_recipe.ts";

export function sha256Hex(body: Uint8Array | string | undefined): string {
  return createHash("sha256").update(body ?? "").digest("hex");
}

/** The eight lines joined by `\n` (no trailing newline). */
export function stringToSign(input: SignatureInput, bodyHash = sha256Hex(input.body)): string {
  return stringToSignWithHash(input, bodyHash);
}

/** Lowercase hex HMAC-SHA256 of `text` keyed by the client secret (64 chars). */
export function hmacHex(secret: string | Uint8Array, text: string): string {
  return createHmac("sha256", secret).update(text).digest("hex");
}

/** The X-Api-Signature value for a request. */
export function signRequest(secret: string | Uint8Array, input: SignatureInput): string {
  return hmacHex(secret, stringToSign(input));
}

/** The four X-Api-* headers of a signed request. */
export function signedHeaders(
  secret: string | Uint8Array,
  input: SignatureInput,
): Record<string, string> {
  return signatureHeaders(input, signRequest(secret, input));
}
