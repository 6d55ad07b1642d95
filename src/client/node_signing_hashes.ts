// node:crypto behind the client's signing seam: for runtimes without WebCrypto's crypto.subtle.
// Imported only by those who pass it, so the client itself loads no node: module.
import { hmacHex, sha256Hex } from "../http/signing.ts";
import type { SigningHashes } from "./signing_hashes.ts";

export const nodeSigningHashes: SigningHashes = {
  sha256Hex: (data) => sha256Hex(data),
  hmacSha256Hex: (key, text) => hmacHex(key, text),
};
