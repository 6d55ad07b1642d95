// The CLI (`npm run downlink -- <command>`): for operators, tenants, API clients and their grants,
// request signing for curl and the dock simulator; for API callers, sending, reading, listing and
// waiting for commands and watching their events. Exits 1 with a clear message.
import process from "node:process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../runtime/config.ts";
import type { Sql } from "../store/db.ts";
import { type ClientStore, ClientStoreError } from "../store/client_store.ts";
import { newNonce, signedHeaders } from "../http/signing.ts";
import { type CommandSpec, isHelp, parseArgsOptions, renderHelp } from "./command_help.ts";
import { API_COMMANDS, type ApiCommand, apiErrorLines, UsageError } from "./api_commands.ts";
import { CredentialsError } from "./api_credentials.ts";
import { EVENTS_WATCH } from "./events_watch.ts";
import { DEVICES_COMMANDS } from "./devices_commands.ts";
import { DEVICE_REQUESTS_COMMANDS } from "./device_requests_commands.ts";
import { DownlinkApiError } from "../client/api_errors.ts";
import { systemClock } from "../async/time.ts";

export interface CliIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Unix seconds for `sign` (default: the system clock). */
  now?: () => number;
  /** Stops a command that follows or watches (`--wait`, `events watch`). */
  signal?: AbortSignal;
}

export class CliError extends Error {
  override name = "CliError";
  readonly code = "CLI_USAGE";
}

const PROGRAM = "npm run downlink --";

const list = (v: string | undefined) =>
  (v ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) {
    throw new CliError(`--${name} must be a whole number of seconds, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function required(name: string, v: string | undefined): string {
  if (v === undefined || v === "") throw new CliError(`--${name} is required`);
  return v;
}

/** The options and positional arguments of a command that takes some (`command get <id>`). */
function parseWithPositionals(argv: string[], spec: CommandSpec) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: parseArgsOptions(spec),
      allowPositionals: spec.arguments !== undefined,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function parse(argv: string[], spec: CommandSpec) {
  try {
    return parseArgs({
      args: argv,
      options: parseArgsOptions(spec),
      allowPositionals: false,
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Runs one CLI command; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => process.stdout.write(t + "\n"));
  const err = io.stderr ?? ((t: string) => process.stderr.write(t + "\n"));
  const env = io.env ?? process.env;
  const [group, action, ...rest] = argv;
  try {
    if (
      group === undefined || group === "help" || isHelp([group]) ||
      (action !== undefined && isHelp([action]) && group !== "sign" && group !== "dock")
    ) {
      out(usage());
      return group === undefined ? 1 : 0;
    }
    if (group === "dock") {
      // Loaded only when asked for: the other commands need none of its MQTT machinery.
      const mod = await import("./dock_simulate.ts");
      return (await mod.runDockSimulatorCommand(argv.slice(1))) ?? 0;
    }
    if (group === "sign") {
      if (isHelp(argv.slice(1))) {
        out(renderHelp(PROGRAM, "sign", SIGN));
        return 0;
      }
      return sign(argv.slice(1), out, io.now);
    }
    const command = `${group} ${action ?? ""}`.trim();
    const apiEntry: ApiCommand | undefined = API_COMMANDS[command] ?? DEVICES_COMMANDS[command] ??
      DEVICE_REQUESTS_COMMANDS[command] ??
      (command === "events watch" ? EVENTS_WATCH : undefined);
    if (apiEntry) {
      if (isHelp(rest)) {
        out(renderHelp(PROGRAM, command, apiEntry.spec));
        return 0;
      }
      const { values, positionals } = parseWithPositionals(rest, apiEntry.spec);
      return await apiEntry.run(values, positionals, { env, out, err, signal: io.signal });
    }
    const entry = COMMANDS[command];
    if (!entry) throw new CliError(`unknown command ${JSON.stringify(command)}\n${usage()}`);
    // Before the configuration and the database: help must work where neither does.
    if (isHelp(rest)) {
      out(renderHelp(PROGRAM, command, entry.spec));
      return 0;
    }
    const options = parse(rest, entry.spec);
    const config = loadConfig(env);
    // Loaded here, not at the top: the root brings every role's modules, which help, sign and
    // the API commands do not need.
    const { openStorage } = await import("../composition_root.ts");
    // Migrated, and the data key checked: a client made under a wrong key would have a secret
    // the API cannot open.
    const storage = await openStorage(config, { poolSize: 2 });
    try {
      const result = await entry.run(options, storage.clients, storage.sql);
      if (options.out !== undefined) {
        // A secret goes to a file only its owner can read, never through the terminal.
        mkdirSync(dirname(options.out), { recursive: true });
        writeFileSync(options.out, JSON.stringify(result, null, 2) + "\n", { mode: 0o600 });
        chmodSync(options.out, 0o600);
        const { secret: _secret, ...shown } = result as Record<string, unknown>;
        out(JSON.stringify({ ...shown, written_to: options.out }, null, 2));
      } else {
        out(JSON.stringify(result, null, 2));
      }
      return 0;
    } finally {
      await storage.close();
    }
  } catch (e) {
    if (e instanceof DownlinkApiError) {
      for (const line of apiErrorLines(e)) err(line);
      return 1;
    }
    if (e instanceof TypeError && e.message === "fetch failed") {
      // fetch names neither the address nor the cause in its message.
      const cause = (e.cause as Error | undefined)?.message ?? "no answer";
      err(`downlink: cannot reach Downlink (--url, DOWNLINK_URL): ${cause}`);
      return 1;
    }
    if (
      e instanceof CliError || e instanceof ClientStoreError || e instanceof ConfigError ||
      e instanceof UsageError || e instanceof CredentialsError
    ) {
      err(`downlink: ${e.message}`);
      return 1;
    }
    err(`downlink: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

type Options = Record<string, string | undefined>;

interface Command {
  spec: CommandSpec;
  run(o: Options, store: ClientStore, sql: Sql): Promise<unknown>;
}

const CLIENT_OPTION: CommandSpec["options"] = {
  client: { value: "C", help: "the client id (ak_...)", required: true },
};

const COMMANDS: Record<string, Command> = {
  "tenant create": {
    spec: {
      description: "Creates a tenant; prints it with created=false when it already exists.",
      options: {
        id: { value: "T", help: "the tenant id", required: true },
        name: { value: "N", help: "a display name (default: the id)" },
      },
    },
    run: async (o, store) => {
      const { tenant, created } = await store.createTenant(required("id", o.id), o.name);
      return { ...tenant, created };
    },
  },
  "client create": {
    spec: {
      description: "Creates an API client and prints it with its secret, shown this once. " +
        "The tenant is created when missing.",
      options: {
        tenant: { value: "T", help: "the tenant id", required: true },
        name: { value: "N", help: "a name for the client", required: true },
        devices: {
          value: "P[,P]",
          help: "device serial patterns the client may command (* matches any suffix)",
          required: true,
        },
        scopes: {
          value: "S[,S]",
          help: "scopes (default: all of open:command:create,open:command:read," +
            "open:device:read,open:device-request:read,open:device-request:create)",
        },
        skew: { value: "SECONDS", help: "allowed clock skew of signed requests (default 300)" },
        "replay-window": {
          value: "SECONDS",
          help: "how long a nonce stays used (default 300)",
        },
        out: {
          value: "F",
          help: "write the client with its secret to F (mode 0600; the API commands read " +
            ".downlink/client.json) and print it without the secret",
        },
      },
    },
    run: async (o, store) => {
      const { client, secret, tenantCreated } = await store.createClient({
        tenantId: required("tenant", o.tenant),
        name: required("name", o.name),
        devices: list(required("devices", o.devices)),
        scopes: list(o.scopes),
        allowedClockSkewSeconds: intOption("skew", o.skew),
        replayWindowSeconds: intOption("replay-window", o["replay-window"]),
      });
      // The only time the secret is ever shown.
      return { ...client, secret, tenant_created: tenantCreated };
    },
  },
  "client list": {
    spec: {
      description: "Lists API clients (never their secrets).",
      options: { tenant: { value: "T", help: "only this tenant's clients" } },
    },
    run: async (o, store) => await store.listClients(o.tenant),
  },
  "client disable": {
    spec: { description: "Disables a client: its requests are refused.", options: CLIENT_OPTION },
    run: async (o, store) => await store.setStatus(required("client", o.client), "DISABLED"),
  },
  "client enable": {
    spec: { description: "Enables a disabled client again.", options: CLIENT_OPTION },
    run: async (o, store) => await store.setStatus(required("client", o.client), "ACTIVE"),
  },
  "client rotate-secret": {
    spec: {
      description: "Gives a client a new secret, printed once; the old one stops working.",
      options: CLIENT_OPTION,
    },
    run: async (o, store) => {
      const { client, secret } = await store.rotateSecret(required("client", o.client));
      return { ...client, secret };
    },
  },
};

const SIGN: CommandSpec = {
  description: "Prints the signature headers (X-Api-*) of one request. With --curl, a ready " +
    "curl command line instead; needs no database.",
  options: {
    client: { value: "C", help: "the client id", required: true },
    secret: { value: "S", help: "the client's secret", required: true },
    method: { value: "M", help: "HTTP method (default: POST with a body, else GET)" },
    path: {
      value: "P",
      help: "path and query (default /api/v1/open/downlink/commands)",
    },
    body: { value: "JSON", help: "the request body" },
    "body-file": { value: "F", help: "read the body from file F" },
    timestamp: { value: "UNIX", help: "the timestamp to sign (default: now)" },
    nonce: { value: "N", help: "the nonce (default: a fresh one)" },
    curl: { value: "BASE_URL", help: "print a curl command for BASE_URL instead" },
  },
};

/** The top-level help: every command with the first sentence of its description. */
function usage(): string {
  const rows: [string, string][] = [
    ...Object.entries(COMMANDS).map(([name, c]) => [name, c.spec.description] as [string, string]),
    ["sign", SIGN.description],
    ["dock simulate", "Simulates DJI docks on MQTT, answering the commands sent to them."],
    ...Object.entries(API_COMMANDS).map(([name, c]) =>
      [name, c.spec.description] as [string, string]
    ),
    ...Object.entries(DEVICES_COMMANDS).map(([name, c]) =>
      [name, c.spec.description] as [string, string]
    ),
    ...Object.entries(DEVICE_REQUESTS_COMMANDS).map(([name, c]) =>
      [name, c.spec.description] as [string, string]
    ),
    ["events watch", EVENTS_WATCH.spec.description],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const first = (text: string) => text.replace(/\.\s.*$/s, ".");
  return [
    `usage: ${PROGRAM} <command> [options]`,
    "",
    "Operator commands for Downlink: tenants, API clients, request signing, a dock simulator.",
    "The tenant and client commands use DATABASE_URL, DOWNLINK_DB_SCHEMA and DOWNLINK_DATA_KEY.",
    "The command commands sign as an API client: --client/--secret, DOWNLINK_API_ID and",
    "DOWNLINK_API_SECRET, or a client file (.downlink/client.json); DOWNLINK_URL names Downlink.",
    "",
    "commands:",
    ...rows.map(([name, text]) => `  ${name.padEnd(width)}${first(text)}`),
    "",
    `Each command takes --help, e.g. ${PROGRAM} client create --help`,
  ].join("\n");
}

function sign(argv: string[], out: (t: string) => void, now?: () => number): number {
  const o = parse(argv, SIGN);
  if (o.body !== undefined && o["body-file"] !== undefined) {
    throw new CliError("give --body or --body-file, not both");
  }
  const body = o["body-file"] !== undefined ? readFileSync(o["body-file"], "utf8") : o.body;
  const method = (o.method ?? (body !== undefined ? "POST" : "GET")).toUpperCase();
  const target = o.path ?? "/api/v1/open/downlink/commands";
  const q = target.indexOf("?");
  const headers = signedHeaders(required("secret", o.secret), {
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? "" : target.slice(q + 1),
    clientId: required("client", o.client),
    timestamp: o.timestamp ?? String(now?.() ?? Math.floor(systemClock.now() / 1000)),
    nonce: o.nonce ?? newNonce(),
    body: body ?? "",
  });
  if (o.curl === undefined) {
    for (const [k, v] of Object.entries(headers)) out(`${k}: ${v}`);
    return 0;
  }
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const lines = [`curl -X ${method} ${quote(o.curl.replace(/\/+$/, "") + target)}`];
  if (body !== undefined) lines.push(`-H 'Content-Type: application/json'`);
  for (const [k, v] of Object.entries(headers)) lines.push(`-H ${quote(`${k}: ${v}`)}`);
  if (body !== undefined) lines.push(`--data-binary ${quote(body)}`);
  out(lines.join(" \\\n  "));
  return 0;
}

function isEntryPoint(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  return !!script && resolve(script) === fileURLToPath(import.meta.url);
}

if (isEntryPoint()) {
  process.exitCode = await runCli(process.argv.slice(2));
}
