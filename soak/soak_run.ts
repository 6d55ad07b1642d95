// Runs one soak from nothing to nothing: the stage, the steady load for the planned minutes with
// one reading per minute, the drain past the last deadline, the final reading of every command,
// and the verdict. The servers and temp folder go with faults/cleanup.ts, also on failure.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { scrape } from "../bench/downlink_gauges.ts";
import { percentile } from "../bench/stats.ts";
import { cleanupAll, onCleanup } from "../faults/cleanup.ts";
import { startLoadProcess } from "./load_process.ts";
import { createAcceptWindow } from "./accept_window.ts";
import { type CommandLook, createCommandWindow } from "./command_window.ts";
import { minuteHeader, minuteLine, type MinuteSample } from "./minute_sample.ts";
import type { SoakPlan } from "./soak_plan.ts";
import { SOAK_SCHEMA, SOAK_TENANT, type SoakStage, startSoakStage } from "./soak_stage.ts";
import { RESULTS_DIR, resultStamp } from "./soak_report.ts";
import { countQueueRows, readTableSizes } from "./table_sizes.ts";
import { judgeSoak, type Verdict } from "./verdict.ts";
import { type CpuMark, cpuMark, cpuShare } from "./cpu_window.ts";
import { type Buckets, bucketsOf, percentileBetween } from "./histogram_window.ts";

/** Downlink's own accept latency histogram (src/http/metrics.ts). */
const ACCEPT_HISTOGRAM = "downlink_http_accept_seconds";

export interface SoakResult {
  plan: SoakPlan;
  startedAt: string;
  samples: MinuteSample[];
  /** The reading after the drain (load stopped, every deadline passed): queues should be empty. */
  drained: MinuteSample;
  /** Exact rows left in the queue tables after the drain. */
  queueRowsAfterDrain: Record<string, number>;
  /** The suite's PostgreSQL log (checkpoints, lock waits), copied into the results folder. */
  postgresLog: string;
  /** Downlink's warnings and errors during the run. */
  downlinkLog: string;
  /** Downlink's RSS every 5 s, and the accept p99 of every 10 s of requests sent. */
  rssSeries: { atSeconds: number; rssBytes: number }[];
  acceptSeries: { atSeconds: number; requests: number; p99Ms?: number }[];
  final: CommandLook;
  requests: number;
  accepted: number;
  http503: number;
  unanswered: number;
  verdict: Verdict;
}

const log = (msg: string) => console.error(`[soak] ${msg}`);
const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

export async function runSoak(plan: SoakPlan): Promise<SoakResult> {
  try {
    return await runStaged(plan);
  } finally {
    await cleanupAll();
  }
}

async function runStaged(plan: SoakPlan): Promise<SoakResult> {
  const stage = await startSoakStage(plan);
  const sql = postgres(stage.databaseUrl, { max: 1, onnotice: () => {} });
  onCleanup("soak's postgres client", () => sql.end({ timeout: 2 }));

  const load = startLoadProcess({
    baseUrl: stage.baseUrl,
    clientId: stage.client.clientId,
    secret: stage.client.secret,
    devices: stage.deviceIds,
    perSecond: plan.perSecond,
    timeoutSeconds: plan.timeoutSeconds,
    keyPrefix: "soak",
  });
  onCleanup("load", () => load.stop(0));
  const acceptWindow = createAcceptWindow(load.submissions);
  const commands = createCommandWindow({
    sql,
    schema: SOAK_SCHEMA,
    tenantId: SOAK_TENANT,
    docks: stage.docks.records,
    timeoutSeconds: plan.timeoutSeconds,
    marginSeconds: plan.marginSeconds,
  });
  const started = Date.now();
  const endAt = started + plan.loadSeconds * 1000;
  log(`load: ${plan.perSecond}/s for ${plan.loadSeconds / 60} min to ${plan.docks} docks`);

  // One reading at the end of every whole minute, and one at the end of a partial last one.
  const ticks: number[] = [];
  for (let m = 1; m * 60 < plan.loadSeconds; m++) ticks.push(started + m * 60_000);
  ticks.push(endAt);

  const rssSeries: SoakResult["rssSeries"] = [];
  // Waits until `at`, reading Downlink's RSS every 5 s meanwhile (the RSS target's reference).
  const readRssUntil = async (at: number) => {
    while (Date.now() < at) {
      const next = started + (Math.floor((Date.now() - started) / 5_000) + 1) * 5_000;
      await sleepUntil(Math.min(at, next));
      if (Date.now() >= next) {
        rssSeries.push({
          atSeconds: (Date.now() - started) / 1000,
          rssBytes: stage.downlink.current().rssBytes(),
        });
      }
    }
  };
  let lastLags: number[] = [];
  let lastCommits: number[] = [];
  const samples: MinuteSample[] = [];
  // Downlink's accept histogram at the previous reading: each minute shows what it observed since.
  const acceptBuckets = { before: new Map() as Buckets };
  const cpu = { before: cpuMark(stage.downlink.current().cpuSeconds()) };
  let http503 = 0;
  let accepted = 0;
  console.log(minuteHeader());
  for (const tickAt of ticks) {
    await readRssUntil(tickAt);
    if (tickAt === endAt) {
      await load.stop(10_000);
      // Replies to the last commands sent are a few ms behind them; give them to this minute.
      await sleepUntil(Date.now() + 2_000);
    }
    const a = acceptWindow.take();
    http503 += a.http503;
    accepted += a.accepted;
    const look = await commands.look(Date.now());
    lastLags = look.replyLagsMs;
    lastCommits = look.commitLagsMs;
    const sample = await reading(
      stage,
      sql,
      (tickAt - started) / 60_000,
      look,
      a,
      acceptBuckets,
      cpu,
    );
    samples.push(sample);
    console.log(minuteLine(sample));
  }

  // Every accepted command's deadline plus the margin, counted from its 202.
  const lastAccepted = Math.max(
    started,
    // A loop, not Math.max(...): 30 minutes at 200/s is 360,000 arguments, past the stack.
    load.submissions.reduce(
      (m, s) => s.status === 202 ? Math.max(m, s.sentAt + s.latencyMs!) : m,
      0,
    ),
  );
  const judgeAt = lastAccepted + (plan.timeoutSeconds + plan.marginSeconds) * 1000;
  log(
    `load stopped; reading every command's final state in ${
      Math.round((judgeAt - Date.now()) / 1000)
    } s`,
  );
  await sleepUntil(judgeAt);
  const final = await commands.look(Date.now(), true);
  // Replies that reached their rows only after the last reading belong to the last minute.
  const last = samples.at(-1)!;
  if (final.replyLagsMs.length > 0) {
    const lags = [...lastLags, ...final.replyLagsMs].sort((x, y) => x - y);
    const commits = [...lastCommits, ...final.commitLagsMs].sort((x, y) => x - y);
    last.replies = lags.length;
    last.replyLagP99Ms = percentile(lags, 99);
    last.replyLagMaxMs = lags.at(-1);
    last.commitLagP99Ms = commits.length ? percentile(commits, 99) : undefined;
    last.commitLagMaxMs = commits.at(-1);
    log(
      `${final.replyLagsMs.length} reply(ies) reached their rows after the last minute's ` +
        `reading; its reply lag p99 is now ${Math.round(last.replyLagP99Ms)} ms`,
    );
  }
  const drained = await reading(
    stage,
    sql,
    (Date.now() - started) / 60_000,
    final,
    {
      accepted: 0,
      http503: 0,
      other: 0,
      acceptLatenciesMs: [],
    },
    acceptBuckets,
    cpu,
  );
  drained.label = "drain";
  console.log(minuteLine(drained));
  const queueRowsAfterDrain = await countQueueRows(sql, SOAK_SCHEMA);

  // The temp folder goes at cleanup; the log stays beside the results.
  const postgresLog = join(RESULTS_DIR, `soak-${resultStamp(started)}-postgres.log`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  copyFileSync(stage.postgresLog, postgresLog);
  const downlinkLog = join(RESULTS_DIR, `soak-${resultStamp(started)}-downlink-warnings.log`);
  if (existsSync(stage.downlinkLog)) copyFileSync(stage.downlinkLog, downlinkLog);
  else writeFileSync(downlinkLog, "");

  const unanswered = load.submissions.filter((s) => s.status === undefined).length;
  const accepts = load.submissions.filter((s) => s.status === 202)
    .map((s) => ({ atSeconds: (s.sentAt - started) / 1000, ms: s.latencyMs! }));
  const verdict = judgeSoak({ plan, samples, rssSeries, accepts, final, accepted, unanswered });
  const leftovers = Object.entries(queueRowsAfterDrain).filter(([, n]) => n > 0);
  if (leftovers.length > 0) {
    verdict.notes.push(
      `queue rows left after the drain: ${leftovers.map(([k, n]) => `${k}: ${n}`).join(", ")}`,
    );
  }
  return {
    plan,
    startedAt: new Date(started).toISOString(),
    samples,
    drained,
    queueRowsAfterDrain,
    postgresLog,
    downlinkLog,
    rssSeries,
    acceptSeries: acceptSeries(accepts, plan.loadSeconds),
    final,
    requests: load.submissions.length,
    accepted,
    http503,
    unanswered,
    verdict,
  };
}

/** One reading: the windows' counts, Downlink's memory and gauges, its tables. */
async function reading(
  stage: SoakStage,
  sql: postgres.Sql,
  minute: number,
  look: CommandLook,
  a: { accepted: number; http503: number; other: number; acceptLatenciesMs: number[] },
  acceptBuckets: { before: Buckets },
  cpu: { before: CpuMark },
): Promise<MinuteSample> {
  const lags = [...look.replyLagsMs].sort((x, y) => x - y);
  const commits = [...look.commitLagsMs].sort((x, y) => x - y);
  const accepts = [...a.acceptLatenciesMs].sort((x, y) => x - y);
  const [tables, metrics] = await Promise.all([
    readTableSizes(sql, SOAK_SCHEMA),
    // A Downlink too busy to answer /metrics within 5 s shows as "-", and the RSS still counts.
    Promise.race([
      scrape(stage.port).catch(() => undefined),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000).unref()),
    ]),
  ]);
  const gauge = (name: string) => metrics?.get(name);
  const cpuNow = cpuMark(stage.downlink.current().cpuSeconds());
  const share = cpuShare(cpu.before, cpuNow);
  cpu.before = cpuNow;
  let downlinkAcceptP99Ms: number | undefined;
  if (metrics) {
    const after = bucketsOf(metrics, ACCEPT_HISTOGRAM);
    const le = percentileBetween(acceptBuckets.before, after, 99);
    downlinkAcceptP99Ms = le === undefined ? undefined : le * 1000;
    acceptBuckets.before = after;
  }
  const seconds = (name: string) => {
    const v = gauge(name);
    return v === undefined ? undefined : v * 1000;
  };
  return {
    minute,
    accepted: a.accepted,
    http503: a.http503,
    otherErrors: a.other,
    totals: look.totals,
    replies: lags.length,
    replyLagP99Ms: lags.length ? percentile(lags, 99) : undefined,
    replyLagMaxMs: lags.at(-1),
    commitLagP99Ms: commits.length ? percentile(commits, 99) : undefined,
    commitLagMaxMs: commits.at(-1),
    acceptP99Ms: accepts.length ? percentile(accepts, 99) : undefined,
    downlinkAcceptP99Ms,
    rssBytes: stage.downlink.current().rssBytes(),
    downlinkCpuPercent: share?.downlinkPercent,
    machineIdlePercent: share?.machineIdlePercent,
    heapUsedBytes: gauge("downlink_heap_used_bytes"),
    downlinkReplyLagP99Ms: seconds("downlink_reply_lag_p99_seconds"),
    inFlight: gauge("downlink_in_flight_commands"),
    tables,
  };
}

/** Accept p99 per 10 s of requests sent: where in the run accepting was slow. */
function acceptSeries(
  accepts: readonly { atSeconds: number; ms: number }[],
  loadSeconds: number,
): SoakResult["acceptSeries"] {
  const buckets: number[][] = Array.from({ length: Math.ceil(loadSeconds / 10) }, () => []);
  for (const a of accepts) {
    buckets[Math.min(buckets.length - 1, Math.floor(a.atSeconds / 10))]?.push(a.ms);
  }
  return buckets.map((b, i) => ({
    atSeconds: i * 10,
    requests: b.length,
    p99Ms: b.length ? percentile(b.sort((x, y) => x - y), 99) : undefined,
  }));
}
