// The device_requests table (migration 9): a request recorded once with its device.request event
// (one transaction, the event outbox), answered by one conditional update whoever answers (a
// client over the API, Downlink after the grace period), expired by another, and read by the API
// limited to the devices a client's grants cover.
import type { Sql } from "./db.ts";
import type { OutboxEvent } from "./event_outbox.ts";
import { grantsCover } from "./device_list.ts";
import type {
  AnsweredBy,
  DeviceRequestRecord,
  DeviceRequestStatus,
} from "../device/device_request.ts";
import type { DeviceRequestAnswer } from "../vendors/vendor_adapter.ts";

export type RecordOutcome =
  | { inserted: true }
  /** The gateway sent this tid before: the row as it is, and whether its event is still in the
   * outbox (an earlier take committed it and did not get it published). */
  | { inserted: false; existing: DeviceRequestRecord; eventPending: boolean };

export type AnswerOutcome =
  | { outcome: "answered"; record: DeviceRequestRecord }
  /** Answered before (by a client or by Downlink): the row as it is. */
  | { outcome: "already_answered"; record: DeviceRequestRecord }
  | { outcome: "expired"; record: DeviceRequestRecord }
  | { outcome: "not_found" };

export interface AnswerBy {
  by: AnsweredBy;
  client_id?: string;
}

/** A pending request's times, for a shard's schedule. */
export interface PendingTimes {
  request_id: string;
  auto_answer_at?: number;
  expires_at: number;
}

export interface DeviceRequestStore {
  /** Inserts the request and its event in one transaction, unless the gateway sent its tid
   * before. */
  record(request: DeviceRequestRecord, event: OutboxEvent): Promise<RecordOutcome>;
  /** Answers the request if it is still PENDING and not past its expiry at `now`; one statement
   * decides between answerers that come at the same moment. A request found past its expiry is
   * expired on the way. */
  answer(
    requestId: string,
    answer: DeviceRequestAnswer,
    by: AnswerBy,
    now: number,
  ): Promise<AnswerOutcome>;
  /** Expires the PENDING requests of `partitions` past their expiry; their ids. */
  expireDue(partitions: readonly number[], now: number): Promise<string[]>;
  /** The PENDING requests of `partitions` whose auto-answer time has come. */
  dueAutoAnswers(
    partitions: readonly number[],
    now: number,
  ): Promise<Array<{ request_id: string; method: string; vendor?: string }>>;
  /** Answers of `partitions`' requests given before `answeredBefore` and not yet handed to the
   * bridge (their answerer died, or NATS was away). */
  unsentAnswers(
    partitions: readonly number[],
    answeredBefore: number,
  ): Promise<DeviceRequestRecord[]>;
  /** The answer was handed to the bridge (JetStream stored it). */
  markSent(requestId: string, at: number): Promise<void>;
  /** The PENDING requests of a partition, with their times. */
  pending(partition: number): Promise<PendingTimes[]>;
}

export interface DeviceRequestFilter {
  deviceId?: string;
  method?: string;
  statuses?: readonly DeviceRequestStatus[];
  /** 1-200. */
  limit: number;
  /** Rows strictly older than this position (the previous page's end). */
  after?: DeviceRequestPosition;
}

/** Where a page ended: the last row's received_at (RFC 3339, microseconds) and request id. */
export interface DeviceRequestPosition {
  receivedAt: string;
  requestId: string;
}

export interface DeviceRequestPage {
  items: DeviceRequestRecord[];
  next?: DeviceRequestPosition;
}

export interface DeviceRequestReader {
  /** The requests of the devices `grants` cover, newest first. */
  listRequests(
    grants: readonly string[],
    filter: DeviceRequestFilter,
  ): Promise<DeviceRequestPage>;
  /** The request, or undefined when unknown or its device not covered (never told apart). */
  getRequest(
    grants: readonly string[],
    requestId: string,
  ): Promise<DeviceRequestRecord | undefined>;
}

const iso = (ms: number | undefined) => ms === undefined ? null : new Date(ms).toISOString();

const COLUMNS =
  `request_id, vendor, gateway_sn, partition, tid, bid, method, data, device_timestamp,
  status, received_at, auto_answer_at, expires_at, answered_at, answered_by, client_id, answer,
  expired_at`;

interface Row {
  request_id: string;
  vendor: string | null;
  gateway_sn: string;
  partition: number;
  tid: string;
  bid: string | null;
  method: string;
  data: string;
  device_timestamp: string | null;
  status: DeviceRequestStatus;
  received_at: Date;
  auto_answer_at: Date | null;
  expires_at: Date;
  answered_at: Date | null;
  answered_by: AnsweredBy | null;
  client_id: string | null;
  answer: string | null;
  expired_at: Date | null;
}

export function toDeviceRequestRecord(r: Row): DeviceRequestRecord {
  return {
    request_id: r.request_id,
    ...(r.vendor !== null ? { vendor: r.vendor } : {}),
    gateway_sn: r.gateway_sn,
    partition: r.partition,
    tid: r.tid,
    ...(r.bid !== null ? { bid: r.bid } : {}),
    method: r.method,
    data: JSON.parse(r.data),
    ...(r.device_timestamp !== null ? { device_timestamp: Number(r.device_timestamp) } : {}),
    status: r.status,
    received_at: r.received_at.getTime(),
    ...(r.auto_answer_at !== null ? { auto_answer_at: r.auto_answer_at.getTime() } : {}),
    expires_at: r.expires_at.getTime(),
    ...(r.answered_at !== null ? { answered_at: r.answered_at.getTime() } : {}),
    ...(r.answered_by !== null ? { answered_by: r.answered_by } : {}),
    ...(r.client_id !== null ? { client_id: r.client_id } : {}),
    ...(r.answer !== null ? { answer: JSON.parse(r.answer) } : {}),
    ...(r.expired_at !== null ? { expired_at: r.expired_at.getTime() } : {}),
  };
}

export function createDeviceRequestStore(sql: Sql): DeviceRequestStore {
  const byId = async (tx: Sql, requestId: string) => {
    const [row] = await tx<Row[]>`
      select ${tx.unsafe(COLUMNS)} from device_requests where request_id = ${requestId}`;
    return row ? toDeviceRequestRecord(row) : undefined;
  };
  return {
    async record(r, event) {
      let outcome: RecordOutcome = { inserted: true };
      await sql.begin(async (tx) => {
        const t = tx as unknown as Sql;
        const inserted = await t`
          insert into device_requests (request_id, vendor, gateway_sn, partition, tid, bid, method,
            data, device_timestamp, status, received_at, auto_answer_at, expires_at)
          values (${r.request_id}, ${
          r.vendor ?? null
        }, ${r.gateway_sn}, ${r.partition}, ${r.tid}, ${r.bid ?? null},
            ${r.method}, ${JSON.stringify(r.data ?? null)}, ${r.device_timestamp ?? null},
            ${r.status}, ${iso(r.received_at)}::timestamptz,
            ${iso(r.auto_answer_at)}::timestamptz, ${iso(r.expires_at)}::timestamptz)
          on conflict (request_id) do nothing
          returning request_id`;
        if (inserted.length === 0) {
          const existing = await byId(t, r.request_id);
          if (!existing) throw new Error(`device request ${r.request_id} vanished`);
          const pending = await t`select 1 from event_outbox where event_id = ${event.event_id}`;
          outcome = { inserted: false, existing, eventPending: pending.length > 0 };
          return;
        }
        await t`
          insert into event_outbox (event_id, partition, command_id, subject, body)
          values (${event.event_id}, ${event.partition}, null, ${event.subject}, ${event.body})
          on conflict (event_id) do nothing`;
      });
      return outcome;
    },

    async answer(requestId, answer, by, now) {
      const at = iso(now);
      const [answered] = await sql<Row[]>`
        update device_requests
        set status = 'ANSWERED', answered_at = ${at}::timestamptz, answered_by = ${by.by},
            client_id = ${by.client_id ?? null}, answer = ${JSON.stringify(answer)}
        where request_id = ${requestId} and status = 'PENDING'
          and expires_at > ${at}::timestamptz
        returning ${sql.unsafe(COLUMNS)}`;
      if (answered) return { outcome: "answered", record: toDeviceRequestRecord(answered) };
      // Not answered now: already answered, expired (maybe just now), or not there.
      const [expired] = await sql<Row[]>`
        update device_requests set status = 'EXPIRED', expired_at = expires_at
        where request_id = ${requestId} and status = 'PENDING'
          and expires_at <= ${at}::timestamptz
        returning ${sql.unsafe(COLUMNS)}`;
      const record = expired ? toDeviceRequestRecord(expired) : await byId(sql, requestId);
      if (!record) return { outcome: "not_found" };
      if (record.status === "EXPIRED") return { outcome: "expired", record };
      if (record.status === "ANSWERED") return { outcome: "already_answered", record };
      // Neither update took a PENDING row, one of whose two conditions holds at `now`.
      throw new Error(`device request ${requestId} is PENDING and could not be answered`);
    },

    async expireDue(partitions, now) {
      if (partitions.length === 0) return [];
      // expired_at is the expiry itself, not the sweep's time: the same whoever notices it.
      const rows = await sql<{ request_id: string }[]>`
        update device_requests set status = 'EXPIRED', expired_at = expires_at
        where partition = any(${partitions as number[]}::int[]) and status = 'PENDING'
          and expires_at <= ${iso(now)}::timestamptz
        returning request_id`;
      return rows.map((r) => r.request_id);
    },

    async dueAutoAnswers(partitions, now) {
      if (partitions.length === 0) return [];
      const rows = await sql<{ request_id: string; method: string; vendor: string | null }[]>`
        select request_id, method, vendor from device_requests
        where partition = any(${partitions as number[]}::int[]) and status = 'PENDING'
          and auto_answer_at <= ${iso(now)}::timestamptz`;
      return rows.map((r) => ({
        request_id: r.request_id,
        method: r.method,
        ...(r.vendor !== null ? { vendor: r.vendor } : {}),
      }));
    },

    async unsentAnswers(partitions, answeredBefore) {
      if (partitions.length === 0) return [];
      const rows = await sql<Row[]>`
        select ${sql.unsafe(COLUMNS)} from device_requests
        where partition = any(${partitions as number[]}::int[]) and status = 'ANSWERED'
          and reply_sent_at is null and answered_at <= ${iso(answeredBefore)}::timestamptz`;
      return rows.map(toDeviceRequestRecord);
    },

    async markSent(requestId, at) {
      await sql`
        update device_requests set reply_sent_at = ${iso(at)}::timestamptz
        where request_id = ${requestId} and reply_sent_at is null`;
    },

    async pending(partition) {
      const rows = await sql<
        { request_id: string; auto_answer_at: Date | null; expires_at: Date }[]
      >`
        select request_id, auto_answer_at, expires_at from device_requests
        where partition = ${partition} and status = 'PENDING'`;
      return rows.map((r) => ({
        request_id: r.request_id,
        ...(r.auto_answer_at ? { auto_answer_at: r.auto_answer_at.getTime() } : {}),
        expires_at: r.expires_at.getTime(),
      }));
    },
  };
}

export function createDeviceRequestReader(sql: Sql): DeviceRequestReader {
  return {
    async listRequests(grants, filter) {
      if (grants.length === 0) return { items: [] };
      const { deviceId, method, statuses, after } = filter;
      // received_at travels in the cursor as text with microseconds (see command_list.ts).
      const rows = await sql<(Row & { position_at: string })[]>`
        select ${sql.unsafe(COLUMNS)},
          to_char(received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position_at
        from device_requests
        where ${grantsCover(sql, grants, "gateway_sn")}
          ${deviceId !== undefined ? sql`and gateway_sn = ${deviceId}` : sql``}
          ${method !== undefined ? sql`and method = ${method}` : sql``}
          ${statuses?.length ? sql`and status in ${sql(statuses as DeviceRequestStatus[])}` : sql``}
          ${
        after
          ? sql`and (received_at, request_id) < (${after.receivedAt}::text::timestamptz, ${after.requestId}::uuid)`
          : sql``
      }
        order by received_at desc, request_id desc
        limit ${filter.limit + 1}`;
      const more = rows.length > filter.limit;
      const page = more ? rows.slice(0, filter.limit) : rows;
      const last = page[page.length - 1];
      return {
        items: page.map(toDeviceRequestRecord),
        ...(more && last
          ? { next: { receivedAt: last.position_at, requestId: last.request_id } }
          : {}),
      };
    },
    async getRequest(grants, requestId) {
      if (grants.length === 0) return undefined;
      const [row] = await sql<Row[]>`
        select ${sql.unsafe(COLUMNS)} from device_requests
        where request_id = ${requestId} and ${grantsCover(sql, grants, "gateway_sn")}`;
      return row ? toDeviceRequestRecord(row) : undefined;
    },
  };
}
