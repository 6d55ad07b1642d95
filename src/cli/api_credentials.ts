// Where the CLI's API commands find Downlink and the client to sign as: flags first, then the
// environment, then a client file as `client create --out` writes it.
import { existsSync, readFileSync } from "node:fs";
import type { OptionSpec } from "./command_help.ts";

export interface ApiCredentials {
  baseUrl: string;
  clientId: string;
  secret: string;
  /** The client's tenant, when the client file names it (events watch uses it). */
  tenantId?: string;
}

/** Files tried, in order, when neither --client-file nor DOWNLINK_CLIENT_FILE names one. */
export const CLIENT_FILES = [".downlink/client.json", "client.json"];

export const DEFAULT_URL = "http://127.0.0.1:8080";

export const CREDENTIAL_OPTIONS: Record<string, OptionSpec> = {
  url: { value: "URL", help: `Downlink's base URL (DOWNLINK_URL; default ${DEFAULT_URL})` },
  client: { value: "C", help: "the API client id, ak_... (DOWNLINK_API_ID)" },
  secret: { value: "S", help: "the client's secret (DOWNLINK_API_SECRET)" },
  "client-file": {
    value: "F",
    help:
      `JSON with client_id and secret, as client create --out writes it (DOWNLINK_CLIENT_FILE; ` +
      `default: the first of ${CLIENT_FILES.join(", ")} that exists)`,
  },
};

export class CredentialsError extends Error {
  override name = "CredentialsError";
}

interface ClientFile {
  client_id?: string;
  secret?: string;
  tenant_id?: string;
  url?: string;
}

function readClientFile(path: string): ClientFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CredentialsError(`cannot read the client file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) return parsed as ClientFile;
  } catch {
    // Reported below with the file named.
  }
  throw new CredentialsError(`the client file ${path} is not a JSON object`);
}

/** The credentials from `options` (flags), then `env`, then the client file. */
export function resolveCredentials(
  options: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  cwd = ".",
): ApiCredentials {
  const named = options["client-file"] ?? env.DOWNLINK_CLIENT_FILE;
  const path = named ??
    CLIENT_FILES.map((f) => `${cwd}/${f}`).find((f) => existsSync(f));
  const needFile = !(options.client ?? env.DOWNLINK_API_ID) ||
    !(options.secret ?? env.DOWNLINK_API_SECRET);
  const file: ClientFile = path && (named || needFile) ? readClientFile(path) : {};
  const clientId = options.client ?? env.DOWNLINK_API_ID ?? file.client_id;
  const secret = options.secret ?? env.DOWNLINK_API_SECRET ?? file.secret;
  if (!clientId || !secret) {
    throw new CredentialsError(
      `no API client to sign as: give --client and --secret, set DOWNLINK_API_ID and ` +
        `DOWNLINK_API_SECRET, or write a client file (client create ... --out ${CLIENT_FILES[0]})` +
        (path ? `; ${path} lacks ${!clientId ? "client_id" : "secret"}` : ""),
    );
  }
  return {
    baseUrl: options.url ?? env.DOWNLINK_URL ?? file.url ?? DEFAULT_URL,
    clientId,
    secret,
    tenantId: file.tenant_id,
  };
}
