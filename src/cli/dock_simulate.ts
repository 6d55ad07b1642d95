// A DJI dock simulator speaking the services envelope over MQTT: one or thousands of docks on a
// few connections, announcing themselves (update_topo, osd) and answering each command on
// services_reply. Used by tests, docs and benchmarks.
import process from "node:process";
import type { MqttClient } from "mqtt";
import { parseArgs } from "node:util";
import { connectMqtt } from "../bridge/mqtt_connection.ts";
import { type Clock, every, systemClock } from "../async/time.ts";
import { type CommandSpec, isHelp, parseArgsOptions, renderHelp } from "./command_help.ts";
import { createDockPresence, type DockPresenceOptions, type OfflineMode } from "./dock_presence.ts";
import { progressEvents, type ProgressScriptOptions } from "./progress_script.ts";
import { exclusivityClassOf } from "../vendors/dji/exclusivity_classes.ts";

/** A command as a simulated dock received it. */
export interface ReceivedCommand {
  sn: string;
  topic: string;
  tid?: string;
  bid?: string;
  method?: string;
  timestamp?: number;
  data: unknown;
  received_at: number;
}

/** How a dock answers one command; `null` stays silent. Fields override the defaults. */
export interface DockAnswer {
  data?: unknown;
  method?: string;
  tid?: string;
  bid?: string;
  delayMs?: number;
  /** Publish from another gateway's topic (tests: a reply from a foreign gateway). */
  fromSn?: string;
  /** Raw bytes instead of an envelope (tests: malformed replies). */
  raw?: string | Uint8Array;
}

export interface DockSimulatorOptions {
  mqttUrl: string;
  /** What the docks' timestamps and delays are read on (default: the system clock). */
  clock?: Clock;
  sn?: string;
  sns?: readonly string[];
  /** data.result of every answer (default 0). */
  result?: number;
  delayMs?: number;
  /** Answer with another method than the command's (→ UNMATCHED_RESPONSE). */
  methodMismatch?: boolean;
  /** Never answer (→ TIMED_OUT). */
  silent?: boolean;
  /** Decides each answer; overrides result/methodMismatch/silent. */
  answer?: (command: ReceivedCommand) => DockAnswer | null | undefined;
  /** Called for every command received, before answering. */
  onCommand?: (command: ReceivedCommand) => void;
  /** Number of MQTT connections the docks share (default 1). */
  connections?: number;
  /** QoS of answers (default 1). */
  qos?: 0 | 1;
  /** After a result 0 answer to a long job, report its progress on `events` (the method's
   * progress event, with the command's bid, several steps, ending ok or failed). */
  progress?: ProgressScriptOptions & { intervalMs?: number };
  /** Answers a job with this code while a job of the same exclusivity class runs on the dock
   * (until its last progress report), as a real dock does (e.g. 514116). */
  busyCode?: number;
  /** Keep every command received in `received` (default true; a long benchmark turns it off:
   * millions of kept commands would cost the simulator memory and garbage collection). */
  keep?: boolean;
  /** Presence as a real dock has it (default): update_topo with an aircraft on every connect, osd
   * every 2 s. `false`: a dock that never announces itself (Downlink holds its commands). */
  presence?: boolean | Omit<DockPresenceOptions, "sns">;
}

export interface DockSimulator {
  /** The serial numbers simulated. */
  sns: readonly string[];
  /** Every command received so far, in arrival order. */
  received: ReceivedCommand[];
  /** The events_reply each event's tid got, in arrival order (`progress.needReply`). */
  eventReplies: Array<{ tid?: string; method?: string; data?: unknown }>;
  /** Sends a `requests` message from dock `sn` (as a dock asks the cloud, e.g.
   * storage_config_get); resolves with its tid once the broker has it. Its answers land in
   * `requestReplies`. */
  request(sn: string, method: string, data?: unknown): Promise<string>;
  /** The requests_reply messages the docks got, in arrival order. */
  requestReplies: Array<{ sn: string; tid?: string; method?: string; data?: unknown }>;
  /** Publishes a raw message as if a dock sent it (tests: unknown tids, foreign gateways). */
  publish(topic: string, body: string | Uint8Array): Promise<void>;
  /** Resolves once every dock's latest update_topo was answered with its status_reply. */
  answered(ms?: number): Promise<void>;
  /** Goes offline: `silent` sends and answers nothing (commands that still arrive are kept in
   * `received`, unanswered); `empty-topology` tells its aircraft gone and stays online. */
  offline(mode?: OfflineMode): void;
  /** Comes back online: update_topo with its aircraft, osd again. */
  online(): void;
  /** update_topo messages a dock sent and status_reply messages it got. */
  presenceCounts(sn: string): { topo: number; replies: number };
  stop(): Promise<void>;
}

const SERVICES = /^thing\/product\/([^/]+)\/(services|drc\/down)$/;
/** Beyond this many docks per connection, one wildcard subscription replaces one per dock. */
const WILDCARD_ABOVE = 50;

export async function createDockSimulator(o: DockSimulatorOptions): Promise<DockSimulator> {
  const sns = [...(o.sns ?? []), ...(o.sn ? [o.sn] : [])];
  if (sns.length === 0) throw new Error("createDockSimulator needs sn or sns");
  const mine = new Set(sns);
  const connections = Math.max(1, Math.min(o.connections ?? 1, sns.length));
  const received: ReceivedCommand[] = [];
  const eventReplies: DockSimulator["eventReplies"] = [];
  const requestReplies: DockSimulator["requestReplies"] = [];
  /** The docks subscribed to their requests_reply (on their first request). */
  const asking = new Set<string>();
  /** `${sn} ${class}` → until when a job of the class runs on the dock (epoch ms). */
  const busyUntil = new Map<string, number>();
  const clients: MqttClient[] = [];
  const clock = o.clock ?? systemClock;
  const timers = new Set<unknown>();
  const qos = o.qos ?? 1;
  const tag = crypto.randomUUID().slice(0, 8);
  const presence = o.presence === false ? undefined : createDockPresence({
    sns,
    clock,
    ...(typeof o.presence === "object" ? o.presence : {}),
  });

  for (let i = 0; i < connections; i++) {
    const group = sns.filter((_, j) => j % connections === i);
    const client = await connectMqtt({
      url: o.mqttUrl,
      clientId: `dock-sim-${tag}-${i}`,
      clean: true,
      clock,
    });
    client.on("message", (topic, bytes) => {
      if (topic.endsWith("/events_reply")) return onEventReply(bytes);
      if (topic.endsWith("/requests_reply")) return onRequestReply(topic, bytes);
      onCommand(client, topic, bytes);
    });
    const topics = group.length > WILDCARD_ABOVE
      ? ["thing/product/+/services", "thing/product/+/drc/down"]
      : group.flatMap((sn) => [`thing/product/${sn}/services`, `thing/product/${sn}/drc/down`]);
    if (o.progress?.needReply) {
      topics.push(
        ...(group.length > WILDCARD_ABOVE
          ? ["thing/product/+/events_reply"]
          : group.map((sn) => `thing/product/${sn}/events_reply`)),
      );
    }
    await client.subscribeAsync(topics, { qos: 1 });
    clients.push(client);
    await presence?.attach(client, group);
  }

  function onEventReply(bytes: Uint8Array): void {
    try {
      const body = JSON.parse(new TextDecoder().decode(bytes));
      eventReplies.push({ tid: body.tid, method: body.method, data: body.data });
    } catch {
      // not an answer this dock can read
    }
  }

  function onRequestReply(topic: string, bytes: Uint8Array): void {
    try {
      const body = JSON.parse(new TextDecoder().decode(bytes));
      requestReplies.push({
        sn: topic.split("/")[2],
        tid: body.tid,
        method: body.method,
        data: body.data,
      });
    } catch {
      // not an answer this dock can read
    }
  }

  /** Reports the job's progress, one event per interval, after its accepting answer. */
  function reportProgress(client: MqttClient, command: ReceivedCommand, after: number): void {
    const events = progressEvents(command, o.progress, clock.now());
    const interval = o.progress?.intervalMs ?? 200;
    const kind = command.method ? exclusivityClassOf(command.method) : undefined;
    if (kind && events.length > 0) {
      busyUntil.set(`${command.sn} ${kind.name}`, clock.now() + after + interval * events.length);
    }
    events.forEach((e, i) => {
      const t = clock.setTimeout(() => {
        timers.delete(t);
        client.publish(e.topic, JSON.stringify(e.body), { qos: 1 });
      }, after + interval * (i + 1));
      timers.add(t);
    });
  }

  function onCommand(client: MqttClient, topic: string, bytes: Uint8Array): void {
    const m = SERVICES.exec(topic);
    if (!m || !mine.has(m[1])) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return; // a real dock ignores what it cannot read
    }
    const command: ReceivedCommand = {
      sn: m[1],
      topic,
      tid: body.tid as string | undefined,
      bid: body.bid as string | undefined,
      method: body.method as string | undefined,
      timestamp: body.timestamp as number | undefined,
      data: body.data,
      received_at: clock.now(),
    };
    if (o.keep !== false) received.push(command);
    // A silent dock has lost its link: it does not answer what still reaches its topic.
    if (presence?.silent) return;
    o.onCommand?.(command);
    const answer = o.answer ? o.answer(command) : busyAnswer(command) ?? defaultAnswer(command);
    if (answer === null || answer === undefined) return;
    const replyTopic = (sn: string) =>
      m[2] === "services" ? `thing/product/${sn}/services_reply` : `thing/product/${sn}/drc/up`;
    const payload = answer.raw ?? JSON.stringify({
      tid: answer.tid ?? command.tid,
      bid: answer.bid ?? command.bid,
      method: answer.method ?? command.method,
      timestamp: clock.now(),
      gateway: answer.fromSn ?? command.sn,
      data: answer.data ?? { result: o.result ?? 0 },
    });
    const send = () => {
      client.publish(replyTopic(answer.fromSn ?? command.sn), payload as string, { qos });
    };
    const delay = answer.delayMs ?? o.delayMs ?? 0;
    const accepted = answer.raw === undefined && m[2] === "services" &&
      isZero((answer.data as { result?: unknown } | undefined)?.result ?? o.result ?? 0);
    if (o.progress && accepted) reportProgress(client, command, Math.max(0, delay));
    if (delay <= 0) send();
    else {
      const t = clock.setTimeout(() => {
        timers.delete(t);
        send();
      }, delay);
      timers.add(t);
    }
  }

  /** The busy code, when a job of the command's class still runs on its dock. */
  function busyAnswer(command: ReceivedCommand): DockAnswer | undefined {
    if (o.busyCode === undefined || !command.method) return undefined;
    const kind = exclusivityClassOf(command.method);
    if (!kind) return undefined;
    const until = busyUntil.get(`${command.sn} ${kind.name}`);
    if (until === undefined || clock.now() >= until) return undefined;
    return { data: { result: o.busyCode } };
  }

  function defaultAnswer(command: ReceivedCommand): DockAnswer | null {
    if (o.silent) return null;
    return {
      data: { result: o.result ?? 0 },
      ...(o.methodMismatch ? { method: `${command.method ?? "unknown"}_mismatch` } : {}),
    };
  }

  return {
    sns,
    received,
    eventReplies,
    requestReplies,
    async request(sn, method, data = null) {
      const i = sns.indexOf(sn);
      if (i < 0) throw new Error(`${sn} is not a simulated dock`);
      const client = clients[i % connections];
      if (!asking.has(sn)) {
        await client.subscribeAsync(`thing/product/${sn}/requests_reply`, { qos: 1 });
        asking.add(sn);
      }
      const tid = crypto.randomUUID();
      await client.publishAsync(
        `thing/product/${sn}/requests`,
        JSON.stringify({
          tid,
          bid: crypto.randomUUID(),
          timestamp: clock.now(),
          gateway: sn,
          method,
          data,
        }),
        { qos: 1 },
      );
      return tid;
    },
    async publish(topic, body) {
      await clients[0].publishAsync(topic, body as string, { qos: 1 });
    },
    answered: (ms) => presence?.answered(ms) ?? Promise.resolve(),
    offline: (mode = "silent") => presence?.offline(mode),
    online: () => presence?.online(),
    presenceCounts: (sn) => presence?.counts(sn) ?? { topo: 0, replies: 0 },
    async stop() {
      presence?.stop();
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
      await Promise.allSettled(clients.map((c) => c.endAsync()));
    },
  };
}

const isZero = (v: unknown) => v === 0 || v === "0";

const SIMULATE: CommandSpec = {
  description: "Simulates DJI docks on MQTT: each announces itself with update_topo (and an " +
    "aircraft), pushes osd every 2 s, and answers every command on services_reply, until " +
    "interrupted. Prints one JSON line per command and per change of presence.",
  options: {
    sn: {
      value: "SN[,SN]",
      help: "serial number(s) of the simulated docks; may be repeated",
      required: true,
      multiple: true,
    },
    result: { value: "N", help: "the result code every answer carries (default 0: success)" },
    delay: { value: "MS", help: "wait this long before answering (default 0)" },
    "method-mismatch": { help: "answer with another method than the command's (a lying dock)" },
    silent: { help: "never answer (the command times out)" },
    "offline-after": {
      value: "SECONDS",
      help: "go offline this long after start (see --offline-mode)",
    },
    "offline-mode": {
      value: "MODE",
      help: "silent: send and answer nothing (default); empty-topology: the aircraft leaves",
    },
    "online-after": { value: "SECONDS", help: "come back online this long after going offline" },
    progress: {
      help: "after answering a long job with result 0, report its progress event on events " +
        "(the command's bid, several steps, ending ok)",
    },
    "progress-fail": { value: "CODE", help: "with --progress: end the job failed with CODE" },
    "busy-code": {
      value: "CODE",
      help: "with --progress: answer a job with CODE while one of its class runs (e.g. 514116)",
    },
    "need-reply": {
      help: "with --progress: ask for events_reply and report whether each came",
    },
    request: {
      value: "METHOD",
      help: "once online, each dock sends this request (e.g. flight_areas_get, " +
        "storage_config_get) and reports the requests_reply it gets; may be repeated",
      multiple: true,
    },
    mqtt: { value: "URL", help: "the broker (default: MQTT_URL, else mqtt://127.0.0.1:1883)" },
  },
};
const PROGRAM = "npm run downlink --";

/** `downlink dock simulate ...`: runs simulated docks until interrupted. */
export async function runDockSimulatorCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const help = renderHelp(PROGRAM, "dock simulate", SIMULATE);
  if (action !== "simulate") {
    if (action !== undefined && isHelp([action])) {
      console.log(help);
      return 0;
    }
    console.error(help);
    return 2;
  }
  if (isHelp(rest)) {
    console.log(help);
    return 0;
  }
  const int = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) {
      throw new Error(`--${name} must be an integer, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  let sns: string[];
  let result: number;
  let delayMs: number;
  let methodMismatch: boolean;
  let silent: boolean;
  let mqttUrl: string;
  let offlineAfter: number | undefined;
  let onlineAfter: number | undefined;
  let offlineMode: OfflineMode;
  let progress: { failCode?: number; needReply: boolean } | undefined;
  let busyCode: number | undefined;
  let requests: string[];
  try {
    const o = parseArgs({
      args: rest,
      options: parseArgsOptions(SIMULATE),
      allowPositionals: false,
      strict: true,
    }).values as Record<string, string | string[] | boolean | undefined>;
    sns = ((o.sn as string[] | undefined) ?? []).flatMap((v) => v.split(",")).filter(Boolean);
    result = int("result", o.result as string | undefined, 0);
    delayMs = int("delay", o.delay as string | undefined, 0);
    methodMismatch = o["method-mismatch"] === true;
    silent = o.silent === true;
    if (o.progress === true) {
      const fail = o["progress-fail"] as string | undefined;
      progress = {
        needReply: o["need-reply"] === true,
        ...(fail !== undefined ? { failCode: int("progress-fail", fail, 0) } : {}),
      };
    } else if (
      o["progress-fail"] !== undefined || o["need-reply"] === true || o["busy-code"] !== undefined
    ) {
      throw new Error("--progress-fail, --need-reply and --busy-code need --progress");
    }
    requests = ((o.request as string[] | undefined) ?? []).flatMap((v) => v.split(","))
      .filter(Boolean);
    const busy = o["busy-code"] as string | undefined;
    if (busy !== undefined) busyCode = int("busy-code", busy, 0);
    mqttUrl = (o.mqtt as string | undefined) ?? process.env.MQTT_URL ?? "mqtt://127.0.0.1:1883";
    const seconds = (name: string) => {
      const v = o[name] as string | undefined;
      if (v === undefined) return undefined;
      if (!/^\d+(\.\d+)?$/.test(v)) {
        throw new Error(`--${name} must be a number of seconds, got ${JSON.stringify(v)}`);
      }
      return Number(v);
    };
    offlineAfter = seconds("offline-after");
    onlineAfter = seconds("online-after");
    const mode = (o["offline-mode"] as string | undefined) ?? "silent";
    if (mode !== "silent" && mode !== "empty-topology") {
      throw new Error(
        `--offline-mode must be silent or empty-topology, got ${JSON.stringify(mode)}`,
      );
    }
    offlineMode = mode;
    if (onlineAfter !== undefined && offlineAfter === undefined) {
      throw new Error("--online-after needs --offline-after");
    }
  } catch (err) {
    console.error(`dock simulate: ${(err as Error).message}\n${help}`);
    return 2;
  }
  if (sns.length === 0) {
    console.error(`dock simulate: --sn is required\n${help}`);
    return 2;
  }
  // This command is its own composition root: the docks run on the system's clock.
  const clock = systemClock;
  const sim = await createDockSimulator({
    mqttUrl,
    clock,
    sns,
    result,
    delayMs,
    methodMismatch,
    silent,
    ...(progress ? { progress } : {}),
    ...(busyCode !== undefined ? { busyCode } : {}),
    onCommand: (c) => {
      // The method and ids only: a command's data may hold credentials.
      console.log(JSON.stringify({
        received: c.method,
        sn: c.sn,
        tid: c.tid,
        bid: c.bid,
        answer: silent ? "none" : methodMismatch ? "method mismatch" : { result },
      }));
    },
  });
  console.log(
    JSON.stringify({ simulating: sns, mqtt: mqttUrl, result, delayMs, silent, methodMismatch }),
  );
  // Downlink answered each dock's update_topo: it knows them online from now on.
  sim.answered(60_000).then(
    async () => {
      console.log(JSON.stringify({ online: sns, status_reply: "received" }));
      for (const sn of sns) {
        for (const method of requests) {
          console.log(JSON.stringify({ request: method, sn, tid: await sim.request(sn, method) }));
        }
      }
    },
    (err) => console.error(`dock simulate: ${(err as Error).message}`),
  );
  const timers: unknown[] = [];
  if (offlineAfter !== undefined) {
    timers.push(clock.setTimeout(() => {
      sim.offline(offlineMode);
      console.log(JSON.stringify({ offline: sns, mode: offlineMode }));
      if (onlineAfter === undefined) return;
      timers.push(clock.setTimeout(() => {
        sim.online();
        console.log(JSON.stringify({ online: sns }));
      }, onlineAfter * 1_000));
    }, offlineAfter * 1_000));
  }
  // With --need-reply: one line per events_reply received, naming the event it answers; with
  // --request, one per requests_reply.
  let told = 0;
  let toldRequests = 0;
  const replies = progress?.needReply || requests.length > 0
    ? every(clock, 100, () => {
      for (; told < sim.eventReplies.length; told++) {
        const r = sim.eventReplies[told];
        console.log(JSON.stringify({ events_reply: r.method, tid: r.tid, data: r.data }));
      }
      for (; toldRequests < sim.requestReplies.length; toldRequests++) {
        const r = sim.requestReplies[toldRequests];
        console.log(
          JSON.stringify({ requests_reply: r.method, sn: r.sn, tid: r.tid, data: r.data }),
        );
      }
    })
    : undefined;
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  for (const t of timers) clock.clearTimeout(t);
  replies?.();
  await sim.stop();
  return 0;
}
