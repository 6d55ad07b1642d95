// Tenants, API clients (secret sealed with the data key, aad = client_id) and device grants.
// Used by the CLI to manage credentials and by the API's signature check to find a client.
import { randomBytes } from "node:crypto";
import type { DataCipher } from "../crypto/data_key.ts";
import type { Sql } from "./db.ts";

export const SCOPES = [
  "open:command:create",
  "open:command:read",
  "open:device:read",
  "open:device-request:read",
  "open:device-request:create",
] as const;
export type Scope = typeof SCOPES[number];
export type ClientStatus = "ACTIVE" | "DISABLED";

export const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
// A device id (see the API's rule) optionally ending in `*`, or `*` alone for every device.
export const DEVICE_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63}\*?)$/;

export interface Tenant {
  tenant_id: string;
  name: string;
  created_at: Date;
}

/** A client as listed: never the secret. */
export interface ClientInfo {
  client_id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  devices: string[];
  status: ClientStatus;
  allowed_clock_skew_seconds: number;
  replay_window_seconds: number;
  created_at: Date;
  updated_at: Date;
}

/** A client with its opened secret, as the signature check needs it. */
export interface ClientCredentials extends ClientInfo {
  secret: string;
}

export interface NewClient {
  tenantId: string;
  name: string;
  devices: string[];
  scopes?: string[];
  allowedClockSkewSeconds?: number;
  replayWindowSeconds?: number;
}

export class ClientStoreError extends Error {
  override name = "ClientStoreError";
  constructor(readonly code: "INVALID_ARGUMENT" | "NOT_FOUND" | "ALREADY_EXISTS", message: string) {
    super(message);
  }
}

export interface ClientStore {
  createTenant(tenantId: string, name?: string): Promise<{ tenant: Tenant; created: boolean }>;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  /** Creates the client (and its tenant when missing); the secret is returned only here. */
  createClient(
    input: NewClient,
  ): Promise<{ client: ClientInfo; secret: string; tenantCreated: boolean }>;
  listClients(tenantId?: string): Promise<ClientInfo[]>;
  setStatus(clientId: string, status: ClientStatus): Promise<ClientInfo>;
  rotateSecret(clientId: string): Promise<{ client: ClientInfo; secret: string }>;
  /** The client with its opened secret, whatever its status; undefined when unknown. */
  findCredentials(clientId: string): Promise<ClientCredentials | undefined>;
}

export const newClientId = (): string => `ak_${randomBytes(12).toString("hex")}`;
/** 32 random bytes, base64url, behind a prefix: a bare base64url secret starts with '-' one time
 * in 64, and a command line then reads it as an option (`--secret -x…`). */
export const newSecret = (): string => `sk_${randomBytes(32).toString("base64url")}`;

/** True when `deviceId` matches one of the patterns (exact, or prefix before a trailing `*`). */
export function deviceGranted(patterns: readonly string[], deviceId: string): boolean {
  for (const p of patterns) {
    if (p.endsWith("*") ? deviceId.startsWith(p.slice(0, -1)) : p === deviceId) return true;
  }
  return false;
}

function validateNewClient(input: NewClient): void {
  if (!TENANT_ID.test(input.tenantId)) {
    throw new ClientStoreError(
      "INVALID_ARGUMENT",
      `tenant id must match ${TENANT_ID.source}, got ${JSON.stringify(input.tenantId)}`,
    );
  }
  if (input.name.trim() === "" || input.name.length > 200) {
    throw new ClientStoreError("INVALID_ARGUMENT", "client name must be 1-200 characters");
  }
  if (input.devices.length === 0) {
    throw new ClientStoreError("INVALID_ARGUMENT", "a client needs at least one device pattern");
  }
  for (const d of input.devices) {
    if (!DEVICE_PATTERN.test(d)) {
      throw new ClientStoreError(
        "INVALID_ARGUMENT",
        `device pattern must be a device id with an optional trailing *, got ${JSON.stringify(d)}`,
      );
    }
  }
  for (const s of input.scopes ?? []) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new ClientStoreError(
        "INVALID_ARGUMENT",
        `scope must be one of ${SCOPES.join(", ")}, got ${JSON.stringify(s)}`,
      );
    }
  }
  for (
    const [label, value, min] of [
      ["allowed clock skew", input.allowedClockSkewSeconds, 0],
      ["replay window", input.replayWindowSeconds, 1],
    ] as const
  ) {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= 3600)) {
      throw new ClientStoreError(
        "INVALID_ARGUMENT",
        `${label} must be ${min}-3600 seconds, got ${value}`,
      );
    }
  }
}

interface ClientRow {
  client_id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  devices: string[] | null;
  status: ClientStatus;
  allowed_clock_skew_seconds: number;
  replay_window_seconds: number;
  created_at: Date;
  updated_at: Date;
  secret_enc?: Uint8Array;
}

function toInfo(row: ClientRow): ClientInfo {
  return {
    client_id: row.client_id,
    tenant_id: row.tenant_id,
    name: row.name,
    scopes: row.scopes,
    devices: row.devices ?? [],
    status: row.status,
    allowed_clock_skew_seconds: row.allowed_clock_skew_seconds,
    replay_window_seconds: row.replay_window_seconds,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function createPostgresClientStore(sql: Sql, cipher: DataCipher): ClientStore {
  const selectClients = (where: ReturnType<Sql>) =>
    sql<ClientRow[]>`
      select c.client_id, c.tenant_id, c.name, c.scopes, c.status, c.secret_enc,
             c.allowed_clock_skew_seconds, c.replay_window_seconds, c.created_at, c.updated_at,
             array(select g.pattern from device_grants g where g.client_id = c.client_id
                   order by g.pattern) as devices
      from api_clients c ${where}
      order by c.tenant_id, c.created_at, c.client_id`;

  const getInfo = async (clientId: string): Promise<ClientInfo> => {
    const [row] = await selectClients(sql`where c.client_id = ${clientId}`);
    if (!row) throw new ClientStoreError("NOT_FOUND", `no client ${JSON.stringify(clientId)}`);
    return toInfo(row);
  };

  const store: ClientStore = {
    async createTenant(tenantId, name) {
      if (!TENANT_ID.test(tenantId)) {
        throw new ClientStoreError(
          "INVALID_ARGUMENT",
          `tenant id must match ${TENANT_ID.source}, got ${JSON.stringify(tenantId)}`,
        );
      }
      const inserted = await sql<Tenant[]>`
        insert into tenants (tenant_id, name) values (${tenantId}, ${name ?? tenantId})
        on conflict (tenant_id) do nothing
        returning tenant_id, name, created_at`;
      if (inserted.length > 0) return { tenant: inserted[0], created: true };
      return { tenant: (await store.getTenant(tenantId))!, created: false };
    },

    async getTenant(tenantId) {
      const [row] = await sql<Tenant[]>`
        select tenant_id, name, created_at from tenants where tenant_id = ${tenantId}`;
      return row;
    },

    async createClient(input) {
      validateNewClient(input);
      const clientId = newClientId();
      const secret = newSecret();
      const scopes = input.scopes && input.scopes.length > 0 ? input.scopes : [...SCOPES];
      const devices = [...new Set(input.devices)];
      let tenantCreated = false;
      await sql.begin(async (tx) => {
        const t = await tx`
          insert into tenants (tenant_id, name) values (${input.tenantId}, ${input.tenantId})
          on conflict (tenant_id) do nothing returning tenant_id`;
        tenantCreated = t.length > 0;
        await tx`
          insert into api_clients (client_id, tenant_id, name, secret_enc, scopes,
            allowed_clock_skew_seconds, replay_window_seconds)
          values (${clientId}, ${input.tenantId}, ${input.name},
            ${cipher.seal(secret, clientId)}, ${scopes},
            ${input.allowedClockSkewSeconds ?? 300}, ${input.replayWindowSeconds ?? 300})`;
        await tx`
          insert into device_grants (client_id, pattern)
          select ${clientId}, unnest(${devices}::text[])`;
      });
      return { client: await getInfo(clientId), secret, tenantCreated };
    },

    async listClients(tenantId) {
      const rows = tenantId === undefined
        ? await selectClients(sql``)
        : await selectClients(sql`where c.tenant_id = ${tenantId}`);
      return rows.map(toInfo);
    },

    async setStatus(clientId, status) {
      const updated = await sql`
        update api_clients set status = ${status}, updated_at = now()
        where client_id = ${clientId} returning client_id`;
      if (updated.length === 0) {
        throw new ClientStoreError("NOT_FOUND", `no client ${JSON.stringify(clientId)}`);
      }
      return await getInfo(clientId);
    },

    async rotateSecret(clientId) {
      const secret = newSecret();
      const updated = await sql`
        update api_clients set secret_enc = ${cipher.seal(secret, clientId)}, updated_at = now()
        where client_id = ${clientId} returning client_id`;
      if (updated.length === 0) {
        throw new ClientStoreError("NOT_FOUND", `no client ${JSON.stringify(clientId)}`);
      }
      return { client: await getInfo(clientId), secret };
    },

    async findCredentials(clientId) {
      const [row] = await selectClients(sql`where c.client_id = ${clientId}`);
      if (!row) return undefined;
      return {
        ...toInfo(row),
        secret: cipher.openText(row.secret_enc!, row.client_id),
      };
    },
  };
  return store;
}
