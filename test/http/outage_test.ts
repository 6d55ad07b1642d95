// Postgres or NATS going away mid-test: the API answers 503 SERVICE_UNAVAILABLE within its
// deadline, accepts nothing half-way, and recovers by itself. TCP proxies stand in for the outage
// (refused connections, or a partition) so the shared servers stay up for other tests.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/runtime/config.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import {
  type ApiFixture,
  eventually,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.ts";
import { testEnv } from "../support/test_env.ts";
import { newNonce } from "../../src/http/signing.ts";

let f: ApiFixture;
let caller: TestClient;
let pg: TcpProxy;
let nats: TcpProxy;

/** The gate's deadline, small so the tests are quick; a request may take this long, plus the
 * time to answer it, and no longer. */
const DEADLINE_MS = 400;
const ANSWERED_WITHIN_MS = DEADLINE_MS + 600;
/** How soon after its dependency is back the API must serve again. */
const RECOVERED_WITHIN_MS = 2_000;

before(async () => {
  const base = loadConfig(testEnv());
  const pgUrl = new URL(base.databaseUrl);
  const natsUrl = new URL(base.natsUrl.split(",")[0]);
  pg = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  nats = await startTcpProxy(natsUrl.hostname, Number(natsUrl.port || 4222));
  f = await startApiFixture({
    env: { DOWNLINK_DB_DEADLINE_MS: String(DEADLINE_MS) },
    databaseUrl: pg.url(base.databaseUrl),
    natsUrl: nats.url(base.natsUrl.split(",")[0]),
  });
  caller = await f.createClient();
});
after(async () => {
  await pg?.open();
  await nats?.open();
  await f?.stop();
  await pg?.stop();
  await nats?.stop();
});

async function stored(key: string): Promise<{ commands: number; outbox: number }> {
  const [row] = await f.sql<{ commands: number; outbox: number }[]>`
    select (select count(*)::int from commands where idempotency_key = ${key}) as commands,
           (select count(*)::int from command_outbox o join commands c using (command_id)
             where c.idempotency_key = ${key}) as outbox`;
  return row;
}

/** Sends `n` commands at once; each answer with how long it took. */
async function burst(n: number) {
  return await Promise.all(Array.from({ length: n }, async () => {
    const body = seedCommand();
    const started = performance.now();
    const res = await caller.http.createCommand(body);
    return { key: body.idempotency_key, res, ms: performance.now() - started };
  }));
}

/** Sends a command until one is not refused; the first answer that is not a 503. */
function acceptedAgain(within: number) {
  return eventually(
    async () => {
      const r = await caller.http.createCommand(seedCommand());
      return r.status === 503 ? undefined : r;
    },
    within,
    "the API to serve again",
  );
}

for (const outage of ["refused", "partitioned"] as const) {
  describe(`Postgres ${outage}`, () => {
    test("concurrent commands are each answered 503 within the deadline, none is stored, and commands are accepted within 2 s of its return", async () => {
      assert.equal((await caller.http.createCommand(seedCommand())).status, 202);
      await (outage === "refused" ? pg.close() : pg.blackhole());

      // Twice: first while the API still thinks Postgres is there, then once it knows.
      const answers = [...await burst(20), ...await burst(20)];
      for (const { res, ms } of answers) {
        assert.equal(res.status, 503);
        assert.equal(res.body.code, "SERVICE_UNAVAILABLE");
        assert.ok(ms < ANSWERED_WITHIN_MS, `answered after ${Math.round(ms)} ms`);
      }
      const ready = await fetch(`${f.baseUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual((await ready.json()).failed, ["postgres"]);

      await pg.open();
      const again = await acceptedAgain(RECOVERED_WITHIN_MS);
      assert.equal(again.status, 202);
      // What a partition held back has been delivered by now, had it not been dropped.
      await new Promise((r) => setTimeout(r, 500));
      const [{ stored }] = await f.sql<{ stored: number }[]>`
        select count(*)::int as stored from commands
        where idempotency_key = any(${answers.map((a) => a.key)})`;
      assert.equal(stored, 0);
      assert.equal((await fetch(`${f.baseUrl}/readyz`)).status, 200);
    });
  });
}

describe("Postgres down", () => {
  test("a command is answered 503 and nothing is stored, then accepted once Postgres is back", async () => {
    assert.equal((await caller.http.createCommand(seedCommand())).status, 202);

    await pg.close();
    const body = seedCommand();
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "SERVICE_UNAVAILABLE");
    assert.ok(res.body.request_id);
    assert.deepEqual(await stored(body.idempotency_key), { commands: 0, outbox: 0 });
    const read = await caller.http.getCommand("01900000-0000-7000-8000-000000000000");
    assert.equal(read.status, 503);
    const ready = await fetch(`${f.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual((await ready.json()).failed, ["postgres"]);

    await pg.open();
    const again = await eventually(
      async () => {
        const r = await caller.http.createCommand(body);
        return r.status === 503 ? undefined : r;
      },
      10_000,
      "Postgres to be reachable again",
    );
    assert.equal(again.status, 202);
    assert.equal(again.headers.get("idempotent-replayed"), null);
    assert.equal((await stored(body.idempotency_key)).commands, 1);
    await eventually(
      async () => (await stored(body.idempotency_key)).outbox === 0 ? true : undefined,
      10_000,
      "the relay to carry the command",
    );
    assert.equal((await fetch(`${f.baseUrl}/readyz`)).status, 200);
  });

  test("a request whose nonce cannot be stored is answered 503 and its nonce stays unspent", async () => {
    // The client is cached now, so with Postgres gone the nonce claim is what fails.
    assert.equal((await caller.http.getCommand(crypto.randomUUID())).status, 404);
    await pg.close();
    const nonce = newNonce();
    const body = seedCommand();
    const res = await caller.http.request("POST", COMMANDS_PATH, { body, nonce });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "SERVICE_UNAVAILABLE");

    await pg.open();
    const again = await eventually(
      async () => {
        const r = await caller.http.request("POST", COMMANDS_PATH, { body, nonce });
        return r.status === 503 ? undefined : r;
      },
      10_000,
      "Postgres to be reachable again",
    );
    assert.equal(again.status, 202);
  });
});

describe("NATS down", () => {
  test("a command is answered 503 and nothing is stored, then accepted once NATS is back", async () => {
    await nats.close();
    const probe = `${COMMANDS_PATH}/01900000-0000-7000-8000-000000000000`;
    // The client notices the broken connection within moments; poll until it has.
    await eventually(
      async () => {
        const r = await caller.http.request("GET", probe);
        return r.status === 503 ? true : undefined;
      },
      10_000,
      "the API to notice NATS is gone",
    );
    const body = seedCommand();
    const started = performance.now();
    const res = await caller.http.createCommand(body);
    assert.ok(performance.now() - started < ANSWERED_WITHIN_MS);
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "SERVICE_UNAVAILABLE");
    assert.deepEqual(await stored(body.idempotency_key), { commands: 0, outbox: 0 });

    await nats.open();
    const again = await eventually(
      async () => {
        const r = await caller.http.createCommand(body);
        return r.status === 503 ? undefined : r;
      },
      RECOVERED_WITHIN_MS,
      "NATS to be reachable again",
    );
    assert.equal(again.status, 202);
    await eventually(
      async () => (await stored(body.idempotency_key)).outbox === 0 ? true : undefined,
      10_000,
      "the relay to carry the command",
    );
  });
});
