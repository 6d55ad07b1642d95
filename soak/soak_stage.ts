// Everything a soak runs against, made from nothing with the fault suite's pieces: its own
// PostgreSQL (autovacuum off, as the machine's runs), nats-server and Mosquitto on free ports of
// 127.0.0.1, one Downlink process with every role, an API client and docks that all answer 0.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../bench/loopback_port.ts";
import { onCleanup } from "../faults/cleanup.ts";
import { startPostgresCluster } from "../faults/postgres_cluster.ts";
import { startNatsServer } from "../faults/nats_server.ts";
import { startMosquitto } from "../faults/mosquitto_broker.ts";
import { type DownlinkInstance, startDownlinkInstance } from "../faults/downlink_instance.ts";
import {
  type DockBehaviour,
  type RecordingDocks,
  startRecordingDocks,
} from "../faults/recording_docks.ts";
import { createApiClient, waitUntilReady } from "../faults/scenario_run.ts";
import type { SoakPlan } from "./soak_plan.ts";

export const SOAK_TENANT = "soak";
/** Downlink's schema and namespace in the soak's own servers. */
export const SOAK_SCHEMA = "soak";

export interface SoakStage {
  /** PostgreSQL's log, in the temp folder removed at the end. */
  postgresLog: string;
  /** Downlink's log lines at warn and above. */
  downlinkLog: string;
  databaseUrl: string;
  baseUrl: string;
  port: number;
  downlink: DownlinkInstance;
  docks: RecordingDocks;
  deviceIds: string[];
  client: { clientId: string; secret: string };
}

const log = (msg: string) => console.error(`[soak] ${msg}`);

/** Starts the stage; every piece registers its undo with faults/cleanup.ts as it comes up. */
export async function startSoakStage(plan: SoakPlan): Promise<SoakStage> {
  const root = mkdtempSync(join(tmpdir(), "downlink-soak-"));
  // PostgreSQL and Mosquitto run as their own users and must reach their folders inside.
  chmodSync(root, 0o755);
  onCleanup(`temp folder ${root}`, () => rmSync(root, { recursive: true, force: true }));

  const [postgres, nats, mosquitto] = await Promise.all([
    // The queue tables must stay small by Downlink's own vacuum (issue 16), not autovacuum's.
    startPostgresCluster(join(root, "postgres"), {
      // Checkpoints and lock waits in its log, which the run keeps: the likely causes of a stall.
      settings: {
        autovacuum: "off",
        log_checkpoints: "on",
        log_lock_waits: "on",
        // A statement over a second is named in the log kept beside the results.
        log_min_duration_statement: "1000",
      },
    }),
    startNatsServer(join(root, "nats")),
    startMosquitto(join(root, "mosquitto")),
  ]);
  for (
    const [what, s] of [["postgres", postgres], ["nats", nats], ["mosquitto", mosquitto]] as const
  ) {
    onCleanup(what, () => s.destroy());
  }
  log(`servers up: ${postgres.url} ${nats.url} ${mosquitto.url} (in ${root})`);

  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: postgres.url,
    NATS_URL: nats.url,
    MQTT_URL: mosquitto.url,
    HOST: "127.0.0.1",
    PORT: String(port),
    DOWNLINK_NAMESPACE: SOAK_SCHEMA,
    DOWNLINK_DB_SCHEMA: SOAK_SCHEMA,
    DOWNLINK_ROLES: "api,shard,bridge",
    DOWNLINK_INSTANCE_ID: "soak-a",
    // Its docks answer many uploads each and report no progress: with one job per class, each
    // upload would wait for the previous one's deadline (as a real dock's would for its end).
    DOWNLINK_HOLD_BY_CLASS: "false",
    // Nothing per command is logged at info; the process helper shows only error lines.
    DOWNLINK_LOG_LEVEL: "info",
  };
  const client = await createApiClient(env, {
    tenantId: SOAK_TENANT,
    name: "soak",
    devices: ["soak-dock-*"],
  });

  const deviceIds = Array.from({ length: plan.docks }, (_, i) => `soak-dock-${i}`);
  const answerZero: DockBehaviour = { result: 0 };
  const docks = await startRecordingDocks({
    mqttUrl: mosquitto.url,
    docks: new Map(deviceIds.map((sn) => [sn, answerZero])),
  });
  onCleanup("docks", () => docks.stop());

  const downlinkLog = join(root, "downlink-warnings.log");
  const downlink = await startDownlinkInstance(env, "soak", { warningsFile: downlinkLog });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilReady(baseUrl, 30_000);
  // Commands wait for their dock to be online: the load starts once Downlink knows them all.
  await docks.answered(30_000);
  log(`downlink ready on ${baseUrl} (pid ${downlink.current().pid}), docks online`);
  return {
    postgresLog: join(root, "postgres", "postgres.log"),
    downlinkLog,
    databaseUrl: postgres.url,
    baseUrl,
    port,
    downlink,
    docks,
    deviceIds,
    client,
  };
}
