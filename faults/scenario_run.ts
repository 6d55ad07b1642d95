// Runs one scenario from nothing to nothing: its own servers, Downlink processes, docks and
// load, the fault in the middle, the wait past every deadline, the audit, and the teardown.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../bench/loopback_port.ts";
import { loadConfig } from "../src/runtime/config.ts";
import { cleanupAll, onCleanup } from "./cleanup.ts";
import { startPostgresCluster } from "./postgres_cluster.ts";
import { startNatsServer } from "./nats_server.ts";
import { startMosquitto } from "./mosquitto_broker.ts";
import { type DownlinkInstance, startDownlinkInstance } from "./downlink_instance.ts";
import { type DockBehaviour, startRecordingDocks } from "./recording_docks.ts";
import { startSteadyLoad } from "./steady_load.ts";
import { startReadinessWatch } from "./readiness_watch.ts";
import { readEvents } from "./event_audit.ts";
import { readCommandRows } from "./command_rows.ts";
import { type Audit, auditCommands } from "./command_audit.ts";
import type { FaultNotes, Scenario, Stage } from "./scenarios.ts";
import type { RunPlan } from "./run_plan.ts";
import { openStorage } from "../src/composition_root.ts";

export interface ScenarioResult {
  scenario: string;
  audit?: Audit;
  notes?: FaultNotes;
  readyAgainSeconds?: number;
  /** The scenario could not run to its end (a server would not start, ...). */
  error?: string;
}

const TENANT = "faults";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (scenario: string, msg: string) => console.error(`[faults ${scenario}] ${msg}`);

/** Docks in a fixed mix: two thirds answer 0, one sixth 314000, one sixth never answer. */
function dockMix(count: number): Map<string, DockBehaviour> {
  const docks = new Map<string, DockBehaviour>();
  for (let i = 0; i < count; i++) {
    const behaviour: DockBehaviour = i % 6 === 4
      ? { result: 314000 }
      : i % 6 === 5
      ? "silent"
      : { result: 0 };
    docks.set(`fdock-${i}`, behaviour);
  }
  return docks;
}

export async function runScenario(scenario: Scenario, plan: RunPlan): Promise<ScenarioResult> {
  try {
    return await runStaged(scenario, plan);
  } catch (err) {
    log(scenario.name, `failed to run: ${(err as Error).message}`);
    return { scenario: scenario.name, error: (err as Error).message };
  } finally {
    await cleanupAll();
  }
}

async function runStaged(scenario: Scenario, plan: RunPlan): Promise<ScenarioResult> {
  const say = (msg: string) => log(scenario.name, msg);
  const root = mkdtempSync(join(tmpdir(), `downlink-faults-${scenario.name}-`));
  // PostgreSQL and Mosquitto run as their own users and must reach their folders inside.
  chmodSync(root, 0o755);
  onCleanup(`temp folder ${root}`, () => rmSync(root, { recursive: true, force: true }));

  const [postgres, nats, mosquitto] = await Promise.all([
    startPostgresCluster(join(root, "postgres")),
    startNatsServer(join(root, "nats")),
    startMosquitto(join(root, "mosquitto")),
  ]);
  for (
    const [what, s] of [["postgres", postgres], ["nats", nats], ["mosquitto", mosquitto]] as const
  ) {
    onCleanup(what, () => s.destroy());
  }
  say(`servers up: ${postgres.url} ${nats.url} ${mosquitto.url}`);

  const namespace = `faults_${scenario.name.replaceAll("-", "_")}`;
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: postgres.url,
    NATS_URL: nats.url,
    MQTT_URL: mosquitto.url,
    HOST: "127.0.0.1",
    DOWNLINK_NAMESPACE: namespace,
    DOWNLINK_DB_SCHEMA: namespace,
    DOWNLINK_LEASE_TTL_SECONDS: String(plan.leaseTtlSeconds),
    // Its docks answer many uploads each and report no progress: with one job per class, each
    // upload would wait for the previous one's deadline (as a real dock's would for its end).
    DOWNLINK_HOLD_BY_CLASS: "false",
    // info, not warn: the start and partition takeover lines are info (so is the access log,
    // one line per request). Only error lines are shown.
    DOWNLINK_LOG_LEVEL: "info",
  };
  const client = await createApiClient(env);

  const docks = await startRecordingDocks({ mqttUrl: mosquitto.url, docks: dockMix(plan.docks) });
  onCleanup("docks", () => docks.stop());

  const downlinks = new Map<string, DownlinkInstance>();
  const roles = scenario.split
    ? [["s1", "shard,bridge"], ["s2", "shard,bridge"], ["api", "api"]]
    : [["a", "api,shard,bridge"]];
  await Promise.all(roles.map(async ([label, r]) => {
    downlinks.set(
      label,
      await startDownlinkInstance({
        ...env,
        DOWNLINK_ROLES: r,
        DOWNLINK_INSTANCE_ID: `${namespace}-${label}`,
        PORT: r.includes("api") ? String(port) : "0",
      }, `${scenario.name}/${label}`),
    );
  }));
  const baseUrl = `http://127.0.0.1:${port}`;
  const readiness = startReadinessWatch(baseUrl);
  onCleanup("readiness watch", () => readiness.stop());
  await waitUntilReady(baseUrl, 30_000);
  // Commands wait for their dock to be online: the load starts once Downlink knows them all.
  await docks.answered(30_000);
  say(`downlink ready on ${baseUrl} (${[...downlinks.keys()].join(", ")}), docks online`);

  const stage: Stage = {
    postgres,
    nats,
    mosquitto,
    downlinks,
    namespace,
    leaseTtlSeconds: plan.leaseTtlSeconds,
  };
  const load = startSteadyLoad({
    baseUrl,
    clientId: client.clientId,
    secret: client.secret,
    devices: [...dockMix(plan.docks).keys()],
    perSecond: plan.perSecond,
    timeoutSeconds: plan.timeoutSeconds,
    keyPrefix: namespace,
  });
  onCleanup("load", () => load.stop(0));
  const loadStarted = Date.now();
  await sleep(plan.faultAtSeconds * 1000);
  say(`fault: ${scenario.summary}`);
  const notes = await scenario.inject(stage);
  say(`fault injected (${((Date.now() - notes.at) / 1000).toFixed(1)} s)`);
  await sleep(Math.max(0, loadStarted + plan.loadSeconds * 1000 - Date.now()));
  await load.stop(15_000);

  // Every accepted command's deadline plus the margin, counted from its 202.
  const lastAccepted = Math.max(
    0,
    // A loop, not Math.max(...): 30 minutes at 200/s is 360,000 arguments, past the stack.
    load.submissions.reduce(
      (m, s) => s.status === 202 ? Math.max(m, s.sentAt + s.latencyMs!) : m,
      0,
    ),
  );
  const judgeAt = lastAccepted + (plan.timeoutSeconds + plan.marginSeconds) * 1000;
  say(
    `load stopped (${load.submissions.length} requests); judging in ${
      Math.max(0, Math.round((judgeAt - Date.now()) / 1000))
    } s`,
  );
  await sleep(Math.max(0, judgeAt - Date.now()));

  const rows = await readCommandRows(postgres.url, namespace, TENANT);
  const nc = await connect({ servers: nats.url });
  const events = await readEvents(nc, TENANT).finally(() => nc.close());
  await readiness.stop();
  const readyAgainSeconds = readiness.readyAgainAfter(notes.at);
  const audit = auditCommands({
    submissions: load.submissions,
    rows,
    docks: docks.records,
    behaviourOf: (sn) => docks.behaviourOf(sn),
    events,
    faultAt: notes.at,
    deafUntil: readiness.lastFailedAt("mqtt_replies", notes.at),
  });
  return { scenario: scenario.name, audit, notes, readyAgainSeconds };
}

/** An API client of the suite's tenant allowed every dock, made as the CLI makes one (the soak
 * makes its own tenant's with `who`). */
export async function createApiClient(
  env: Record<string, string>,
  who: { tenantId: string; name: string; devices: string[] } = {
    tenantId: TENANT,
    name: "fault-suite",
    devices: ["fdock-*"],
  },
): Promise<{ clientId: string; secret: string }> {
  const config = loadConfig(env);
  const storage = await openStorage(config, { poolSize: 1 });
  try {
    const { client, secret } = await storage.clients.createClient(who);
    return { clientId: client.client_id, secret };
  } finally {
    await storage.close();
  }
}

export async function waitUntilReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(150);
  }
  throw new Error(`${baseUrl}/readyz did not answer 200 within ${timeoutMs} ms`);
}
