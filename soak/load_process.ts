// The soak's steady load, run in a process of its own. Accept latency is timed where the
// requests are sent, so a pause of the soak's main process (100 docks, the per-minute readings and
// every submission kept, whose collections grow with the run) would be counted as Downlink being
// slow, and would look like drift. The load process has its own heap and event loop: what it
// times is the request's round trip. Submissions come back to the main process in batches. (A
// process, not a worker thread: on Node 20 a worker does not inherit tsx's module hooks.)
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSteadyLoad, type SteadyLoad, type Submission } from "../faults/steady_load.ts";

type LoadOptions = Parameters<typeof startSteadyLoad>[0];

/** What the load process posts: requests sent since its last post (in send order), then answers. */
interface LoadBatch {
  sent: [key: string, deviceId: string, sentAt: number][];
  answered: [index: number, status: number, latencyMs: number, commandId?: string, code?: string][];
  stopped?: true;
}

const POST_EVERY_MS = 200;
const POSTED: Submission = Object.freeze({ key: "", deviceId: "", sentAt: 0, status: -1 });

/** Set in the load process's environment; its value is the load's options as JSON. */
const LOAD_ENV = "DOWNLINK_SOAK_LOAD";

/** Starts the load in a child process; `submissions` fills as it reports. */
export function startLoadProcess(o: LoadOptions): SteadyLoad {
  const submissions: Submission[] = [];
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, [LOAD_ENV]: JSON.stringify(o) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let onStopped: (() => void) | undefined;
  const stopped = new Promise<void>((r) => onStopped = r);
  child.on("message", (batch: LoadBatch) => {
    for (const [key, deviceId, sentAt] of batch.sent) submissions.push({ key, deviceId, sentAt });
    for (const [i, status, latencyMs, commandId, code] of batch.answered) {
      Object.assign(submissions[i], { status, latencyMs, commandId, code });
    }
    if (batch.stopped) onStopped!();
  });
  child.on("error", (err) => {
    console.error(`[soak] load process failed: ${err.stack ?? err}`);
    onStopped!();
  });
  child.on("exit", (code) => {
    if (code) console.error(`[soak] load process exited with ${code}`);
    onStopped!();
  });
  return {
    submissions,
    async stop(graceMs) {
      if (child.connected) child.send({ stop: graceMs });
      await stopped;
      child.kill();
    },
  };
}

function runLoadProcess(o: LoadOptions): void {
  const load = startSteadyLoad(o);
  let reported = 0;
  // Sent and reported, not yet answered (an open loop rarely has more than a few).
  let waiting: number[] = [];
  const post = (stopped?: true) => {
    const batch: LoadBatch = { sent: [], answered: [] };
    for (; reported < load.submissions.length; reported++) {
      const s = load.submissions[reported];
      batch.sent.push([s.key, s.deviceId, s.sentAt]);
      waiting.push(reported);
    }
    const still: number[] = [];
    for (const i of waiting) {
      const s = load.submissions[i];
      if (s.status === undefined) still.push(i);
      else {
        batch.answered.push([i, s.status, s.latencyMs!, s.commandId, s.code]);
        // The main process keeps it now; this heap stays the size of what is in flight.
        load.submissions[i] = POSTED;
      }
    }
    waiting = still;
    if (stopped) batch.stopped = true;
    process.send!(batch);
  };
  const timer = setInterval(post, POST_EVERY_MS);
  process.on("message", async (msg: { stop: number }) => {
    clearInterval(timer);
    await load.stop(msg.stop);
    post(true);
    process.disconnect();
  });
  // The soak gone (killed, or its cleanup failed): no load without it.
  process.on("disconnect", () => process.exit(0));
}

if (process.env[LOAD_ENV] && process.send) runLoadProcess(JSON.parse(process.env[LOAD_ENV]));
