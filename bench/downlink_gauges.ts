// Reads Downlink's gauges from its /metrics (the api process's, in --split runs): where resident
// memory goes, as V8 and Node account for it, next to the RSS the bench reads from /proc; and how
// late its event loop ran, the wait every request has before Downlink even reads it.

export interface MemoryGauges {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Commands hosted in flight, and how many of them and of the devices are live actors. */
  inFlight: number;
  commandActors: number;
  deviceActors: number;
}

const NAMES: Record<string, keyof MemoryGauges> = {
  process_resident_memory_bytes: "rss",
  downlink_heap_total_bytes: "heapTotal",
  downlink_heap_used_bytes: "heapUsed",
  downlink_external_bytes: "external",
  downlink_array_buffers_bytes: "arrayBuffers",
  downlink_in_flight_commands: "inFlight",
  downlink_command_actors_live: "commandActors",
  downlink_device_actors_live: "deviceActors",
};

/** Every sample of Downlink's /metrics on `port`, by name with its labels. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const [name, value] = line.split(" ");
    if (!name.startsWith("#") && value !== undefined) out.set(name, Number(value));
  }
  return out;
}

export async function readMemoryGauges(port: number): Promise<MemoryGauges> {
  const gauges = await scrape(port);
  const out: Partial<MemoryGauges> = {};
  for (const [name, key] of Object.entries(NAMES)) out[key] = gauges.get(name);
  return out as MemoryGauges;
}

/** How late Downlink's event loop ran, in ms, since the previous read (each read starts anew). */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export async function readEventLoopDelay(port: number): Promise<EventLoopDelay> {
  const gauges = await scrape(port);
  const ms = (name: string) =>
    1000 * (gauges.get(`downlink_event_loop_delay_${name}_seconds`) ?? NaN);
  return { p50: ms("p50"), p99: ms("p99"), max: ms("max") };
}

/** One line for the log: MiB of each gauge. */
export function describeGauges(g: MemoryGauges): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `rss ${mib(g.rss)}, heap used ${mib(g.heapUsed)} of ${mib(g.heapTotal)}, external ${
    mib(g.external)
  } (array buffers ${
    mib(g.arrayBuffers)
  }); ${g.inFlight} in flight, live actors: ${g.commandActors} commands, ${g.deviceActors} devices`;
}
