// A steady open-loop load of signed `fileupload_start` POSTs, one device after another, keeping
// every request's outcome and latency: the commands the suite later checks, and the 503s and
// unanswered requests a fault causes.
import { createDownlinkClient } from "../src/client/downlink_client.ts";
import { seedPayload } from "../bench/load.ts";

export interface Submission {
  key: string;
  deviceId: string;
  sentAt: number;
  /** HTTP status; 0 for a refused or reset connection, undefined while unanswered. */
  status?: number;
  latencyMs?: number;
  commandId?: string;
  code?: string;
}

export interface SteadyLoad {
  submissions: Submission[];
  /** Stops sending; waits up to `graceMs` for outstanding requests, then abandons them. */
  stop(graceMs: number): Promise<void>;
}

export function startSteadyLoad(o: {
  baseUrl: string;
  clientId: string;
  secret: string;
  devices: readonly string[];
  perSecond: number;
  timeoutSeconds: number;
  keyPrefix: string;
}): SteadyLoad {
  // One controller per request: fetch leaves its listener on a signal it was given, so one
  // shared signal would collect a listener per request of the whole run.
  const aborts = new Set<AbortController>();
  let stopped = false;
  const client = createDownlinkClient({
    baseUrl: o.baseUrl,
    clientId: o.clientId,
    secret: o.secret,
    fetch: async (input, init) => {
      const abort = new AbortController();
      aborts.add(abort);
      try {
        return await fetch(input, { ...init, signal: abort.signal });
      } finally {
        aborts.delete(abort);
      }
    },
  });
  const payload = seedPayload();
  const submissions: Submission[] = [];
  const outstanding = new Set<Promise<void>>();
  const started = performance.now();

  const submit = (n: number) => {
    const s: Submission = {
      key: `${o.keyPrefix}-${n}`,
      deviceId: o.devices[n % o.devices.length],
      sentAt: Date.now(),
    };
    submissions.push(s);
    const t0 = performance.now();
    const done = client.createCommand({
      vendor: "dji",
      device_id: s.deviceId,
      command_type: "fileupload_start",
      idempotency_key: s.key,
      timeout_seconds: o.timeoutSeconds,
      payload,
    }).then(
      (res) => {
        s.status = res.status;
        s.latencyMs = performance.now() - t0;
        const body = res.body as { command_id?: string; code?: string };
        s.commandId = body?.command_id;
        s.code = body?.code;
      },
      () => {
        // Abandoned at stop: left unanswered. Refused or reset: status 0.
        if (stopped) return;
        s.status = 0;
        s.latencyMs = performance.now() - t0;
      },
    ).finally(() => outstanding.delete(done));
    outstanding.add(done);
  };

  // Open loop: the schedule does not wait for answers, as callers do not wait for each other.
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * o.perSecond);
    while (sent < due) submit(sent++);
  }, 20);

  return {
    submissions,
    async stop(graceMs) {
      clearInterval(timer);
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((r) => graceTimer = setTimeout(r, graceMs));
      await Promise.race([Promise.allSettled([...outstanding]), grace]);
      clearTimeout(graceTimer);
      stopped = true;
      for (const abort of aborts) abort.abort();
      await Promise.allSettled([...outstanding]);
    },
  };
}
