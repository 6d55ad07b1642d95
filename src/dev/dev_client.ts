// The development tenant and API client: made on the first start in development, their id and
// secret printed that once and kept in the client file the CLI reads (.downlink/client.json),
// so `npm run downlink -- command send ...` works right after `npm start`.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ClientStore } from "../store/client_store.ts";

export const DEV_TENANT = "dev";

export interface DevClientOptions {
  store: ClientStore;
  /** The client file, e.g. .downlink/client.json. */
  file: string;
  /** Downlink's base URL, written into the file for the CLI. */
  url: string;
  say: (line: string) => void;
}

interface ClientFile {
  client_id?: string;
  secret?: string;
  url?: string;
  [key: string]: unknown;
}

function readFile(file: string): ClientFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function writeFile(file: string, content: ClientFile): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(content, null, 2) + "\n", { mode: 0o600 });
  // writeFileSync's mode applies only to a file it creates.
  chmodSync(file, 0o600);
}

/** Keeps the client of `file` when this database knows it with that secret; else creates the
 * development client, prints it with its secret and writes `file`. Resolves with the client id. */
export async function ensureDevClient(o: DevClientOptions): Promise<string> {
  const existing = readFile(o.file);
  if (existing?.client_id && existing.secret) {
    const known = await o.store.findCredentials(existing.client_id);
    if (known?.secret === existing.secret && known.status === "ACTIVE") {
      if (existing.url !== o.url) writeFile(o.file, { ...existing, url: o.url });
      o.say(`API client ${known.client_id} (tenant ${known.tenant_id}) from ${o.file}`);
      return known.client_id;
    }
    o.say(`the client in ${o.file} is not an active client of this database: making a new one`);
  }
  const { client, secret } = await o.store.createClient({
    tenantId: DEV_TENANT,
    name: "development",
    devices: ["*"],
  });
  writeFile(o.file, { ...client, secret, url: o.url });
  o.say(
    `created the development tenant ${client.tenant_id} and API client ${client.client_id} ` +
      `(every device); its secret, shown this once: ${secret}`,
  );
  o.say(`  written to ${o.file} (mode 0600), which npm run downlink -- command ... reads`);
  return client.client_id;
}
