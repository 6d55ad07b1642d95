// `npm run bench [-- --quick]`: Downlink's benchmark. Runs Downlink as its own process, drives
// it over real HTTP with signed requests, answers with simulated docks over a real MQTT broker,
// and prints one table with ratios against baselines measured in the same run.
import process from "node:process";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import postgres from "postgres";
import { startBroker } from "./mosquitto.ts";
import { measurePostgresBaseline } from "./postgres_baseline.ts";
import { measureMqttBaseline } from "./mqtt_baseline.ts";
import { startDownlinkGroup } from "./downlink_process.ts";
import { type DockProcess, startDockProcess } from "./dock_process.ts";
import { EventWatch, openLoop, saturate, seedPayload, type Submit, submitMany } from "./load.ts";
import { summarize, type Summary } from "./stats.ts";
import { latencyChartSvg } from "./chart.ts";
import { describeGauges, readEventLoopDelay, readMemoryGauges } from "./downlink_gauges.ts";
import { createSignedPoster, type SignedPoster } from "./signed_http.ts";
import { cpuPerUnit, cpuSnapshot } from "./process_cpu.ts";
import { deleteNamespaceStreams } from "../src/bus/nats.ts";
import { topologyNames } from "../src/bus/subjects.ts";
import { openNats } from "../src/composition_root.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    docks: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    inflight: { type: "string" },
    devices: { type: "string" },
    out: { type: "string", default: "bench/results" },
    /** Runs Downlink as one process per role (api, shard, bridge) instead of one for all. */
    split: { type: "boolean", default: false },
    /** Writes a V8 CPU profile of Downlink (saturation and open loop only) into this folder. */
    profile: { type: "string" },
    /** `memory`: after the warm-up, runs only the memory and restart phases (no baselines,
     * saturation or open loop), to study memory without waiting for the rest. */
    only: { type: "string" },
  },
});
const quick = args.quick!;
if (args.only !== undefined && args.only !== "memory") {
  throw new Error(`--only takes "memory", got ${args.only}`);
}
const onlyMemory = args.only === "memory";
const num = (v: string | undefined, full: number, q: number) => v ? Number(v) : quick ? q : full;
const plan = {
  docks: num(args.docks, 100, 20),
  rate: num(args.rate, 1000, 200),
  seconds: num(args.seconds, 15, 3),
  baselineSeconds: quick ? 2 : 5,
  inflight: num(args.inflight, 100_000, 2_000),
  inflightDevices: num(args.devices, 10_000, 200),
};
const concurrency = plan.docks * 2;

/** The link the run measures (DOWNLINK_LINK, as Downlink reads it), and the other adapter, whose
 * saturation is measured in the same run (src/link/). */
const LINK = process.env.DOWNLINK_LINK === "local" ? "local" : "jetstream";
const OTHER_LINK = LINK === "local" ? "jetstream" : "local";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const log = (msg: string) => console.error(`[bench] ${msg}`);

async function main() {
  const started = Date.now();
  const broker = await startBroker(process.env.MQTT_URL ?? "mqtt://127.0.0.1:1883");
  log(`broker ${broker.url} (${broker.own ? "own, tcp no-delay" : "shared"})`);
  const ns = `bench_${Date.now().toString(36)}`;
  const env: Record<string, string> = {
    DATABASE_URL,
    NATS_URL,
    MQTT_URL: broker.url,
    DOWNLINK_NAMESPACE: ns,
    DOWNLINK_DB_SCHEMA: ns,
    DOWNLINK_LOG_LEVEL: "info",
    PORT: "0",
    HOST: "127.0.0.1",
    // Its docks answer many uploads each and report no progress: with one job per class, each
    // upload would wait for the previous one's deadline (as a real dock's would for its end).
    DOWNLINK_HOLD_BY_CLASS: "false",
    DOWNLINK_LINK: LINK,
  };
  const results: Record<string, unknown> = {
    plan,
    link: LINK,
    started_at: new Date(started).toISOString(),
  };
  let downlink: Awaited<ReturnType<typeof startDownlinkGroup>> | undefined;
  let poster: SignedPoster | undefined;
  const groups = args.split ? [["api"], ["shard"], ["bridge"]] : [["api", "shard", "bridge"]];
  results.processes = groups.map((g) => g.join(","));
  const nc = await connect({ servers: NATS_URL });
  const docks = await startDockProcess(broker.url, "bench-dock-", plan.docks);
  let silentDocks: DockProcess | undefined;
  try {
    let baselines: Awaited<ReturnType<typeof measureBaselines>> | undefined;
    if (!onlyMemory) results.baselines = baselines = await measureBaselines(broker.url);

    log("creating an API client");
    const created = JSON.parse(execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "client",
        "create",
        "--tenant",
        ns,
        "--name",
        "bench",
        "--devices",
        "bench-*",
      ],
      { env: { ...process.env, ...env, DOWNLINK_LOG_LEVEL: "warn" }, encoding: "utf8" },
    ));

    const startWith = async (link: string) => {
      downlink = await startDownlinkGroup({ ...env, DOWNLINK_LINK: link }, groups, {
        nodeArgs: args.profile ? ["--cpu-prof", `--cpu-prof-dir=${args.profile}`] : [],
      });
      poster = createSignedPoster({
        host: "127.0.0.1",
        port: downlink.port,
        clientId: created.client_id,
        secret: created.secret,
        connections: concurrency,
      });
      return downlink;
    };
    downlink = await startWith(LINK);
    const payload = seedPayload();
    const submitOnce: Submit = async (deviceId, key, timeoutSeconds) => {
      const res = await poster!.post({
        vendor: "dji",
        device_id: deviceId,
        command_type: "fileupload_start",
        idempotency_key: key,
        timeout_seconds: timeoutSeconds,
        payload,
      });
      return {
        status: res.status,
        commandId: res.body.command_id as string | undefined,
        refusal: res.status === 202 ? undefined : `${res.status} ${String(res.body.message)}`,
      };
    };
    // A refused or reset connection is an error of the run, counted like a non-202.
    const submit: Submit = (deviceId, key, timeoutSeconds) =>
      submitOnce(deviceId, key, timeoutSeconds).catch((err) => ({
        status: 0,
        refusal: `connection: ${err?.code ?? err?.message ?? err}`,
      }));
    const completed = new EventWatch(nc, created.tenant_id, "completed");
    const dockSns = docks.sns;

    log("warm-up");
    await saturate(submit, completed, dockSns, concurrency, quick ? 1 : 3, "warm");

    let openLoopRun: Awaited<ReturnType<typeof openLoop>> | undefined;
    if (!onlyMemory) {
      log(`saturation: closed loop, concurrency ${concurrency}, ${plan.seconds}s`);
      const cpuBefore = downlink.cpuSeconds();
      const writesBefore = downlink.writeCalls();
      const measuredPids = () => ({
        ...Object.fromEntries(downlink!.pids.map((p) => [p, "Downlink"])),
        [docks.pid]: "load generator + docks",
      });
      const machineBefore = cpuSnapshot(measuredPids());
      const pgBefore = await postgresCounters(ns);
      const sat = await saturate(submit, completed, dockSns, concurrency, plan.seconds, "sat");
      const machine = cpuPerUnit(machineBefore, cpuSnapshot(measuredPids()), sat.completed);
      const pgAfter = await postgresCounters(ns);
      const commitsPerCommand = (pgAfter.commits - pgBefore.commits) / sat.completed;
      const walBytesPerCommand = (pgAfter.walBytes - pgBefore.walBytes) / sat.completed;
      const hotShare = (pgAfter.hotUpdates - pgBefore.hotUpdates) /
        Math.max(1, pgAfter.updates - pgBefore.updates);
      const cpuPerCommandMs = ((downlink.cpuSeconds() - cpuBefore) * 1000) / sat.completed;
      const writesPerCommand = (downlink.writeCalls() - writesBefore) / sat.completed;
      log(`open loop at ${plan.rate}/s for ${plan.seconds}s`);
      await readEventLoopDelay(downlink.port); // starts the window the open loop is read from
      const open = await openLoop(submit, completed, dockSns, plan.rate, plan.seconds, "open");
      const eventLoopDelay = await readEventLoopDelay(downlink.port);
      const accept = summarize(open.accept);
      const e2e = summarize(open.endToEnd);
      results.throughput = {
        ...sat,
        ratio_to_mqtt: sat.perSecond / baselines!.mqtt.repliesPerSecond,
        downlink_cpu_ms_per_command: cpuPerCommandMs,
        downlink_write_calls_per_command: writesPerCommand,
        cpu_ms_per_command_by_process: machine.ms,
        write_calls_per_command_by_process: machine.writes,
        postgres_commits_per_command: commitsPerCommand,
        postgres_wal_bytes_per_command: walBytesPerCommand,
        postgres_hot_update_share: hotShare,
      };
      results.open_loop = {
        rate: plan.rate,
        accept,
        end_to_end: e2e,
        send_lag: summarize(open.sendLag),
        downlink_event_loop_delay: eventLoopDelay,
        errors: open.errors,
        sent: open.sent,
      };
      if (args.profile) {
        await downlink.kill("SIGTERM"); // V8 writes the profile on a clean exit
        console.log(JSON.stringify({ throughput: results.throughput, accept, e2e }, null, 2));
        console.log(`profile written to ${args.profile}`);
        return;
      }
      openLoopRun = open;

      // The other link adapter, the same closed loop, in the same run: on a shared machine only
      // figures taken side by side compare. (Split roles hand nothing over: no comparison.)
      if (!args.split) {
        log(`link comparison: ${OTHER_LINK} adapter, closed loop, ${plan.seconds}s`);
        await downlink.kill("SIGTERM");
        poster!.close();
        const other = await startWith(OTHER_LINK);
        await saturate(submit, completed, dockSns, concurrency, quick ? 1 : 3, "warm-link");
        const before = other.cpuSeconds();
        const otherSat = await saturate(
          submit,
          completed,
          dockSns,
          concurrency,
          plan.seconds,
          "link",
        );
        const by: Record<string, { per_second: number; downlink_cpu_ms_per_command: number }> = {
          [LINK]: { per_second: sat.perSecond, downlink_cpu_ms_per_command: cpuPerCommandMs },
          [OTHER_LINK]: {
            per_second: otherSat.perSecond,
            downlink_cpu_ms_per_command: ((other.cpuSeconds() - before) * 1000) /
              otherSat.completed,
          },
        };
        results.link_comparison = {
          ...by,
          throughput_local_to_jetstream: by.local.per_second / by.jetstream.per_second,
          cpu_local_to_jetstream: by.local.downlink_cpu_ms_per_command /
            by.jetstream.downlink_cpu_ms_per_command,
        };
        log(`restarting with the ${LINK} adapter`);
        await other.kill("SIGTERM");
        poster!.close();
        await startWith(LINK);
      }
    }
    completed.stop();

    log(`memory: ${plan.inflight} commands in flight to ${plan.inflightDevices} silent devices`);
    const idleRss = await settledRss(downlink); // settled the same way as the loaded one
    const idleGauges = await readMemoryGauges(downlink.port);
    log(`memory idle: ${describeGauges(idleGauges)}`);
    // Docks that are online (a command for an offline one waits unsent) and never answer; they
    // push osd every 2 s as real ones do, which the memory figures include.
    silentDocks = await startDockProcess(broker.url, "bench-silent-", plan.inflightDevices, {
      silent: true,
    });
    await silentDocks.online(120_000);
    const silent = silentDocks.sns;
    const delivered = new EventWatch(nc, created.tenant_id, "delivered");
    const t0 = performance.now();
    const many = await submitMany(submit, silent, plan.inflight, 64, "mem", 300);
    const acceptSeconds = (performance.now() - t0) / 1000;
    log(`memory: ${many.accepted} accepted, refused: ${JSON.stringify(many.refusals)}`);
    await waitUntil(() => delivered.count >= many.accepted, 300_000, "all in-flight delivered");
    delivered.stop();
    await new Promise((r) => setTimeout(r, 1000));
    const burstRss = downlink.rssBytes();
    const burstGauges = await readMemoryGauges(downlink.port);
    log(`memory right after the burst: ${describeGauges(burstGauges)}`);
    // Right after the burst, RSS still holds the garbage of 100,000 HTTP requests that V8 has
    // not collected and returned; a running gateway's memory is what it keeps once idle.
    const inFlightAtBurst = await countInFlight(ns);
    const loadedRss = await settledRss(downlink);
    const loadedGauges = await readMemoryGauges(downlink.port);
    log(`memory settled: ${describeGauges(loadedGauges)}`);
    // Submitting takes minutes at full scale, so the first commands may have timed out by now:
    // divide by what is really in flight.
    const inFlight = await countInFlight(ns);
    const perCommand = (loadedRss - idleRss) / inFlight;
    results.memory = {
      accepted: many.accepted,
      refusals: many.refusals,
      in_flight: inFlight,
      in_flight_at_burst: inFlightAtBurst,
      devices: plan.inflightDevices,
      idle_rss: idleRss,
      loaded_rss: loadedRss,
      bytes_per_command: perCommand,
      burst_rss: burstRss,
      burst_bytes_per_command: (burstRss - idleRss) / inFlight,
      submit_per_second: many.accepted / acceptSeconds,
      gauges: { idle: idleGauges, burst: burstGauges, loaded: loadedGauges },
    };

    log("restart: SIGKILL with everything in flight, then start again");
    await downlink.kill("SIGKILL");
    poster!.close();
    const killedAt = performance.now();
    downlink = await startDownlinkGroup(env, groups, { startTimeoutMs: 120_000 });
    const restartSeconds = (performance.now() - killedAt) / 1000;
    const inFlightAfter = await countInFlight(ns);
    results.restart = { seconds: restartSeconds, in_flight_restored: inFlightAfter };

    printTable(results);
    mkdirSync(args.out!, { recursive: true });
    const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
    const suffix = `${onlyMemory ? "-memory" : ""}${quick ? "-quick" : ""}`;
    const jsonPath = join(args.out!, `bench-${stamp}${suffix}.json`);
    writeFileSync(jsonPath, JSON.stringify(results, null, 2));
    console.log(`\nresults: ${jsonPath}`);
    if (openLoopRun) {
      const { accept, end_to_end: e2e } = results.open_loop as Record<string, Summary>;
      const svgPath = join(args.out!, `latency-${stamp}${suffix}.svg`);
      writeFileSync(
        svgPath,
        latencyChartSvg(`Downlink at ${plan.rate} commands/s (open loop, ${plan.docks} docks)`, [
          {
            label: `accept (HTTP 202) p99 ${accept.p99.toFixed(1)} ms`,
            samples: openLoopRun.accept,
            color: "#1f77b4",
          },
          {
            label: `end to end (→ SUCCEEDED) p99 ${e2e.p99.toFixed(1)} ms`,
            samples: openLoopRun.endToEnd,
            color: "#d62728",
          },
        ]),
      );
      console.log(`chart:   ${svgPath}`);
    }
  } finally {
    poster?.close();
    await downlink?.kill("SIGTERM");
    await docks.stop();
    await silentDocks?.stop();
    await nc.close();
    const nc2 = await openNats(NATS_URL, "bench-cleanup");
    await deleteNamespaceStreams(nc2, topologyNames(ns));
    await nc2.close();
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop schema if exists "${ns}" cascade`);
    await sql.end();
    await broker.stop();
  }
}

async function measureBaselines(brokerUrl: string) {
  log(`baseline: Postgres single-row commits (${plan.baselineSeconds}s)`);
  const postgres = await measurePostgresBaseline(DATABASE_URL, plan.baselineSeconds, 8);
  log(`baseline: MQTT QoS 1 request/reply, ${plan.docks} docks, concurrency ${concurrency}`);
  const mqtt = await measureMqttBaseline(brokerUrl, plan.docks, concurrency, plan.baselineSeconds);
  return { postgres, mqtt };
}

/** How long RSS is watched for its settled value. V8 gives back the heap a burst grew (pages
 * left sparse by promoted request garbage) only in its memory reducer's compacting GCs, which
 * start once allocation has been low for a while or, at the latest, 100 s after the last full GC
 * (the reducer's watchdog in Node 20's V8). Measured with --trace-gc after 100,000 commands: the
 * first such GC 77 s after the burst, RSS 841 → 434 MiB. A watch that stops after 5 s without a
 * drop reads the burst's garbage as memory kept per command. */
/** A --quick run is a smoke run that must stay under two minutes: it watches briefly, and its
 * memory figure is not one to compare. */
const SETTLE_SECONDS = quick ? 5 : 120;

/** The lowest RSS over SETTLE_SECONDS, sampled each second. */
async function settledRss(p: { rssBytes(): number }): Promise<number> {
  let lowest = p.rssBytes();
  for (let i = 0; i < SETTLE_SECONDS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    lowest = Math.min(lowest, p.rssBytes());
  }
  return lowest;
}

/** Transactions committed in the database so far (every connection, as Postgres counts them),
 * WAL bytes written by the whole server, and the updates of the bench's `commands` table, all
 * and heap-only (HOT): counts that, unlike CPU time, do not drift with the machine's noise. */
async function postgresCounters(
  schema: string,
): Promise<{ commits: number; walBytes: number; updates: number; hotUpdates: number }> {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    // Statistics reach the view within a second; wait that out so the count is complete.
    await new Promise((r) => setTimeout(r, 1_100));
    await sql`select pg_stat_clear_snapshot()`;
    const [row] = await sql`
      select (select xact_commit::float8 from pg_stat_database where datname = current_database())
               as commits,
             (select wal_bytes::float8 from pg_stat_wal) as wal_bytes,
             coalesce(t.n_tup_upd, 0)::float8 as updates,
             coalesce(t.n_tup_hot_upd, 0)::float8 as hot_updates
      from (select 1) one
      left join pg_stat_user_tables t on t.schemaname = ${schema} and t.relname = 'commands'`;
    return {
      commits: row.commits,
      walBytes: row.wal_bytes,
      updates: row.updates,
      hotUpdates: row.hot_updates,
    };
  } finally {
    await sql.end();
  }
}

async function countInFlight(schema: string): Promise<number> {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(
      `select count(*)::int as n from "${schema}".commands where status in ('ACCEPTED','DELIVERED')`,
    );
    return row.n;
  } finally {
    await sql.end();
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function sumValues(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

type Fmt = (n: number, d?: number) => string;

function throughputRows(r: Record<string, any>, f: Fmt): [string, string, string][] {
  const pg = r.baselines.postgres;
  const { accept, end_to_end: e2e } = r.open_loop as Record<string, Summary>;
  return [
    [
      "baseline: MQTT QoS 1 request/reply",
      `${f(r.baselines.mqtt.repliesPerSecond, 0)} /s`,
      `concurrency ${r.baselines.mqtt.concurrency}`,
    ],
    [
      "baseline: Postgres single-row commit",
      `${f(pg.commitsPerSecond, 0)} /s`,
      `${f(pg.concurrentCommitsPerSecond, 0)} /s at ${pg.concurrency} connections`,
    ],
    [
      `end-to-end throughput (→ SUCCEEDED), ${r.link} link`,
      `${f(r.throughput.perSecond, 0)} /s`,
      `${f(r.throughput.ratio_to_mqtt, 2)} × MQTT baseline (target ≥ 0.35); Downlink CPU ${
        f(r.throughput.downlink_cpu_ms_per_command, 2)
      } ms/command, ${f(r.throughput.downlink_write_calls_per_command, 1)} write calls/command`,
    ],
    [
      "CPU per command at saturation",
      `${f(sumValues(r.throughput.cpu_ms_per_command_by_process), 2)} ms`,
      Object.entries(r.throughput.cpu_ms_per_command_by_process as Record<string, number>)
        .sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v, 2)}`).join(", "),
    ],
    [
      "write calls per command at saturation",
      `${f(sumValues(r.throughput.write_calls_per_command_by_process), 1)}`,
      `${
        Object.entries(r.throughput.write_calls_per_command_by_process as Record<string, number>)
          .sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v, 1)}`).join(", ")
      }; Postgres commits ${f(r.throughput.postgres_commits_per_command, 2)}, WAL ${
        f(r.throughput.postgres_wal_bytes_per_command ?? NaN, 0)
      } B, HOT updates ${f(100 * (r.throughput.postgres_hot_update_share ?? NaN), 0)}%`,
    ],
    [
      `accept latency at ${r.open_loop.rate}/s`,
      `p50 ${f(accept.p50, 2)} ms`,
      `p95 ${f(accept.p95, 2)} ms, p99 ${f(accept.p99, 2)} ms (target p99 ≤ 10)`,
    ],
    [
      `end-to-end latency at ${r.open_loop.rate}/s`,
      `p50 ${f(e2e.p50, 2)} ms`,
      `p95 ${f(e2e.p95, 2)} ms, p99 ${f(e2e.p99, 2)} ms`,
    ],
    ["open-loop errors", `${r.open_loop.errors}`, `of ${r.open_loop.sent} sent`],
    ...(r.link_comparison
      ? [[
        "end-to-end throughput by link adapter",
        `${f(r.link_comparison.throughput_local_to_jetstream, 2)} local/jetstream`,
        `jetstream ${f(r.link_comparison.jetstream.per_second, 0)} /s, ${
          f(r.link_comparison.jetstream.downlink_cpu_ms_per_command, 2)
        } ms CPU/command; local ${f(r.link_comparison.local.per_second, 0)} /s, ${
          f(r.link_comparison.local.downlink_cpu_ms_per_command, 2)
        } ms CPU/command (CPU ${
          f(r.link_comparison.cpu_local_to_jetstream, 2)
        } local/jetstream; the main rows measure ${r.link})`,
      ] as [string, string, string]]
      : []),
    ...(r.open_loop.send_lag
      ? [[
        "load generator's send delay (in the above)",
        `p50 ${f(r.open_loop.send_lag.p50, 2)} ms`,
        `p99 ${f(r.open_loop.send_lag.p99, 2)} ms after the scheduled time`,
      ] as [string, string, string]]
      : []),
    ...(r.open_loop.downlink_event_loop_delay
      ? [[
        "Downlink's event-loop delay (in the above)",
        `p50 ${f(r.open_loop.downlink_event_loop_delay.p50, 2)} ms`,
        `p99 ${f(r.open_loop.downlink_event_loop_delay.p99, 2)} ms, max ${
          f(r.open_loop.downlink_event_loop_delay.max, 1)
        } ms (a 20 ms timer's lateness, from /metrics)`,
      ] as [string, string, string]]
      : []),
  ];
}

function printTable(r: Record<string, any>) {
  const f = (n: number, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d });
  const rows: [string, string, string][] = [];
  if (r.throughput) rows.push(...throughputRows(r, f));
  rows.push(
    [
      `memory, ${f(r.memory.in_flight, 0)} in flight`,
      `${f(r.memory.bytes_per_command, 0)} B/command`,
      `RSS ${f(r.memory.idle_rss / 2 ** 20, 0)} → ${
        f(r.memory.loaded_rss / 2 ** 20, 0)
      } MiB settled (right after the burst ${f(r.memory.burst_rss / 2 ** 20, 0)} MiB, ${
        f(r.memory.burst_bytes_per_command, 0)
      } B/command; heap used ${f(r.memory.gauges.idle.heapUsed / 2 ** 20, 0)} → ${
        f(r.memory.gauges.loaded.heapUsed / 2 ** 20, 0)
      } MiB) (target ≤ 4096 B)`,
    ],
    [
      "restart after SIGKILL",
      `${f(r.restart.seconds, 2)} s`,
      `${f(r.restart.in_flight_restored, 0)} in flight restored (target ≤ 10 s)`,
    ],
  );
  const w0 = Math.max(...rows.map((x) => x[0].length)),
    w1 = Math.max(...rows.map((x) => x[1].length));
  console.log(
    `\nDownlink benchmark${quick ? " (--quick)" : ""}: ${plan.docks} docks, Downlink as ${
      (r.processes as string[]).map((p) => `[${p}]`).join(" ")
    }`,
  );
  console.log(`${"measure".padEnd(w0)} | ${"value".padEnd(w1)} | detail`);
  console.log(`${"-".repeat(w0)}-|-${"-".repeat(w1)}-|-------`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c}`);
}

await main();
