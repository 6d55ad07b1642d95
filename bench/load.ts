// The benchmark's load: signed HTTP submissions of `fileupload_start` and a NATS subscription
// that sees each command's lifecycle events, so end-to-end latency is measured where a real
// subscriber would see it.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export type Submit = (deviceId: string, key: string, timeoutSeconds: number) => Promise<
  // `refusal`: why a non-202 was answered (status and message), to tell overload from faults.
  { status: number; commandId?: string; refusal?: string }
>;

/** The seed's payload, as a caller would send it. */
export function seedPayload(): Record<string, unknown> {
  return {
    bucket: "bench-bucket",
    region: "us-east-1",
    credentials: {
      access_key_id: "id-001",
      access_key_secret: "bench-secret",
      expire: 0,
      security_token: "bench-token",
    },
    endpoint: "https://minio.example",
    provider: "minio",
    params: { files: [{ list: [{ boot_index: 1 }], module: "3", object_key: "logs/bench.tar" }] },
  };
}

/** Watches lifecycle events of one tenant; resolves waiters when a command reaches a kind. */
export class EventWatch {
  readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly sub: Subscription;
  count = 0;

  constructor(nc: NatsConnection, tenantId: string, readonly kind: "completed" | "delivered") {
    const sub = nc.subscribe(`tenant.${tenantId}.command.${kind}`);
    this.sub = sub;
    (async () => {
      for await (const m of sub) {
        const at = performance.now();
        const event = m.json<{ command_id: string; status: string }>();
        this.count++;
        this.seen.set(event.command_id, at);
        const w = this.waiters.get(event.command_id);
        if (w) {
          this.waiters.delete(event.command_id);
          w(at);
        }
      }
    })();
  }

  /** Resolves with the performance.now() at which the event arrived. */
  wait(commandId: string): Promise<number> {
    const at = this.seen.get(commandId);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => this.waiters.set(commandId, resolve));
  }

  forget(commandId: string): void {
    this.seen.delete(commandId);
  }

  stop(): void {
    this.sub.unsubscribe();
  }
}

/** Closed loop: `concurrency` callers each submit, wait for completion, repeat. */
export async function saturate(
  submit: Submit,
  watch: EventWatch,
  devices: readonly string[],
  concurrency: number,
  seconds: number,
  keyPrefix: string,
): Promise<{ completed: number; perSecond: number; errors: number }> {
  let completed = 0, errors = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < until; i++) {
      const device = devices[(w + i * concurrency) % devices.length];
      const res = await submit(device, `${keyPrefix}-${w}-${i}`, 60);
      if (res.status !== 202 || !res.commandId) {
        errors++;
        continue;
      }
      await watch.wait(res.commandId);
      watch.forget(res.commandId);
      completed++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { completed, perSecond: completed / ((performance.now() - start) / 1000), errors };
}

/** Open loop: requests leave on schedule (rate per second) whether or not earlier ones have
 * answered; latencies are measured from the scheduled time, so queueing is not hidden. */
export async function openLoop(
  submit: Submit,
  watch: EventWatch,
  devices: readonly string[],
  rate: number,
  seconds: number,
  keyPrefix: string,
): Promise<
  { accept: number[]; endToEnd: number[]; sendLag: number[]; errors: number; sent: number }
> {
  // sendLag: how late after its scheduled time each request left, the load generator's own
  // delay (its timers and event loop), inside every accept latency it measures.
  const accept: number[] = [], endToEnd: number[] = [], sendLag: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const start = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / rate;
    const delay = scheduled - performance.now();
    if (delay > 1) await new Promise((r) => setTimeout(r, delay));
    sendLag.push(performance.now() - scheduled);
    inflight.push((async () => {
      const res = await submit(devices[i % devices.length], `${keyPrefix}-${i}`, 60);
      accept.push(performance.now() - scheduled);
      if (res.status !== 202 || !res.commandId) {
        errors++;
        return;
      }
      const doneAt = await watch.wait(res.commandId);
      watch.forget(res.commandId);
      endToEnd.push(doneAt - scheduled);
    })());
  }
  await Promise.all(inflight);
  return { accept, endToEnd, sendLag, errors, sent: total };
}

/** Submits `count` commands with at most `concurrency` requests outstanding. */
export async function submitMany(
  submit: Submit,
  devices: readonly string[],
  count: number,
  concurrency: number,
  keyPrefix: string,
  timeoutSeconds: number,
): Promise<{ accepted: number; errors: number; refusals: Record<string, number> }> {
  let next = 0, accepted = 0, errors = 0;
  const refusals: Record<string, number> = {};
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await submit(devices[i % devices.length], `${keyPrefix}-${i}`, timeoutSeconds);
      if (res.status === 202) accepted++;
      else {
        errors++;
        // Figures (a lag of 2.3 s, a count) differ at each refusal: counted by their wording.
        const why = (res.refusal ?? String(res.status)).replace(/\d+(\.\d+)?/g, "N");
        refusals[why] = (refusals[why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { accepted, errors, refusals };
}
