// The signature check against real Postgres and NATS: the 401 codes, per-client skew and
// replay windows, scopes and device grants (403), and a disabled client's prompt lock-out.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ApiFixture,
  type ManualClock,
  manualClock,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { COMMANDS_PATH, createDownlinkClient } from "../../src/client/downlink_client.ts";
import { newNonce, signedHeaders } from "../../src/http/signing.ts";

let f: ApiFixture;
let clock: ManualClock;
let caller: TestClient;

before(async () => {
  clock = manualClock();
  f = await startApiFixture({ clock });
  caller = await f.createClient();
});
after(async () => {
  await f?.stop();
});

const nowSeconds = () => Math.floor(clock.now() / 1000);

async function count(): Promise<number> {
  const [{ n }] = await f.sql<{ n: number }[]>`select count(*)::int as n from commands`;
  return n;
}

describe("401", () => {
  test("a request without the X-Api-* headers is UNAUTHORIZED", async () => {
    for (const missing of ["X-Api-Id", "X-Api-Timestamp", "X-Api-Nonce", "X-Api-Signature"]) {
      const body = JSON.stringify(seedCommand());
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        ...signedHeaders(caller.secret, {
          method: "POST",
          path: COMMANDS_PATH,
          clientId: caller.client_id,
          timestamp: String(nowSeconds()),
          nonce: newNonce(),
          body,
        }),
      };
      delete headers[missing];
      const res = await caller.http.request("POST", COMMANDS_PATH, {
        body,
        headers,
        unsigned: true,
      });
      assert.equal(res.status, 401, missing);
      assert.equal(res.body.code, "UNAUTHORIZED");
    }
  });

  test("an unknown client and a disabled client get the same UNAUTHORIZED answer", async () => {
    const unknown = createDownlinkClient({
      baseUrl: f.baseUrl,
      clientId: "ak_000000000000000000000000",
      secret: "whatever",
      now: nowSeconds,
    });
    const a = await unknown.createCommand(seedCommand());
    const disabled = await f.createClient();
    await f.clients.setStatus(disabled.client_id, "DISABLED");
    const b = await disabled.http.createCommand(seedCommand());
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.body.code, "UNAUTHORIZED");
    assert.equal(b.body.code, "UNAUTHORIZED");
    assert.equal(a.body.message, b.body.message);
  });

  test("a disabled client stops working once the client cache expires (2 s)", async () => {
    const c = await f.createClient();
    assert.equal((await c.http.createCommand(seedCommand())).status, 202);
    await f.clients.setStatus(c.client_id, "DISABLED");
    clock.advance(2_100);
    const res = await c.http.createCommand(seedCommand());
    assert.equal(res.status, 401);
    assert.equal(res.body.code, "UNAUTHORIZED");
  });

  test("a tampered body is SIGNATURE_INVALID and nothing is stored", async () => {
    const before = await count();
    const signedBody = JSON.stringify(seedCommand());
    const sent = signedBody.replace("drone-001", "drone-002");
    const res = await caller.http.request("POST", COMMANDS_PATH, {
      body: sent,
      headers: signedHeaders(caller.secret, {
        method: "POST",
        path: COMMANDS_PATH,
        clientId: caller.client_id,
        timestamp: String(nowSeconds()),
        nonce: newNonce(),
        body: signedBody,
      }),
      unsigned: true,
    });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, "SIGNATURE_INVALID");
    assert.equal(await count(), before);
  });

  test("a signature made with another secret is SIGNATURE_INVALID", async () => {
    const forger = createDownlinkClient({
      baseUrl: f.baseUrl,
      clientId: caller.client_id,
      secret: "not-the-secret",
      now: nowSeconds,
    });
    const res = await forger.createCommand(seedCommand());
    assert.equal(res.status, 401);
    assert.equal(res.body.code, "SIGNATURE_INVALID");
  });

  test("a signature over another path or method is SIGNATURE_INVALID", async () => {
    const id = "01900000-0000-7000-8000-000000000000";
    const headers = signedHeaders(caller.secret, {
      method: "GET",
      path: `${COMMANDS_PATH}/${id}`,
      clientId: caller.client_id,
      timestamp: String(nowSeconds()),
      nonce: newNonce(),
    });
    const res = await caller.http.request(
      "GET",
      `${COMMANDS_PATH}/01900000-0000-7000-8000-000000000001`,
      {
        headers,
        unsigned: true,
      },
    );
    assert.equal(res.body.code, "SIGNATURE_INVALID");
  });

  test("the query string is signed in canonical order", async () => {
    const created = await caller.http.createCommand(seedCommand());
    const path = `${COMMANDS_PATH}/${created.body.command_id}`;
    const headers = signedHeaders(caller.secret, {
      method: "GET",
      path,
      query: "a=1&b=x%20y",
      clientId: caller.client_id,
      timestamp: String(nowSeconds()),
      nonce: newNonce(),
    });
    const ok = await caller.http.request("GET", `${path}?b=x%20y&a=1`, { headers, unsigned: true });
    assert.equal(ok.status, 200);
    const changed = await caller.http.request("GET", `${path}?b=x&a=1`, {
      headers: { ...headers, "X-Api-Nonce": newNonce() },
      unsigned: true,
    });
    assert.equal(changed.body.code, "SIGNATURE_INVALID");
  });

  test("a timestamp outside the default 300 s skew is TIMESTAMP_EXPIRED", async () => {
    for (const offset of [-301, 301]) {
      const res = await caller.http.request("POST", COMMANDS_PATH, {
        body: seedCommand(),
        timestamp: nowSeconds() + offset,
      });
      assert.equal(res.status, 401, `offset ${offset}`);
      assert.equal(res.body.code, "TIMESTAMP_EXPIRED");
    }
    const within = await caller.http.request("POST", COMMANDS_PATH, {
      body: seedCommand(),
      timestamp: nowSeconds() - 290,
    });
    assert.equal(within.status, 202);
  });

  test("each client's own clock skew applies", async () => {
    const strict = await f.createClient({ allowedClockSkewSeconds: 10 });
    const res = await strict.http.request("POST", COMMANDS_PATH, {
      body: seedCommand(),
      timestamp: nowSeconds() - 11,
    });
    assert.equal(res.body.code, "TIMESTAMP_EXPIRED");
    const ok = await strict.http.request("POST", COMMANDS_PATH, {
      body: seedCommand(),
      timestamp: nowSeconds() - 9,
    });
    assert.equal(ok.status, 202);
  });

  test("a replayed nonce is NONCE_REPLAYED, even with a fresh signature and body", async () => {
    const nonce = newNonce();
    const first = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(first.status, 202);
    const replay = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.code, "NONCE_REPLAYED");
    // Nonces are per client: another client may use the same one.
    const other = await f.createClient();
    const theirs = await other.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(theirs.status, 202);
  });

  test("a replayed nonce on a new command accepts nothing", async () => {
    const nonce = newNonce();
    assert.equal(
      (await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce })).status,
      202,
    );
    const before = await count();
    // Signed anew over another command: only the nonce is reused.
    const replay = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(replay.body.code, "NONCE_REPLAYED");
    assert.equal(await count(), before);
  });

  test("one nonce on two commands at once accepts one of them", async () => {
    const nonce = newNonce();
    const before = await count();
    const answers = await Promise.all([
      caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce }),
      caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce }),
    ]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [202, 401]);
    assert.equal(answers.find((a) => a.status === 401)!.body.code, "NONCE_REPLAYED");
    assert.equal(await count(), before + 1);
  });

  test("a command refused for its body does not spend its nonce", async () => {
    // The accept claims the nonce in the statement that inserts the command.
    const nonce = newNonce();
    const invalid = await caller.http.request("POST", COMMANDS_PATH, {
      body: seedCommand({ vendor: "acme" }),
      nonce,
    });
    assert.equal(invalid.status, 400);
    const valid = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(valid.status, 202);
  });

  const UNKNOWN_ID = "01900000-0000-7000-8000-000000000000";

  test("a nonce can be used again once the client's replay window has passed", async () => {
    const c = await f.createClient({ replayWindowSeconds: 60, allowedClockSkewSeconds: 5 });
    const nonce = newNonce();
    assert.equal(
      (await c.http.request("GET", `${COMMANDS_PATH}/${UNKNOWN_ID}`, { nonce })).status,
      404,
    );
    clock.advance(30_000);
    const early = await c.http.request("GET", `${COMMANDS_PATH}/${UNKNOWN_ID}`, { nonce });
    assert.equal(early.body.code, "NONCE_REPLAYED");
    clock.advance(31_000);
    assert.equal(
      (await c.http.request("GET", `${COMMANDS_PATH}/${UNKNOWN_ID}`, { nonce })).status,
      404,
    );
  });

  test("a malformed nonce is UNAUTHORIZED", async () => {
    for (const nonce of ["short", "has space in it 123", "x".repeat(65)]) {
      const res = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
      assert.equal(res.body.code, "UNAUTHORIZED", nonce);
    }
  });

  test("a rejected request does not spend its nonce", async () => {
    const nonce = newNonce();
    const stale = await caller.http.request("POST", COMMANDS_PATH, {
      body: seedCommand(),
      nonce,
      timestamp: nowSeconds() - 1000,
    });
    assert.equal(stale.body.code, "TIMESTAMP_EXPIRED");
    const fresh = await caller.http.request("POST", COMMANDS_PATH, { body: seedCommand(), nonce });
    assert.equal(fresh.status, 202);
  });
});

describe("403", () => {
  test("a device outside the client's grants is FORBIDDEN and nothing is stored", async () => {
    const before = await count();
    const res = await caller.http.createCommand(seedCommand({ device_id: "drone-002" }));
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "FORBIDDEN");
    assert.equal(await count(), before);
  });

  test("a trailing * in a grant covers every device with that prefix", async () => {
    const res = await caller.http.createCommand(seedCommand({ device_id: "dock-7.A_b" }));
    assert.equal(res.status, 202);
    const outside = await caller.http.createCommand(seedCommand({ device_id: "dockx" }));
    assert.equal(outside.status, 403);
  });

  test("creating without open:command:create is FORBIDDEN", async () => {
    const reader = await f.createClient({ scopes: ["open:command:read"] });
    const res = await reader.http.createCommand(seedCommand());
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "FORBIDDEN");
  });

  test("reading without open:command:read is FORBIDDEN", async () => {
    const writer = await f.createClient({ scopes: ["open:command:create"] });
    const created = await writer.http.createCommand(seedCommand());
    assert.equal(created.status, 202);
    const res = await writer.http.getCommand(created.body.command_id);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "FORBIDDEN");
  });
});
