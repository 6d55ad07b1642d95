// The operator's CLI (`npm run downlink -- <command>`): tenants, API clients and their grants,
// request signing for curl, and the dock simulator. Prints JSON; exits 1 with a clear message.
import process from "node:process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.ts";
import { createDataCipher } from "../crypto/data_key.ts";
import { createSql, type Sql } from "../store/db.ts";
import { runMigrations } from "../store/migrations.ts";
import { checkDataKey } from "../store/data_key_check.ts";
import {
  type ClientStore,
  ClientStoreError,
  createPostgresClientStore,
} from "../store/client_store.ts";
import { newNonce, signedHeaders } from "../http/signing.ts";

export interface CliIo {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Unix seconds for `sign` (default: the system clock). */
  now?: () => number;
}

export class CliError extends Error {
  override name = "CliError";
  readonly code = "CLI_USAGE";
}

const USAGE = `usage: npm run downlink -- <command>
  tenant create --id T [--name N]
  client create --tenant T --name N --devices P[,P] [--scopes S[,S]] [--skew SECONDS] [--replay-window SECONDS]
  client list [--tenant T]
  client disable --client C
  client enable --client C
  client rotate-secret --client C
  sign --client C --secret S [--method M] [--path P] [--body JSON | --body-file F]
       [--timestamp UNIX] [--nonce N] [--curl BASE_URL]
  dock simulate ...   (see: npm run downlink -- dock simulate --help)`;

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

function parse(argv: string[], options: Record<string, { type: "string" | "boolean" }>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true })
      .values as Record<
        string,
        string | undefined
      >;
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
    if (group === undefined || group === "help" || group === "--help" || group === "-h") {
      out(USAGE);
      return group === undefined ? 1 : 0;
    }
    if (group === "dock") {
      // Loaded only when asked for: the other commands need none of its MQTT machinery.
      const mod = await import("./dock_simulate.ts");
      return (await mod.runDockSimulatorCommand(argv.slice(1))) ?? 0;
    }
    if (group === "sign") return sign(argv.slice(1), out, io.now);
    const command = `${group} ${action ?? ""}`.trim();
    const run = COMMANDS[command];
    if (!run) throw new CliError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    const config = loadConfig(env);
    const sql = createSql(config, { max: 2 });
    try {
      await runMigrations(sql, config.dbSchema);
      const cipher = createDataCipher(config.dataKey);
      // A client made under a wrong key would have a secret the API cannot open.
      await checkDataKey(sql, cipher, config.dbSchema);
      const store = createPostgresClientStore(sql, cipher);
      out(JSON.stringify(await run(rest, store, sql), null, 2));
      return 0;
    } finally {
      await sql.end({ timeout: 1 });
    }
  } catch (e) {
    if (e instanceof CliError || e instanceof ClientStoreError || e instanceof ConfigError) {
      err(`downlink: ${e.message}`);
      return 1;
    }
    err(`downlink: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

type Command = (argv: string[], store: ClientStore, sql: Sql) => Promise<unknown>;

const COMMANDS: Record<string, Command> = {
  "tenant create": async (argv, store) => {
    const o = parse(argv, { id: { type: "string" }, name: { type: "string" } });
    const { tenant, created } = await store.createTenant(required("id", o.id), o.name);
    return { ...tenant, created };
  },
  "client create": async (argv, store) => {
    const o = parse(argv, {
      tenant: { type: "string" },
      name: { type: "string" },
      devices: { type: "string" },
      scopes: { type: "string" },
      skew: { type: "string" },
      "replay-window": { type: "string" },
    });
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
  "client list": async (argv, store) => {
    const o = parse(argv, { tenant: { type: "string" } });
    return await store.listClients(o.tenant);
  },
  "client disable": async (argv, store) => {
    const o = parse(argv, { client: { type: "string" } });
    return await store.setStatus(required("client", o.client), "DISABLED");
  },
  "client enable": async (argv, store) => {
    const o = parse(argv, { client: { type: "string" } });
    return await store.setStatus(required("client", o.client), "ACTIVE");
  },
  "client rotate-secret": async (argv, store) => {
    const o = parse(argv, { client: { type: "string" } });
    const { client, secret } = await store.rotateSecret(required("client", o.client));
    return { ...client, secret };
  },
};

function sign(argv: string[], out: (t: string) => void, now?: () => number): number {
  const o = parse(argv, {
    client: { type: "string" },
    secret: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    body: { type: "string" },
    "body-file": { type: "string" },
    timestamp: { type: "string" },
    nonce: { type: "string" },
    curl: { type: "string" },
  });
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
    timestamp: o.timestamp ?? String(now?.() ?? Math.floor(Date.now() / 1000)),
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
