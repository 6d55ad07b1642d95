// Reads Downlink's memory gauges from its /metrics (the api process's, in --split runs): where
// resident memory goes, as V8 and Node account for it, next to the RSS the bench reads from /proc.

export interface MemoryGauges {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const NAMES: Record<string, keyof MemoryGauges> = {
  process_resident_memory_bytes: "rss",
  downlink_heap_total_bytes: "heapTotal",
  downlink_heap_used_bytes: "heapUsed",
  downlink_external_bytes: "external",
  downlink_array_buffers_bytes: "arrayBuffers",
};

export async function readMemoryGauges(port: number): Promise<MemoryGauges> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const out: Partial<MemoryGauges> = {};
  for (const line of (await res.text()).split("\n")) {
    const [name, value] = line.split(" ");
    if (NAMES[name]) out[NAMES[name]] = Number(value);
  }
  return out as MemoryGauges;
}

/** One line for the log: MiB of each gauge. */
export function describeGauges(g: MemoryGauges): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `rss ${mib(g.rss)}, heap used ${mib(g.heapUsed)} of ${mib(g.heapTotal)}, external ${
    mib(g.external)
  } (array buffers ${mib(g.arrayBuffers)})`;
}
