// The signature check on every API request: X-Api-* headers, the client's skew and replay
// windows, a constant-time compare and the nonce store shared by every API instance. Clients
// are cached briefly.
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { ClientCredentials, ClientStore } from "../store/client_store.ts";
import type { NonceStore } from "../store/nonce_store.ts";
import type { Clock } from "../async/time.ts";
import { AuthError, ForbiddenError } from "./errors.ts";
import { hmacHex, sha256Hex, stringToSign } from "./signing.ts";

export interface ClientLookup {
  /** The client (active or not) or undefined when unknown. */
  find(clientId: string): Promise<ClientCredentials | undefined>;
  /** Drops a cached client, e.g. right after the CLI disabled it in this process. */
  forget(clientId: string): void;
}

export interface CachedClientLookupOptions {
  clock: Clock;
  /** How long a looked-up client is trusted: a disabled client stops working after this. */
  ttlMs?: number;
}

/** Caches client lookups for `ttlMs` (default 2 s) and shares concurrent misses. */
export function createCachedClientLookup(
  store: Pick<ClientStore, "findCredentials">,
  { clock, ttlMs = 2_000 }: CachedClientLookupOptions,
): ClientLookup {
  const cache = new Map<
    string,
    { at: number; value: Promise<ClientCredentials | undefined> }
  >();
  return {
    find(clientId) {
      const now = clock.now();
      const hit = cache.get(clientId);
      if (hit && now - hit.at < ttlMs) return hit.value;
      const value = store.findCredentials(clientId);
      cache.set(clientId, { at: now, value });
      // A failed lookup (Postgres down) must not be cached.
      value.catch(() => {
        if (cache.get(clientId)?.value === value) cache.delete(clientId);
      });
      if (cache.size > 10_000) {
        for (const [k, v] of cache) if (now - v.at >= ttlMs) cache.delete(k);
      }
      return value;
    },
    forget(clientId) {
      cache.delete(clientId);
    },
  };
}

export interface AuthVariables {
  client: ClientCredentials;
  rawBody: Uint8Array;
  /** Set instead of claiming when the handler claims the nonce itself (see `claimsNonce`). */
  nonce?: PendingNonce;
}

/** A nonce the handler must claim in the statement that acts on the request. */
export interface PendingNonce {
  value: string;
  /** How long the claim keeps the nonce from being used again. */
  retentionSeconds: number;
}

export interface SignatureAuthOptions {
  clients: ClientLookup;
  nonces: NonceStore;
  clock: Clock;
  /** Requests whose handler claims the nonce in its own statement (accepting a command: one
   * round trip and one commit instead of two). Such a nonce is spent only by a request that gets
   * that far, so a replay of a request refused for its body is refused for its body again. */
  claimsNonce?: (method: string, path: string) => boolean;
}

const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const CLIENT_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Authenticates the request; expects `c.var.rawBody` set by the body reader (empty for GET).
 * Order: headers, client, signature, timestamp, nonce, so only a correctly signed request
 * learns why it was refused, and a nonce is spent only by its genuine sender.
 */
export function signatureAuth(
  { clients, nonces, clock, claimsNonce }: SignatureAuthOptions,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const clientId = c.req.header("X-Api-Id");
    const timestamp = c.req.header("X-Api-Timestamp");
    const nonce = c.req.header("X-Api-Nonce");
    const signature = c.req.header("X-Api-Signature");
    if (!clientId || !timestamp || !nonce || !signature) {
      throw new AuthError(
        "UNAUTHORIZED",
        "Request must carry X-Api-Id, X-Api-Timestamp, X-Api-Nonce and X-Api-Signature",
      );
    }
    if (!CLIENT_ID.test(clientId)) throw unauthorized();
    if (!TIMESTAMP.test(timestamp)) {
      throw new AuthError(
        "UNAUTHORIZED",
        `X-Api-Timestamp must be unix seconds, got ${JSON.stringify(timestamp.slice(0, 40))}`,
      );
    }
    if (!NONCE.test(nonce)) {
      throw new AuthError("UNAUTHORIZED", "X-Api-Nonce must be 16-64 characters of [A-Za-z0-9_-]");
    }
    const client = await clients.find(clientId);
    if (!client || client.status !== "ACTIVE") throw unauthorized();

    const url = new URL(c.req.url);
    const expected = hmacHex(
      client.secret,
      stringToSign({
        method: c.req.method,
        path: url.pathname,
        query: url.search,
        clientId,
        timestamp,
        nonce,
      }, sha256Hex(c.get("rawBody"))),
    );
    if (!SIGNATURE.test(signature) || !safeEqualHex(signature, expected)) {
      throw new AuthError("SIGNATURE_INVALID", "X-Api-Signature does not match the request");
    }

    const skewMs = Math.abs(clock.now() - Number(timestamp) * 1000);
    if (skewMs > client.allowed_clock_skew_seconds * 1000) {
      throw new AuthError(
        "TIMESTAMP_EXPIRED",
        `X-Api-Timestamp is ${
          Math.round(skewMs / 1000)
        } s from server time, more than the allowed ${client.allowed_clock_skew_seconds} s`,
      );
    }

    // A replay can arrive up to 2 × skew after the first use and still pass the timestamp
    // check, so the nonce is remembered for at least that long.
    const retention = Math.max(client.replay_window_seconds, 2 * client.allowed_clock_skew_seconds);
    if (claimsNonce?.(c.req.method, c.req.path)) {
      c.set("nonce", { value: nonce, retentionSeconds: retention });
    } else if (!(await nonces.claim(clientId, nonce, retention))) {
      throw nonceReplayed();
    }
    c.set("client", client);
    await next();
  };
}

export function nonceReplayed(): AuthError {
  return new AuthError("NONCE_REPLAYED", "X-Api-Nonce was already used");
}

function unauthorized(): AuthError {
  // Never say whether the client is unknown or disabled.
  return new AuthError("UNAUTHORIZED", "Unknown or inactive API client");
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Throws 403 FORBIDDEN unless the client holds `scope`. */
export function requireScope(client: ClientCredentials, scope: string): void {
  if (!client.scopes.includes(scope)) {
    throw new ForbiddenError(`API client lacks the scope ${scope}`);
  }
}
