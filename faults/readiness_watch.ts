// Polls Downlink's /readyz every 150 ms for the whole scenario, so the time from a fault until
// Downlink says it is ready again can be read afterwards.
export interface ReadinessWatch {
  /** Seconds from `since` until /readyz answered 200 after its last failure following `since`
   * (0 when it never failed); undefined when it was not ready again by the end. */
  readyAgainAfter(since: number): number | undefined;
  stop(): Promise<void>;
}

export function startReadinessWatch(baseUrl: string, everyMs = 150): ReadinessWatch {
  const samples: { at: number; ok: boolean }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const ok = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
        .then(async (res) => {
          await res.body?.cancel();
          return res.status === 200;
        }, () => false);
      samples.push({ at, ok });
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
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
