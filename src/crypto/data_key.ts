// Secrets at rest: AES-256-GCM sealing of command payloads and client secrets.
// Layout of a sealed value: version byte (1) | 12-byte IV | ciphertext | 16-byte tag.
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHmac, randomFillSync } from "node:crypto";

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Used only when DOWNLINK_ENV=development and no key is configured: never protects real data. */
export const DEVELOPMENT_DATA_KEY: Uint8Array = new Uint8Array(32).fill(0x44);

export class DecryptError extends Error {
  override name = "DecryptError";
  readonly code = "DECRYPT_FAILED";
}

/** Decodes a base64 (or base64url) 32-byte key; undefined when malformed. */
export function decodeDataKey(text: string): Uint8Array | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === 32 ? new Uint8Array(bytes) : undefined;
}

export interface DataCipher {
  seal(plain: Uint8Array | string, aad?: string): Uint8Array;
  open(sealed: Uint8Array, aad?: string): Uint8Array;
  openText(sealed: Uint8Array, aad?: string): string;
  /** HMAC-SHA256 (hex) under a key derived from the data key: a fingerprint of secret-bearing
   * text that can be compared without being reversible by guessing. */
  mac(text: string): string;
}

/** IVs cut from a pool the CSPRNG fills 4 KiB at a time: one `randomBytes(12)` per sealed value
 * cost ~1.5% of the API's CPU. Each IV is used once, so they are as unique as before. */
function createIvSource(): () => Buffer {
  const POOL_BYTES = IV_BYTES * 341;
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + IV_BYTES > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + IV_BYTES);
    offset += IV_BYTES;
    return iv;
  };
}

/** AES-256-GCM with a random IV per value; `aad` binds a value to its owner (e.g. command id). */
export function createDataCipher(key: Uint8Array): DataCipher {
  const nextIv = createIvSource();
  if (key.length !== 32) throw new RangeError(`data key must be 32 bytes, got ${key.length}`);
  const k = Buffer.from(key);
  // A separate key for fingerprints, so the encryption key is never used for two purposes.
  const macKey = createHmac("sha256", k).update("downlink request fingerprint").digest();
  const open = (sealed: Uint8Array, aad?: string): Uint8Array => {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new DecryptError("sealed value is malformed or of an unknown version");
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const body = sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES);
    try {
      const d = createDecipheriv("aes-256-gcm", k, iv);
      if (aad) d.setAAD(Buffer.from(aad));
      d.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([d.update(body), d.final()]));
    } catch (cause) {
      throw new DecryptError("sealed value failed authentication (wrong key or tampered)", {
        cause,
      });
    }
  };
  return {
    seal(plain, aad) {
      const iv = nextIv();
      const c = createCipheriv("aes-256-gcm", k, iv);
      if (aad) c.setAAD(Buffer.from(aad));
      const data = typeof plain === "string" ? Buffer.from(plain, "utf8") : plain;
      const body = Buffer.concat([c.update(data), c.final()]);
      const out = new Uint8Array(1 + IV_BYTES + body.length + TAG_BYTES);
      out[0] = VERSION;
      out.set(iv, 1);
      out.set(body, 1 + IV_BYTES);
      out.set(c.getAuthTag(), 1 + IV_BYTES + body.length);
      return out;
    },
    open,
    openText: (sealed, aad) => Buffer.from(open(sealed, aad)).toString("utf8"),
    mac: (text) => createHmac("sha256", macKey).update(text).digest("hex"),
  };
}
