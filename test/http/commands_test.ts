// The seed's two endpoints against real Postgres and NATS: every row of the request contract,
// idempotency, the Query Response and the error envelope.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type ApiFixture,
  SEED_BODY,
  seedCommand,
  startApiFixture,
  type TestClient,
} from "../support/api_fixtures.ts";
import { COMMANDS_PATH } from "../../src/client/downlink_client.ts";
import { newNonce, signedHeaders } from "../../src/http/signing.ts";

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let f: ApiFixture;
let caller: TestClient;

before(async () => {
  f = await startApiFixture();
  caller = await f.createClient();
});
after(async () => {
  await f?.stop();
});

async function rows(idempotencyKey: string): Promise<number> {
  const [{ n }] = await f.sql<{ n: number }[]>`
    select count(*)::int as n from commands where idempotency_key = ${idempotencyKey}`;
  return n;
}

describe("POST /api/v1/open/downlink/commands", () => {
  test("the seed's curl example, byte for byte, is accepted with 202", async () => {
    const res = await caller.http.createCommand(SEED_BODY);
    assert.equal(res.status, 202);
    assert.deepEqual(Object.keys(res.body).sort(), [
      "accepted_at",
      "command_id",
      "request_id",
      "status",
    ]);
    assert.match(res.body.command_id, UUID_V7);
    assert.equal(res.body.status, "ACCEPTED");
    assert.match(res.body.accepted_at, RFC3339_MS);
    assert.equal(res.headers.get("x-request-id"), res.body.request_id);
    const [row] = await f.sql`select status, device_id, timeout_seconds, client_id
      from commands where command_id = ${res.body.command_id}`;
    assert.deepEqual({ ...row }, {
      status: "ACCEPTED",
      device_id: "drone-001",
      timeout_seconds: 30,
      client_id: caller.client_id,
    });
  });

  test("the caller's X-Request-Id is echoed in the header and the body", async () => {
    const res = await caller.http.request("POST", COMMANDS_PATH, {
      body: seedCommand(),
      headers: { "X-Request-Id": "trace-42" },
    });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get("x-request-id"), "trace-42");
    assert.equal(res.body.request_id, "trace-42");
  });

  test("files[].list as an array of {boot_index} and expire in epoch ms are accepted", async () => {
    const body = seedCommand();
    body.payload.params.files[0].list = [{ boot_index: 3 }];
    body.payload.credentials.expire = 1776859200000;
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  test("unknown fields inside payload pass through", async () => {
    const body = seedCommand();
    body.payload.firmware_extra = { x: 1 };
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [row] = await f.sql<{ payload_enc: Uint8Array }[]>`
      select payload_enc from commands where command_id = ${res.body.command_id}`;
    const stored = JSON.parse(f.cipher.openText(row.payload_enc, res.body.command_id));
    assert.deepEqual(stored.firmware_extra, { x: 1 });
  });

  test("the payload is stored encrypted, bound to the command id", async () => {
    const body = seedCommand();
    body.payload.credentials.access_key_secret = "TOPSECRET-abcdef";
    const res = await caller.http.createCommand(body);
    const [row] = await f.sql<{ payload_enc: Uint8Array }[]>`
      select payload_enc from commands where command_id = ${res.body.command_id}`;
    assert.ok(!new TextDecoder().decode(row.payload_enc).includes("TOPSECRET"));
    assert.deepEqual(
      JSON.parse(f.cipher.openText(row.payload_enc, res.body.command_id)),
      body.payload,
    );
    assert.throws(() => f.cipher.open(row.payload_enc, "another-command"));
  });

  test("omitted or 0 timeout_seconds means the default of 30 s", async () => {
    for (const timeout of [undefined, 0]) {
      const body = seedCommand({ timeout_seconds: timeout });
      const res = await caller.http.createCommand(body);
      assert.equal(res.status, 202);
      const view = (await caller.http.getCommand(res.body.command_id)).body;
      assert.equal(view.timeout_seconds, 30);
      assert.equal(Date.parse(view.deadline_at) - Date.parse(view.accepted_at), 30_000);
    }
  });

  test("a vendor other than dji returns 400 UNSUPPORTED_VENDOR", async () => {
    const res = await caller.http.createCommand(seedCommand({ vendor: "autel" }));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "UNSUPPORTED_VENDOR");
  });

  test("a command type outside the catalog returns 400 UNSUPPORTED_COMMAND", async () => {
    const res = await caller.http.createCommand(seedCommand({ command_type: "self_destruct" }));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "UNSUPPORTED_COMMAND");
  });

  test("device ids that cannot be a topic level or subject token are rejected", async () => {
    const bad = ["", "a/b", "a+b", "a#b", "a*b", "a>b", "a b", "a\u0001b", "-lead", "x".repeat(65)];
    for (const device_id of bad) {
      const res = await caller.http.createCommand(seedCommand({ device_id }));
      assert.equal(res.status, 400, `device_id ${JSON.stringify(device_id)}`);
      assert.equal(res.body.code, "VALIDATION_FAILED");
      assert.deepEqual(res.body.details.map((d: { path: string }) => d.path), ["$.device_id"]);
    }
  });

  test("idempotency keys must be 1-128 printable ASCII characters", async () => {
    for (const idempotency_key of ["", "k".repeat(129), "clé", "tab\tkey", 5]) {
      const res = await caller.http.createCommand(seedCommand({ idempotency_key }));
      assert.equal(res.status, 400, `key ${JSON.stringify(idempotency_key)}`);
      assert.deepEqual(res.body.details.map((d: { path: string }) => d.path), [
        "$.idempotency_key",
      ]);
    }
    const ok = await caller.http.createCommand(seedCommand({ idempotency_key: "k".repeat(128) }));
    assert.equal(ok.status, 202);
  });

  test("timeout_seconds outside 0-300 or not an integer is rejected", async () => {
    for (const timeout_seconds of [301, -1, 1.5, "30", null]) {
      const res = await caller.http.createCommand(seedCommand({ timeout_seconds }));
      assert.equal(res.status, 400, `timeout ${JSON.stringify(timeout_seconds)}`);
      assert.equal(res.body.details[0].path, "$.timeout_seconds");
    }
    assert.match(
      (await caller.http.createCommand(seedCommand({ timeout_seconds: 301 }))).body.message,
      /timeout_seconds must be an integer 0-300, got 301/,
    );
    assert.equal(
      (await caller.http.createCommand(seedCommand({ timeout_seconds: 300 }))).status,
      202,
    );
  });

  test("every offending path is listed, envelope and payload together", async () => {
    const body = seedCommand({ extra: true, device_id: "a/b", timeout_seconds: 999 });
    body.payload.bucket = 7;
    delete body.payload.region;
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details.map((d: { path: string }) => d.path).sort(), [
      "$.device_id",
      "$.extra",
      "$.payload.bucket",
      "$.payload.region",
      "$.timeout_seconds",
    ]);
    for (const d of res.body.details) assert.equal(typeof d.reason, "string");
  });

  test("missing required fields and a non-object body are validation failures", async () => {
    const res = await caller.http.createCommand({ vendor: "dji" } as never);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.details.map((d: { path: string }) => d.path).sort(), [
      "$.command_type",
      "$.device_id",
      "$.idempotency_key",
    ]);
    const arr = await caller.http.createCommand("[1,2]");
    assert.equal(arr.status, 400);
    assert.equal(arr.body.code, "VALIDATION_FAILED");
  });

  test("unparseable JSON returns 400 INVALID_REQUEST_BODY", async () => {
    const res = await caller.http.createCommand('{"vendor":');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "INVALID_REQUEST_BODY");
  });

  test("a body nested 5,000 levels deep returns 400 naming where it passed 64 levels", async () => {
    const key = `key-${crypto.randomUUID()}`;
    const deepObject = '{"a":'.repeat(5_000) + "1" + "}".repeat(5_000);
    const deepArray = "[".repeat(5_000) + "]".repeat(5_000);
    // Valid but for the depth: unknown fields pass the payload schema untouched.
    const seed = SEED_BODY.replace("req-fileupload_start-001", key);
    const cases = [
      {
        raw: seed.replace('"params":{', `"params":{"a":${deepObject},`),
        path: "$.payload.params" + ".a".repeat(62),
      },
      {
        raw: seed.replace('"payload":{', `"payload":{"padding":${deepArray},`),
        path: "$.payload.padding" + "[0]".repeat(62),
      },
    ];
    for (const { raw, path } of cases) {
      assert.ok(raw.length < 64 * 1024 && raw.length > 10_000, `${raw.length} bytes`);
      const res = await caller.http.createCommand(raw);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, "VALIDATION_FAILED");
      assert.deepEqual(res.body.details, [
        { path, reason: "is nested deeper than 64 levels" },
      ]);
      assert.equal(
        res.body.message,
        `Cannot accept command: ${path} is nested deeper than 64 levels`,
      );
    }
    assert.equal(await rows(key), 0);
  });

  test("a content type other than JSON returns 415", async () => {
    const res = await caller.http.request("POST", COMMANDS_PATH, {
      body: SEED_BODY,
      headers: { "Content-Type": "text/plain" },
    });
    assert.equal(res.status, 415);
    assert.equal(res.body.code, "UNSUPPORTED_MEDIA_TYPE");
  });

  test("a body over 64 KiB returns 413 and nothing is stored", async () => {
    const body = seedCommand();
    body.payload.padding = "x".repeat(64 * 1024);
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 413);
    assert.equal(res.body.code, "PAYLOAD_TOO_LARGE");
    assert.equal(await rows(body.idempotency_key), 0);
  });

  test("every error is the envelope {code, message, request_id}", async () => {
    const res = await caller.http.createCommand(seedCommand({ vendor: 1 }));
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), ["code", "details", "message", "request_id"]);
    assert.equal(res.body.request_id, res.headers.get("x-request-id"));
    const unauth = await fetch(f.baseUrl + COMMANDS_PATH, { method: "GET" });
    const body = await unauth.json();
    assert.deepEqual(Object.keys(body).sort(), ["code", "message", "request_id"]);
    assert.ok(unauth.headers.get("x-request-id"));
  });
});

describe("POST /api/v1/open/downlink/commands: payloads of catalog commands", () => {
  /** A fly_to_point body the reference platform accepts, with a fresh idempotency key. */
  function flyToPoint(): Record<string, any> {
    return {
      vendor: "dji",
      device_id: "dock-flyto-1",
      command_type: "fly_to_point",
      idempotency_key: `key-${crypto.randomUUID()}`,
      payload: {
        fly_to_id: "fly-1",
        max_speed: 12,
        points: [{ latitude: 22.5, longitude: 113.9, height: 120 }],
      },
    };
  }

  test("a fly_to_point within DJI's ranges is accepted with 202", async () => {
    const res = await caller.http.createCommand(flyToPoint());
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  test("max_speed 99 is 400 VALIDATION_FAILED naming $.payload.max_speed", async () => {
    const body = flyToPoint();
    body.payload.max_speed = 99;
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details, [
      { path: "$.payload.max_speed", reason: "must be 0-15, got 99" },
    ]);
    assert.equal(
      res.body.message,
      "Cannot accept command: $.payload.max_speed must be 0-15, got 99",
    );
    assert.equal(await rows(body.idempotency_key), 0);
  });

  test("a fly_to_point without points is 400 VALIDATION_FAILED naming $.payload.points", async () => {
    const body = flyToPoint();
    delete body.payload.points;
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details, [{ path: "$.payload.points", reason: "is required" }]);
    assert.equal(await rows(body.idempotency_key), 0);
  });

  test("a second flyto point and a latitude past 90 are each named", async () => {
    const body = flyToPoint();
    const point = body.payload.points[0];
    body.payload.points = [point, { ...point, latitude: 91 }];
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.details, [
      { path: "$.payload.points", reason: "must have exactly 1 item, got 2" },
      { path: "$.payload.points[1].latitude", reason: "must be from -90 to 90, got 91" },
    ]);
  });

  test("unknown fields in a fly_to_point pass through to the stored payload", async () => {
    const body = flyToPoint();
    body.payload.speed_profile = "gentle";
    body.payload.points[0].note = "roof";
    const res = await caller.http.createCommand(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [row] = await f.sql<{ payload_enc: Uint8Array }[]>`
      select payload_enc from commands where command_id = ${res.body.command_id}`;
    assert.deepEqual(
      JSON.parse(f.cipher.openText(row.payload_enc, res.body.command_id)),
      body.payload,
    );
  });
});

describe("idempotency", () => {
  test("the same key with the same request returns the same command, marked as replayed", async () => {
    const body = seedCommand();
    const first = await caller.http.createCommand(body);
    const again = await caller.http.createCommand({ ...body });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    assert.equal(again.status, 202);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(again.body.command_id, first.body.command_id);
    assert.equal(again.body.accepted_at, first.body.accepted_at);
    assert.equal(await rows(body.idempotency_key), 1);
  });

  test("a replay answers with the original acceptance whatever the command's state now", async () => {
    const body = seedCommand();
    const first = await caller.http.createCommand(body);
    await f
      .sql`update commands set status = 'SUCCEEDED' where command_id = ${first.body.command_id}`;
    const again = await caller.http.createCommand(body);
    assert.equal(again.status, 202);
    assert.deepEqual(
      [again.body.command_id, again.body.status, again.body.accepted_at],
      [first.body.command_id, "ACCEPTED", first.body.accepted_at],
    );
  });

  test("replay with a different body returns 409 IDEMPOTENCY_CONFLICT", async () => {
    const body = seedCommand();
    await caller.http.createCommand(body);
    const other = { ...body, payload: { ...body.payload, bucket: "another" } };
    const res = await caller.http.createCommand(other);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, "IDEMPOTENCY_CONFLICT");
    assert.equal(await rows(body.idempotency_key), 1);
  });

  test("two concurrent first requests with one key create one command", async () => {
    const body = seedCommand();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => caller.http.createCommand(body)),
    );
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(202));
    assert.equal(new Set(results.map((r) => r.body.command_id)).size, 1);
    assert.equal(results.filter((r) => r.headers.get("idempotent-replayed") === null).length, 1);
    assert.equal(await rows(body.idempotency_key), 1);
  });

  test("the same key used by two clients creates two commands", async () => {
    const other = await f.createClient({ tenantId: caller.tenant_id });
    const body = seedCommand();
    const a = await caller.http.createCommand(body);
    const b = await other.http.createCommand(body);
    assert.equal(b.status, 202);
    assert.notEqual(a.body.command_id, b.body.command_id);
  });
});

describe("GET /api/v1/open/downlink/commands/{command_id}", () => {
  test("returns the Query Response without the payload and without empty fields", async () => {
    const created = await caller.http.createCommand(seedCommand());
    const res = await caller.http.getCommand(created.body.command_id);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), [
      "accepted_at",
      "command_id",
      "command_type",
      "deadline_at",
      "device_id",
      "status",
      "timeout_seconds",
      "updated_at",
      "vendor",
    ]);
    assert.equal(res.body.command_id, created.body.command_id);
    assert.equal(res.body.status, "ACCEPTED");
    assert.equal(res.body.vendor, "dji");
    assert.equal(res.body.device_id, "drone-001");
    assert.equal(res.body.command_type, "fileupload_start");
    assert.equal(res.body.accepted_at, created.body.accepted_at);
    for (const k of ["accepted_at", "deadline_at", "updated_at"]) {
      assert.match(res.body[k], RFC3339_MS);
    }
  });

  test("response fields appear once the command has them", async () => {
    const created = await caller.http.createCommand(seedCommand());
    const id = created.body.command_id;
    await f.sql`update commands set status = 'FAILED', response_code = '314000',
      response_message = 'busy', vendor_response = ${f.sql.json({ tid: id, result: 314000 })},
      failure_code = 'DEVICE_EXECUTION_FAILED', completed_at = now(),
      response_received_at = now(), delivered_at = now() where command_id = ${id}`;
    const res = await caller.http.getCommand(id);
    assert.equal(res.body.status, "FAILED");
    assert.equal(res.body.response_code, "314000");
    assert.equal(res.body.response_message, "busy");
    assert.deepEqual(res.body.vendor_response, { tid: id, result: 314000 });
    assert.equal(res.body.failure_code, "DEVICE_EXECUTION_FAILED");
    for (const k of ["delivered_at", "completed_at", "response_received_at"]) {
      assert.match(res.body[k], RFC3339_MS);
    }
    assert.equal(res.body.failure_reason, undefined);
  });

  test("another tenant's command is 404 exactly like an unknown one", async () => {
    const created = await caller.http.createCommand(seedCommand());
    const stranger = await f.createClient();
    const theirs = await stranger.http.getCommand(created.body.command_id);
    const unknown = await stranger.http.getCommand("01900000-0000-7000-8000-000000000000");
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.code, "COMMAND_NOT_FOUND");
    assert.equal(unknown.status, 404);
    assert.equal(
      theirs.body.message.replace(created.body.command_id, "ID"),
      unknown.body.message.replace("01900000-0000-7000-8000-000000000000", "ID"),
    );
    // The owner still sees it.
    assert.equal((await caller.http.getCommand(created.body.command_id)).status, 200);
  });

  test("a command id that is not a UUID is 400 VALIDATION_FAILED naming path.command_id", async () => {
    const res = await caller.http.getCommand("not-a-uuid");
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "VALIDATION_FAILED");
    assert.deepEqual(res.body.details, [{ path: "path.command_id", reason: "must be a UUID" }]);
    assert.match(res.body.message, /path\.command_id must be a UUID, got "not-a-uuid"/);
  });
});

describe("health", () => {
  test("/healthz answers 200 without credentials", async () => {
    const res = await fetch(`${f.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  test("an unknown route is a 404 envelope", async () => {
    const res = await fetch(`${f.baseUrl}/nope`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, "NOT_FOUND");
  });
});

test("a signed request over a real socket matches app.request() in process", async () => {
  const body = JSON.stringify(seedCommand());
  const headers = {
    "Content-Type": "application/json",
    ...signedHeaders(caller.secret, {
      method: "POST",
      path: COMMANDS_PATH,
      clientId: caller.client_id,
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: newNonce(),
      body,
    }),
  };
  const res = await f.api!.app.request(COMMANDS_PATH, { method: "POST", headers, body });
  assert.equal(res.status, 202);
  assert.equal((await res.json()).status, "ACCEPTED");
});
