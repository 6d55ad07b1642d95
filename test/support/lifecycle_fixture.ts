// End-to-end lifecycle tests: a real Downlink (api, shard, bridge) in its own namespace, a
// signed API client, simulated docks, and a NATS subscriber on the tenant's lifecycle events.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { type Harness, startHarness } from "./harness.ts";
import { seedCommand } from "./api_fixtures.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import { createDownlinkClient, type DownlinkClient } from "../../src/client/downlink_client.ts";
import { type LifecycleEvent, UNOWNED_PROBLEM_SUBJECT } from "../../src/command/lifecycle_event.ts";
import { openNats } from "../../src/composition_root.ts";
import type { VendorAdapter } from "../../src/vendors/vendor_adapter.ts";

export interface LifecycleFixture {
  harness: Harness;
  tenant_id: string;
  http: DownlinkClient;
  nc: NatsConnection;
  mqttUrl: string;
  /** Every lifecycle event of the tenant seen so far, in arrival order. */
  events: LifecycleEvent[];
  /** Problems without a tenant (unknown tids, malformed replies) seen so far. */
  unownedProblems: LifecycleEvent[];
  /** A device serial unique to this run, covered by the client's grants. */
  device(label: string): string;
  /** Accepts a fileupload_start for `device` over HTTP; resolves with its command id. */
  submit(device: string, overrides?: Record<string, unknown>): Promise<string>;
  get(commandId: string): Promise<Record<string, any>>;
  /** Polls the API until the command's status is one of `statuses`. */
  waitForStatus(commandId: string, statuses: string[], ms?: number): Promise<Record<string, any>>;
  waitForEvent(
    match: (e: LifecycleEvent) => boolean,
    ms?: number,
    from?: LifecycleEvent[],
  ): Promise<LifecycleEvent>;
  stop(): Promise<void>;
}

export async function startLifecycleFixture(
  options: { env?: Record<string, string>; vendors?: readonly VendorAdapter[] } = {},
): Promise<LifecycleFixture> {
  const harness = await startHarness({ env: options.env, vendors: options.vendors });
  const { sql, cipher } = harness.downlink.context;
  const prefix = `dock-${crypto.randomUUID().slice(0, 8)}`;
  const clients = createPostgresClientStore(sql, cipher);
  const { client, secret } = await clients.createClient({
    tenantId: `tenant_${crypto.randomUUID().slice(0, 8)}`,
    name: "lifecycle test",
    devices: [`${prefix}-*`],
  });
  const http = createDownlinkClient({
    baseUrl: harness.baseUrl,
    clientId: client.client_id,
    secret,
  });
  const nc = await openNats(harness.config.natsUrl, "lifecycle-test");
  const events: LifecycleEvent[] = [];
  const unownedProblems: LifecycleEvent[] = [];
  const collect = (sub: Subscription, into: LifecycleEvent[]) =>
    (async () => {
      for await (const m of sub) into.push(m.json<LifecycleEvent>());
    })();
  const subs = [
    nc.subscribe(`tenant.${client.tenant_id}.command.>`),
    nc.subscribe(UNOWNED_PROBLEM_SUBJECT),
  ];
  void collect(subs[0], events);
  void collect(subs[1], unownedProblems);
  await nc.flush();

  const get = async (id: string) => (await http.getCommand(id)).body as Record<string, any>;
  const fixture: LifecycleFixture = {
    harness,
    tenant_id: client.tenant_id,
    http,
    nc,
    mqttUrl: harness.config.mqttUrl,
    events,
    unownedProblems,
    device: (label) => `${prefix}-${label}`,
    async submit(device, overrides = {}) {
      const res = await http.createCommand(
        seedCommand({ device_id: device, timeout_seconds: 10, ...overrides }) as never,
      );
      if (res.status !== 202) {
        throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return (res.body as { command_id: string }).command_id;
    },
    get,
    async waitForStatus(id, statuses, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const body = await get(id);
        if (statuses.includes(body.status)) return body;
        if (Date.now() > deadline) {
          throw new Error(`command ${id} is ${body.status}, expected ${statuses.join("|")}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async waitForEvent(match, ms = 10_000, from = events) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = from.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      for (const s of subs) s.unsubscribe();
      await nc.close();
      await harness.stop();
    },
  };
  return fixture;
}
