// Nonces shared by every API instance: a NATS KV bucket where `create` succeeds only for a
// nonce not seen yet. Server 2.9 has no per-key TTL, so the bucket's max age bounds retention.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { Clock } from "../time.ts";
import type { TopologyNames } from "./subjects.ts";

/** Longest allowed replay window plus the largest skew (both at most 3600 s per client). */
export const NONCE_BUCKET_TTL_MS = 2 * 60 * 60 * 1000;

export interface NonceCache {
  /**
   * Records `nonce` for `clientId`. Resolves true when the nonce is fresh, false when it was
   * already used less than `retentionSeconds` ago (a replay).
   */
  claim(clientId: string, nonce: string, retentionSeconds: number): Promise<boolean>;
}

/** NATS is down: the nonce cannot be checked, so the request cannot be accepted. */
export class NatsUnavailableError extends Error {
  override name = "NatsUnavailableError";
  readonly code = "NATS_UNAVAILABLE";
}

export interface KvNonceCacheOptions {
  clock: Clock;
  /** JetStream request timeout; a stalled server must not hold a request for long. */
  timeoutMs?: number;
}

/** A NonceCache on the namespace's KV bucket; creates the bucket when missing. */
export async function createKvNonceCache(
  nc: NatsConnection,
  names: Pick<TopologyNames, "nonceBucket">,
  { clock, timeoutMs = 2_000 }: KvNonceCacheOptions,
): Promise<NonceCache & { close(): void }> {
  const kv: KV = await new Kvm(jetstream(nc, { timeout: timeoutMs })).create(names.nonceBucket, {
    ttl: NONCE_BUCKET_TTL_MS,
    history: 1,
  });
  // Fail fast while disconnected rather than wait for a publish to time out.
  let connected = !nc.isClosed();
  let closed = false;
  (async () => {
    for await (const s of nc.status()) {
      if (closed) break;
      if (s.type === "disconnect") connected = false;
      else if (s.type === "reconnect") connected = true;
    }
  })().catch(() => {});
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  return {
    async claim(clientId, nonce, retentionSeconds) {
      if (!connected || nc.isClosed()) throw new NatsUnavailableError("NATS is not connected");
      const key = `${clientId}.${nonce}`;
      const now = clock.now();
      const value = encoder.encode(String(now));
      try {
        await kv.create(key, value);
        return true;
      } catch (err) {
        if (!isKeyExists(err)) throw err;
      }
      // The bucket keeps nonces longer than this client's window: an old use is not a replay.
      const entry = await kv.get(key);
      if (!entry) return false;
      const firstUse = Number(decoder.decode(entry.value));
      if (!(now - firstUse > retentionSeconds * 1000)) return false;
      try {
        await kv.update(key, value, entry.revision);
        return true;
      } catch (err) {
        if (isKeyExists(err)) return false;
        throw err;
      }
    },
    close() {
      closed = true;
    },
  };
}

function isKeyExists(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { err_code?: number } };
  // JetStream 10071: wrong last sequence, i.e. the key already has a value.
  return e?.code === 10071 || e?.api_error?.err_code === 10071 ||
    /wrong last sequence/i.test(String(e?.message));
}

/** A single-process NonceCache for tests about pure logic. */
export function createMemoryNonceCache(clock: Clock): NonceCache {
  const seen = new Map<string, number>();
  return {
    claim(clientId, nonce, retentionSeconds) {
      const key = `${clientId}.${nonce}`;
      const now = clock.now();
      const first = seen.get(key);
      if (first !== undefined && now - first <= retentionSeconds * 1000) {
        return Promise.resolve(false);
      }
      seen.set(key, now);
      return Promise.resolve(true);
    },
  };
}
