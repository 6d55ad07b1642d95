// Polls Downlink's /readyz every 150 ms for the whole scenario, so the time from a fault until
// Downlink says it is ready again can be read afterwards.
export interface ReadinessWatch {
  /** Seconds from `since` until /readyz answered 200 after its last failure following `since`
   * (0 when it never failed); undefined when it was not ready again by the end. */
  readyAgainAfter(since: number): number | undefined;
  /** When /readyz last named `check` as failed at or after `since`, if it did. */
  lastFailedAt(check: string, since: number): number | undefined;
  stop(): Promise<void>;
}

export function startReadinessWatch(baseUrl: string, everyMs = 150): ReadinessWatch {
  const samples: { at: number; ok: boolean; failed?: string[] }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const sample = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
        .then(async (res) => {
          const body = await res.json().catch(() => ({})) as { failed?: string[] };
          return { at, ok: res.status === 200, failed: body.failed };
        }, () => ({ at, ok: false }));
      samples.push(sample);
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - at))));
    }
  })();
  return {
    readyAgainAfter(since) {
      const after = samples.filter((s) => s.at >= since);
      let lastFailure = -1;
      after.forEach((s, i) => {
        if (!s.ok) lastFailure = i;
      });
      if (lastFailure < 0) return 0;
      const next = after[lastFailure + 1];
      return next ? (next.at - since) / 1000 : undefined;
    },
    lastFailedAt(check, since) {
      let last: number | undefined;
      for (const s of samples) if (s.at >= since && s.failed?.includes(check)) last = s.at;
      return last;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
