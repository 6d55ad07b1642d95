// The client's crypto seam: the two hashes the signing recipe needs. WebCrypto where it exists
// (browsers over https, Deno, Node 20+); node:crypto through node_signing_hashes.ts elsewhere.
import { type SignatureInput, stringToSignWithHash } from "../http/signing_recipe.ts";

/** SHA-256 and HMAC-SHA256, both as lowercase hex; sync or async. */
export interface SigningHashes {
  sha256Hex(data: Uint8Array): Promise<string> | string;
  hmacSha256Hex(key: Uint8Array, text: string): Promise<string> | string;
}

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += b.toString(16).padStart(2, "0");
  return text;
}

/** The hashes of WebCrypto's `crypto.subtle`; throws at once, naming the fix, where it is missing. */
export function webCryptoHashes(subtle = globalThis.crypto?.subtle): SigningHashes {
  if (!subtle) {
    throw new Error(
      "Cannot sign requests: crypto.subtle is not available here (a browser page served over " +
        "plain http has none); serve the page over https, or pass hashes: nodeSigningHashes",
    );
  }
  // Importing a key costs more than the HMAC itself: one per secret, kept for the client's life.
  const keys = new Map<string, Promise<CryptoKey>>();
  return {
    async sha256Hex(data) {
      return hex(await subtle.digest("SHA-256", data as BufferSource));
    },
    async hmacSha256Hex(key, text) {
      const id = hex(
        key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) as ArrayBuffer,
      );
      let imported = keys.get(id);
      if (!imported) {
        imported = subtle.importKey(
          "raw",
          key as BufferSource,
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        keys.set(id, imported);
      }
      return hex(await subtle.sign("HMAC", await imported, encoder.encode(text)));
    },
  };
}

/** X-Api-Signature of a request, by the shared recipe with `hashes`. */
export async function signWith(
  hashes: SigningHashes,
  secret: string,
  input: SignatureInput,
): Promise<string> {
  const body = typeof input.body === "string"
    ? encoder.encode(input.body)
    : input.body ?? new Uint8Array(0);
  const bodyHash = await hashes.sha256Hex(body);
  return await hashes.hmacSha256Hex(encoder.encode(secret), stringToSignWithHash(input, bodyHash));
}
