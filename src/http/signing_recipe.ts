// The request-signing recipe shared by the server and every client: canonical query, the
// eight-line string to sign and the four headers. No crypto library here: the two hashes come
// from node:crypto on the server (signing.ts) and from WebCrypto or node:crypto in the client.

export const SIGNING_ALGORITHM = "DOWNLINK-HMAC-SHA256";

export interface SignatureInput {
  method: string;
  /** The request path as sent, without the query string. */
  path: string;
  /** The raw query string, with or without the leading `?`; empty when there is none. */
  query?: string;
  clientId: string;
  /** Unix seconds, as sent in X-Api-Timestamp. */
  timestamp: string;
  nonce: string;
  /** The raw body bytes (or text, hashed as UTF-8); empty for GET. */
  body?: Uint8Array | string;
}

/** RFC 3986 encoding: encodeURIComponent leaves `!'()*` alone, RFC 3986 reserves them. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function decodeComponent(text: string): string {
  try {
    // RFC 3986: a '+' is a plus sign, not a form-encoded space.
    return decodeURIComponent(text);
  } catch {
    // A malformed escape is signed as written; both sides then see the same bytes.
    return text;
  }
}

/** Keys sorted (then values), each key and value RFC 3986 encoded, `k=v` joined by `&`. */
export function canonicalQuery(query: string | undefined): string {
  const raw = (query ?? "").replace(/^\?/, "");
  if (raw === "") return "";
  const pairs = raw.split("&").filter((p) => p !== "").map((part) => {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    return [rfc3986(decodeComponent(key)), rfc3986(decodeComponent(value))] as const;
  });
  pairs.sort((
    a,
    b,
  ) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** The eight lines joined by `\n` (no trailing newline); `bodyHash` is hex sha256 of the body. */
export function stringToSignWithHash(input: SignatureInput, bodyHash: string): string {
  return [
    SIGNING_ALGORITHM,
    input.method.toUpperCase(),
    input.path,
    canonicalQuery(input.query),
    input.clientId,
    input.timestamp,
    input.nonce,
    bodyHash,
  ].join("\n");
}

/** The four X-Api-* headers of a request whose signature is `signature`. */
export function signatureHeaders(input: SignatureInput, signature: string): Record<string, string> {
  return {
    "X-Api-Id": input.clientId,
    "X-Api-Timestamp": input.timestamp,
    "X-Api-Nonce": input.nonce,
    "X-Api-Signature": signature,
  };
}

/** A fresh nonce: 32 chars of [A-Za-z0-9_-]. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_");
}
