// Versioned schema migrations, applied at start-up. An advisory lock serialises instances that
// start at once; each version runs in its own transaction and is recorded once.
import type { Sql } from "./db.ts";

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tenants, clients, grants, commands, outbox",
    sql: `
create table tenants (
  tenant_id   text primary key,
  name        text not null,
  created_at  timestamptz not null default now()
);

create table api_clients (
  client_id                  text primary key,
  tenant_id                  text not null references tenants(tenant_id),
  name                       text not null,
  secret_enc                 bytea not null,
  scopes                     text[] not null,
  status                     text not null default 'ACTIVE' check (status in ('ACTIVE','DISABLED')),
  allowed_clock_skew_seconds integer not null default 300 check (allowed_clock_skew_seconds between 0 and 3600),
  replay_window_seconds      integer not null default 300 check (replay_window_seconds between 1 and 3600),
  created_at                 timestamptz not null default now(),
  updated_at                 timestamptz not null default now()
);
create index api_clients_tenant on api_clients (tenant_id);

create table device_grants (
  client_id  text not null references api_clients(client_id) on delete cascade,
  pattern    text not null,
  primary key (client_id, pattern)
);

create table commands (
  command_id            uuid primary key,
  tenant_id             text not null,
  client_id             text not null,
  idempotency_key       text not null,
  request_hash          text not null,
  vendor                text not null,
  device_id             text not null,
  command_type          text not null,
  channel               text not null,
  partition             integer not null,
  bid                   uuid not null,
  payload_enc           bytea not null,
  status                text not null check (status in
                          ('ACCEPTED','DELIVERED','SUCCEEDED','FAILED','TIMED_OUT','UNMATCHED_RESPONSE')),
  timeout_seconds       integer not null,
  accepted_at           timestamptz not null,
  deadline_at           timestamptz not null,
  delivered_at          timestamptz,
  response_received_at  timestamptz,
  completed_at          timestamptz,
  updated_at            timestamptz not null,
  response_code         text,
  response_message      text,
  vendor_response       jsonb,
  failure_code          text,
  failure_reason        text,
  snapshot              jsonb,
  unique (client_id, idempotency_key)
);
create index commands_tenant_accepted on commands (tenant_id, accepted_at desc, command_id desc);
create index commands_in_flight on commands (partition, accepted_at)
  where status in ('ACCEPTED','DELIVERED');

-- The outbox: a command accepted but not yet carried to JetStream. Written in the same
-- transaction as the command row; the relay deletes it once JetStream has acknowledged.
create table command_outbox (
  command_id  uuid primary key references commands(command_id) on delete cascade,
  created_at  timestamptz not null default now()
);
`,
  },
  {
    version: 2,
    name: "api nonces",
    sql: `
-- The nonces of signed requests, shared by every API instance. A row is a nonce in use until
-- expires_at (its first use plus the client's retention); the API's prune deletes it after.
create table api_nonces (
  client_id      text not null,
  nonce          text not null,
  first_used_at  timestamptz not null,
  expires_at     timestamptz not null,
  primary key (client_id, nonce)
);
create index api_nonces_expires on api_nonces (expires_at);
`,
  },
  {
    version: 3,
    name: "outbox rows held while a shard in the accepting process carries them",
    sql: `
-- A command handed to a shard in the accepting process keeps its outbox row until its first
-- transition commit deletes it; outbox passes leave the row alone until carry_after, and carry
-- it through JetStream after that (the process may have lost the device's partition meanwhile).
alter table command_outbox add column carry_after timestamptz not null default now();
create index command_outbox_due on command_outbox (carry_after, command_id);
`,
  },
  {
    version: 4,
    name: "in-flight commands in a table of their own; room on each page for HOT updates",
    sql: `
-- The commands a shard restores. A partial index on commands (where status is ACCEPTED or
-- DELIVERED) made every transition update that index, and an update touching an indexed column
-- cannot be HOT (heap-only: no new index entries). With the in-flight set in its own table,
-- written by the accept and emptied by the terminal transition, no index of commands covers a
-- column a transition changes. Processes of an earlier version do not write this table: they
-- must be stopped before this migration runs (the README says so).
create table in_flight_commands (
  command_id  uuid primary key references commands(command_id) on delete cascade,
  partition   integer not null,
  accepted_at timestamptz not null
);
insert into in_flight_commands (command_id, partition, accepted_at)
  select command_id, partition, accepted_at from commands
  where status in ('ACCEPTED','DELIVERED');
create index in_flight_commands_partition
  on in_flight_commands (partition, accepted_at, command_id);
drop index commands_in_flight;
-- A transition stores the reply and the snapshot, so the row grows past the free space a full
-- page keeps; half a page empty lets the new version stay on its page (a HOT update).
alter table commands set (fillfactor = 50);
`,
  },
  {
    version: 5,
    name: "every lifecycle event in an outbox; a command sent to its device at most once",
    sql: `
-- A lifecycle event waits here from the commit of the state it reports until JetStream has
-- stored it: the process that committed it publishes it (event_id as Nats-Msg-Id) and deletes
-- the row; after a crash, the shard that takes the device's partition publishes what is left
-- (in seq order) before it drives any command of that partition.
create table event_outbox (
  event_id    uuid primary key,
  seq         bigserial not null,
  partition   integer not null,
  command_id  uuid,
  subject     text not null,
  body        text not null,
  created_at  timestamptz not null default now()
);
create index event_outbox_partition on event_outbox (partition, seq);

-- Set, once, by the shard that hands a command to the bridge, and committed before the bridge
-- publishes it: a command claimed once is never published again (by a restore, a redelivery,
-- a lease moving), since it may have reached the dock.
alter table in_flight_commands add column sending_at timestamptz, add column sending_by uuid;
`,
  },
  {
    version: 6,
    name: "data key check value",
    sql: `
-- A known text sealed with the data key the database was first started with: a process given
-- another key refuses to start instead of failing on every secret and payload (data_key_check.ts).
create table data_key_check (
  id      integer primary key check (id = 1),
  sealed  bytea not null
);
`,
  },
  {
    version: 7,
    name: "device registry: gateways and their aircraft, presence",
    sql: `
-- Every device Downlink has heard of: gateways (dock or RC) and the aircraft their update_topo
-- lists. Written by the shard that hosts the gateway's partition (the partition column, an
-- aircraft's being its gateway's): state changes at once with their device events in
-- event_outbox, last_seen_at of a device already online in periodic batches (presence_host.ts).
create table devices (
  device_id         text primary key,
  kind              text not null check (kind in ('gateway','aircraft')),
  gateway_sn        text,
  partition         integer not null,
  domain            text,
  type              integer,
  sub_type          integer,
  model             text,
  firmware_version  text,
  online            boolean not null,
  online_since      timestamptz,
  last_seen_at      timestamptz,
  updated_at        timestamptz not null
);
create index devices_partition on devices (partition);
create index devices_gateway on devices (gateway_sn) where gateway_sn is not null;
`,
  },
  {
    version: 8,
    name: "job progress: link keys of commands, their latest progress",
    sql: `
-- A long job's command names the events method that reports its progress and the keys an event
-- may name it by (bid:, flight:, flyto:, file: ...; set at accept from the payload, which is
-- stored sealed). Null for commands DJI reports no progress for, which the index then skips.
alter table commands add column progress_event text, add column progress_keys text[];
create index commands_progress_keys on commands using gin (progress_keys)
  where progress_keys is not null;

-- The latest progress of a command's job (job_event_store.ts), read into the Query Response.
create table command_progress (
  command_id        uuid primary key,
  status            text not null,
  percent           double precision,
  step              text,
  result            bigint,
  failure_reason    text,
  detail            jsonb,
  device_timestamp  bigint,
  updated_at        timestamptz not null,
  finished_at       timestamptz,
  published_at      timestamptz,
  published_status  text
);
`,
  },
  {
    version: 9,
    name: "device requests: what docks ask the cloud, and the answers",
    sql: `
-- A dock's requests (thing/product/{gateway_sn}/requests), one row per gateway and tid (the id is
-- derived from both: a request sent again is the same row). Inserted by the shard that owns the
-- gateway's partition, with its device.request event in event_outbox; answered by one
-- conditional update (status = 'PENDING'), by a client over the API or by Downlink itself after
-- the grace period, or expired. data and answer are JSON text: jsonb refuses an escaped NUL
-- character, which a dock may send. reply_sent_at: the answer was handed to the bridge (JetStream stored it); an
-- answer without it is sent again by the partition's shard (device_request_host.ts).
create table device_requests (
  request_id        uuid primary key,
  gateway_sn        text not null,
  partition         integer not null,
  tid               text not null,
  bid               text,
  method            text not null,
  data              text not null,
  device_timestamp  bigint,
  status            text not null check (status in ('PENDING','ANSWERED','EXPIRED')),
  received_at       timestamptz not null,
  auto_answer_at    timestamptz,
  expires_at        timestamptz not null,
  answered_at       timestamptz,
  answered_by       text check (answered_by in ('client','downlink')),
  client_id         text,
  answer            text,
  reply_sent_at     timestamptz,
  expired_at        timestamptz
);
create index device_requests_received on device_requests (received_at desc, request_id desc);
create index device_requests_gateway on device_requests (gateway_sn, received_at desc);
-- What a shard's sweep looks at: requests still waiting, answers not yet handed to the bridge.
create index device_requests_open on device_requests (partition)
  where status = 'PENDING' or (status = 'ANSWERED' and reply_sent_at is null);
`,
  },
  {
    version: 10,
    name: "jobs that may still run, by partition and deadline",
    sql: `
-- A shard that takes a partition finds the jobs still running on its docks (a command SUCCEEDED,
-- its job's terminal progress not yet reported, its deadline not passed): the next command of
-- the job's exclusivity class waits for it (issue 14 item 4). Only commands whose job reports
-- progress are indexed, by columns no transition changes (updates of commands stay HOT).
create index commands_jobs_by_deadline on commands (partition, deadline_at)
  where progress_event is not null;
`,
  },
  {
    version: 11,
    name: "the vendor of a device request",
    sql: `
-- An answer goes back on the wire of the vendor whose topic the request came on (the registry
-- of src/vendors/). NULL on the requests stored before: the first registered vendor's (DJI's).
alter table device_requests add column vendor text;
`,
  },
];

const LOCK_KEY = 0x646c6d67; // "dlmg"

/** Applies every migration not yet recorded. Safe to call from many processes at once. */
export async function runMigrations(sql: Sql, schema: string): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx.unsafe(`create schema if not exists "${schema}"`);
    await tx.unsafe(`set local search_path to "${schema}"`);
    await tx`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`;
    const done = new Set((await tx`select version from schema_migrations`).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
  });
  return applied;
}
