// Listing a tenant's commands against real Postgres and NATS: tenant isolation, newest first,
// keyset pages, every filter, signed queries and the 400s.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ApiFixture,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import { newNonce, signedHeaders } from "../../src/http/signing.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

interface Arranged {
  at: string;
  status?: string;
  device?: string;
  type?: string;
}

/** Accepts one command per entry over HTTP, then sets its accepted_at (and more) in Postgres. */
async function arrange(client: TestClient, entries: Arranged[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of entries) {
    const res = await client.http.createCommand(seedCommand({ device_id: e.device ?? "dock-1" }));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.command_id as string;
    await f.sql`update commands set accepted_at = ${e.at}::text::timestamptz,
      status = ${e.status ?? "ACCEPTED"}, command_type = ${e.type ?? "fileupload_start"}
      where command_id = ${id}`;
    ids.push(id);
  }
  return ids;
}

async function list(client: TestClient, query = "") {
  return await client.http.request("GET", `${COMMANDS_PATH}${query ? `?${query}` : ""}`);
}

describe("GET /api/v1/open/downlink/commands", () => {
  test("lists only the caller's tenant's commands, newest first, as Query Responses", async () => {
    const caller = await f.createClient();
    const stranger = await f.createClient();
    const [a, b, c] = await arrange(caller, [
      { at: "2026-01-01T00:00:01Z" },
      { at: "2026-01-01T00:00:03Z" },
      { at: "2026-01-01T00:00:02Z" },
    ]);
    await arrange(stranger, [{ at: "2026-01-01T00:00:04Z" }]);

    const res = await list(caller);

    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((i: any) => i.command_id), [b, c, a]);
    assert.equal(res.body.next_cursor, undefined);
    assert.deepEqual(res.body.items[0], (await caller.http.getCommand(b)).body);
    assert.ok(!("payload" in res.body.items[0]));
  });

  test("next_cursor walks every command exactly once, ties and microseconds included", async () => {
    const caller = await f.createClient();
    const ids = await arrange(caller, [
      { at: "2026-02-01T00:00:00.000001Z" },
      { at: "2026-02-01T00:00:00.000002Z" },
      { at: "2026-02-01T00:00:00.000002Z" },
      { at: "2026-02-01T00:00:00.000003Z" },
      { at: "2026-02-01T00:00:00.000002Z" },
    ]);
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await list(caller, `limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pageSizes.push(res.body.items.length);
      seen.push(...res.body.items.map((i: any) => i.command_id));
      cursor = res.body.next_cursor;
      if (cursor) assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    } while (cursor);

    assert.deepEqual(pageSizes, [2, 2, 1]);
    assert.equal(new Set(seen).size, 5);
    const tied = [ids[1], ids[2], ids[4]].sort().reverse();
    assert.deepEqual(seen, [ids[3], ...tied, ids[0]]);
  });

  test("filters by status list, device, command type and an accepted_at window", async () => {
    const caller = await f.createClient();
    const [, match1, , , match2] = await arrange(caller, [
      { at: "2026-03-01T00:00:00Z", status: "SUCCEEDED", device: "dock-a" }, // before the window
      { at: "2026-03-02T00:00:00Z", status: "SUCCEEDED", device: "dock-a" },
      { at: "2026-03-02T00:00:00Z", status: "ACCEPTED", device: "dock-a" }, // status
      { at: "2026-03-02T00:00:00Z", status: "FAILED", device: "dock-b" }, // device
      { at: "2026-03-02T01:00:00Z", status: "FAILED", device: "dock-a" },
      { at: "2026-03-02T02:00:00Z", status: "FAILED", device: "dock-a", type: "camera_aim" },
      { at: "2026-03-03T00:00:00Z", status: "FAILED", device: "dock-a" }, // the window's end
    ]);

    const res = await list(
      caller,
      "status=SUCCEEDED,FAILED&device_id=dock-a&command_type=fileupload_start" +
        "&accepted_after=2026-03-02T00:00:00%2B00:00&accepted_before=2026-03-03T00:00:00Z",
    );

    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.items.map((i: any) => i.command_id), [match2, match1]);
  });

  test("limit defaults to 50 and caps a page", async () => {
    const caller = await f.createClient();
    await arrange(
      caller,
      Array.from({ length: 52 }, (_, i) => ({
        at: `2026-04-01T00:00:${String(i).padStart(2, "0")}Z`,
      })),
    );
    const first = await list(caller);
    assert.equal(first.body.items.length, 50);
    assert.ok(first.body.next_cursor);
    const rest = await list(caller, `cursor=${first.body.next_cursor}`);
    assert.equal(rest.body.items.length, 2);
    assert.equal(rest.body.next_cursor, undefined);
  });

  test("a malformed cursor returns 400 VALIDATION_FAILED naming query.cursor", async () => {
    const caller = await f.createClient();
    for (const cursor of ["not-a-cursor", "!!", btoa("2026-01-01|x").replace(/=+$/, "")]) {
      const res = await list(caller, `cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, cursor);
      assert.equal(res.body.code, "VALIDATION_FAILED");
      assert.deepEqual(res.body.details.map((d: any) => d.path), ["query.cursor"]);
    }
  });

  test("every bad parameter is listed in details", async () => {
    const caller = await f.createClient();
    const res = await list(
      caller,
      "status=DONE&device_id=a/b&command_type=self_destruct&accepted_after=yesterday" +
        "&limit=201&colour=red",
    );
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details.map((d: any) => d.path).sort(), [
      "query.accepted_after",
      "query.colour",
      "query.command_type",
      "query.device_id",
      "query.limit",
      "query.status",
    ]);
    for (const limit of ["0", "-1", "1.5", "abc"]) {
      assert.equal((await list(caller, `limit=${limit}`)).status, 400, limit);
    }
  });

  test("a client without open:command:read gets 403 FORBIDDEN", async () => {
    const writer = await f.createClient({ scopes: ["open:command:create"] });
    const res = await list(writer);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, "FORBIDDEN");
  });

  test("the query string is signed: the same headers with another query are refused", async () => {
    const caller = await f.createClient();
    const query = "status=FAILED&limit=5";
    const sign = () =>
      signedHeaders(caller.secret, {
        method: "GET",
        path: COMMANDS_PATH,
        query,
        clientId: caller.client_id,
        timestamp: String(Math.floor(Date.now() / 1000)),
        nonce: newNonce(),
      });
    const ok = await caller.http.request("GET", `${COMMANDS_PATH}?limit=5&status=FAILED`, {
      headers: sign(),
      unsigned: true,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const widened = await caller.http.request("GET", `${COMMANDS_PATH}?status=FAILED&limit=50`, {
      headers: sign(),
      unsigned: true,
    });
    assert.equal(widened.status, 401);
    assert.equal(widened.body.code, "SIGNATURE_INVALID");
    const dropped = await caller.http.request("GET", COMMANDS_PATH, {
      headers: sign(),
      unsigned: true,
    });
    assert.equal(dropped.body.code, "SIGNATURE_INVALID");
  });
});
