// Commands in Postgres as the API sees them: accept (row + outbox row in one statement, with
// idempotency by (client, key)) and the Query Response of one command.
import { createHash } from "node:crypto";
import type { DataCipher } from "../crypto/data_key.ts";
import { isUuid, newBid, newCommandId } from "../command/ids.ts";
import type { Sql } from "./db.ts";
import { type AcceptedCommand, createAcceptBatcher } from "./accept_batch.ts";
import { type CommandPage, listCommandPage, type ListFilter } from "./command_list.ts";
import {
  type CommandRow,
  type CommandView,
  PROGRESS_COLUMN,
  toCommandView,
} from "./command_view.ts";
import { bidKey } from "../command/progress.ts";
import { type PostgresGate, ungated } from "./postgres_gate.ts";

export type { CommandView };

export interface AcceptInput {
  tenantId: string;
  clientId: string;
  idempotencyKey: string;
  vendor: string;
  deviceId: string;
  commandType: string;
  channel: string;
  /** Effective timeout (the default already applied), 1-300. */
  timeoutSeconds: number;
  payload: unknown;
  partition: number;
  /** Epoch ms of acceptance (from the injected clock). */
  acceptedAt: number;
  /** See AcceptedCommand.outbox_hold_seconds (default 0: carried through JetStream). */
  outboxHoldSeconds?: number;
  /** The request's nonce, claimed in the accept's statement: nothing is accepted unless the
   * claim is fresh (first use within the retention). */
  nonce?: { value: string; retentionSeconds: number };
  /** A long job's progress event and the keys (from its payload) its events may name it by;
   * the command's own bid is added here, where it is made. */
  progress?: { event: string; keys: readonly string[] };
}

export type AcceptOutcome =
  | { outcome: "accepted"; command_id: string; accepted_at: Date; command: AcceptedCommand }
  | { outcome: "replayed"; command_id: string; accepted_at: Date }
  | { outcome: "conflict"; command_id: string }
  /** The nonce was used already: nothing was accepted or looked up. */
  | { outcome: "nonce_replayed" };

/** Without a nonce to claim, an accept is never a nonce replay. */
export type UnsignedAcceptOutcome = Exclude<AcceptOutcome, { outcome: "nonce_replayed" }>;

export interface CommandStore {
  /** Accepts a command exactly once per (client, idempotency key); one transaction. */
  acceptCommand(input: AcceptInput & { nonce?: undefined }): Promise<UnsignedAcceptOutcome>;
  acceptCommand(input: AcceptInput): Promise<AcceptOutcome>;
  /** The command if it exists and belongs to `tenantId`; undefined otherwise (or not a UUID). */
  getCommand(tenantId: string, commandId: string): Promise<CommandView | undefined>;
  /** One page of the tenant's commands, newest first (see command_list.ts). */
  listCommands(tenantId: string, filter: ListFilter): Promise<CommandPage>;
}

/** Stable JSON: object keys sorted at every depth, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  return `{${
    Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) =>
      `${JSON.stringify(k)}:${canonicalJson(obj[k])}`
    ).join(",")
  }}`;
}

/** The hash that decides "same request" for idempotency: everything but the key itself. */
export function requestHash(
  input: Pick<
    AcceptInput,
    "vendor" | "deviceId" | "commandType" | "timeoutSeconds" | "payload"
  >,
  digest: (text: string) => string = (text) => createHash("sha256").update(text).digest("hex"),
): string {
  return digest(canonicalJson({
    vendor: input.vendor,
    device_id: input.deviceId,
    command_type: input.commandType,
    timeout_seconds: input.timeoutSeconds,
    payload: input.payload,
  }));
}

export interface PostgresCommandStoreOptions {
  /** Fails the API's statements fast while Postgres is away (default: none, no deadline). */
  gate?: PostgresGate;
}

export function createPostgresCommandStore(
  sql: Sql,
  cipher: DataCipher,
  { gate = ungated(sql) }: PostgresCommandStoreOptions = {},
): CommandStore {
  const batcher = createAcceptBatcher(sql, gate);

  const acceptCommand = async (input: AcceptInput): Promise<AcceptOutcome> => {
    // Keyed: the payload holds secrets, and a plain hash of a guessable secret could be
    // brute-forced from the stored row.
    const hash = requestHash(input, cipher.mac);
    const row: AcceptedCommand = {
      command_id: newCommandId(),
      tenant_id: input.tenantId,
      client_id: input.clientId,
      idempotency_key: input.idempotencyKey,
      request_hash: hash,
      vendor: input.vendor,
      device_id: input.deviceId,
      command_type: input.commandType,
      channel: input.channel,
      partition: input.partition,
      bid: newBid(),
      payload_enc: new Uint8Array(0),
      timeout_seconds: input.timeoutSeconds,
      accepted_at: new Date(input.acceptedAt),
      deadline_at: new Date(input.acceptedAt + input.timeoutSeconds * 1000),
      outbox_hold_seconds: input.outboxHoldSeconds ?? 0,
    };
    if (input.progress) {
      row.progress_event = input.progress.event;
      row.progress_keys = [bidKey(row.bid), ...input.progress.keys];
    }
    row.payload_enc = cipher.seal(JSON.stringify(input.payload), row.command_id);
    const result = await batcher.insert(
      row,
      input.nonce && {
        nonce: input.nonce.value,
        at: input.acceptedAt,
        retentionSeconds: input.nonce.retentionSeconds,
      },
    );
    if (result.inserted) {
      return {
        outcome: "accepted",
        command_id: row.command_id,
        accepted_at: row.accepted_at,
        command: row,
      };
    }
    if (result.nonceReplayed) return { outcome: "nonce_replayed" };
    const existing = result.existing;
    if (!existing) {
      // Only if the row vanished between the two statements (retention); try once more. The
      // nonce is ours already: the first statement claimed it.
      return await acceptCommand({ ...input, nonce: undefined });
    }
    if (existing.request_hash !== hash) {
      return { outcome: "conflict", command_id: existing.command_id };
    }
    return {
      outcome: "replayed",
      command_id: existing.command_id,
      accepted_at: existing.accepted_at,
    };
  };

  return {
    acceptCommand: acceptCommand as CommandStore["acceptCommand"],
    listCommands: (tenantId, filter) => gate.run(() => listCommandPage(sql, tenantId, filter)),

    async getCommand(tenantId, commandId) {
      if (!isUuid(commandId)) return undefined;
      const [row] = await gate.run(() =>
        sql<CommandRow[]>`
        select command_id, status, vendor, device_id, command_type, response_code,
               response_message, vendor_response, failure_code, failure_reason, timeout_seconds,
               accepted_at, delivered_at, response_received_at, completed_at, deadline_at,
               updated_at, ${sql.unsafe(PROGRESS_COLUMN)}
        from commands where command_id = ${commandId} and tenant_id = ${tenantId}`
      );
      return row ? toCommandView(row) : undefined;
    },
  };
}
