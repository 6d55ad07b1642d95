// The typed client against a running Downlink (api, shard, bridge on the machine's services) and
// a simulated dock: send, get, list over pages, wait (and waitOnce), and each error answer as its
// typed error.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { createDockSimulator, type DockSimulator } from "../../src/cli/dock_simulate.ts";
import { createPostgresClientStore } from "../../src/store/client_store.ts";
import {
  type CommandClient,
  CommandNotFoundError,
  createCommandClient,
  DownlinkApiError,
  IdempotencyConflictError,
  type SendCommand,
  SignatureInvalidError,
  UnsupportedCommandError,
  ValidationFailedError,
} from "../../src/client/index.ts";

let f: LifecycleFixture;
let client: CommandClient;
let credentials: { clientId: string; secret: string };
const docks: DockSimulator[] = [];

const PAYLOAD: SendCommand<"fileupload_start">["payload"] = {
  bucket: "b",
  region: "r",
  credentials: { access_key_id: "id", access_key_secret: "s", security_token: "t", expire: 0 },
  endpoint: "e",
  provider: "aws",
  params: { files: [{ module: "0", object_key: "k", list: {} }] },
};

before(async () => {
  f = await startLifecycleFixture();
  const { sql, cipher } = f.harness.downlink.context;
  const { client: created, secret } = await createPostgresClientStore(sql, cipher).createClient({
    tenantId: `tenant_${crypto.randomUUID().slice(0, 8)}`,
    name: "typed client test",
    devices: [f.device("*")],
  });
  credentials = { clientId: created.client_id, secret };
  client = createCommandClient({ baseUrl: f.harness.baseUrl, ...credentials });
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f?.stop();
});

async function dock(label: string, options: { silent?: boolean } = {}): Promise<string> {
  const sn = f.device(label);
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0, ...options }));
  return sn;
}

describe("send, get and wait", () => {
  test("send answers the 202; wait resolves SUCCEEDED once the dock replied", async () => {
    const sn = await dock("ok");
    const accepted = await client.send({
      device_id: sn,
      command_type: "fileupload_start",
      payload: PAYLOAD,
      timeout_seconds: 10,
    });
    assert.equal(accepted.status, "ACCEPTED");
    assert.match(accepted.command_id, /^[0-9a-f-]{36}$/);
    assert.equal(accepted.replayed, false);

    const done = await client.wait(accepted.command_id);

    assert.equal(done.status, "SUCCEEDED");
    assert.equal(done.response_code, "0");
    assert.deepEqual(await client.get(accepted.command_id), done);
  });

  test("wait until finished resolves with the job's terminal progress, not the reply", async () => {
    const sn = f.device("job");
    docks.push(
      await createDockSimulator({
        mqttUrl: f.mqttUrl,
        sn,
        result: 0,
        progress: { steps: 2, intervalMs: 300 },
      }),
    );
    const { command_id } = await client.send({
      device_id: sn,
      command_type: "cover_open",
      payload: {},
      timeout_seconds: 10,
    });
    const done = await client.wait(command_id, { until: "finished", timeoutSeconds: 10 });
    assert.equal(done.progress?.status, "ok");
    assert.ok(done.progress?.finished_at);
  });

  test("the same idempotency key answers the same command, marked replayed", async () => {
    const sn = await dock("replay");
    const command = {
      device_id: sn,
      command_type: "fileupload_start" as const,
      payload: PAYLOAD,
      idempotency_key: `k-${crypto.randomUUID()}`,
    };
    const first = await client.send(command);
    const second = await client.send(command);
    assert.equal(second.command_id, first.command_id);
    assert.equal(second.replayed, true);
    await assert.rejects(
      client.send({ ...command, payload: { ...PAYLOAD, bucket: "other" } }),
      IdempotencyConflictError,
    );
  });

  test("wait with a timeout resolves with the state it has when the time is up", async () => {
    const sn = await dock("silent", { silent: true });
    const { command_id } = await client.send({
      device_id: sn,
      command_type: "fileupload_start",
      payload: PAYLOAD,
      timeout_seconds: 30,
    });
    const started = Date.now();
    const state = await client.wait(command_id, { timeoutSeconds: 1 });
    const ms = Date.now() - started;
    assert.ok(["ACCEPTED", "DELIVERED"].includes(state.status), state.status);
    assert.ok(ms >= 900 && ms < 5_000, `took ${ms} ms`);
  });

  test("waitOnce says whether what it waited for happened: a reply is in, a job may not be", async () => {
    // A dock that answers result 0 and reports no progress: terminal, never finished.
    const sn = await dock("once");
    const { command_id } = await client.send({
      device_id: sn,
      command_type: "fileupload_start",
      payload: PAYLOAD,
      timeout_seconds: 10,
    });
    const terminal = await client.waitOnce(command_id, { timeoutSeconds: 10 });
    assert.equal(terminal.state.status, "SUCCEEDED");
    assert.equal(terminal.reached, true);
    const started = Date.now();
    const finished = await client.waitOnce(command_id, { timeoutSeconds: 0.2, until: "finished" });
    assert.equal(finished.state.status, "SUCCEEDED");
    assert.equal(finished.reached, false);
    // 0.2 s is asked for as the whole second the API counts in.
    assert.ok(Date.now() - started >= 900, `took ${Date.now() - started} ms`);
  });
});

describe("list", () => {
  test("iterates every page of the filtered commands, newest first", async () => {
    const sn = await dock("list");
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push(
        (await client.send({ device_id: sn, command_type: "fileupload_start", payload: PAYLOAD }))
          .command_id,
      );
    }
    const pages = [];
    for await (const page of client.list({ device_id: sn, limit: 2 })) pages.push(page);
    assert.deepEqual(pages.map((p) => p.items.length), [2, 2, 1]);
    assert.deepEqual(pages.flatMap((p) => p.items.map((c) => c.command_id)), sent.reverse());
    assert.equal(pages[2].next_cursor, undefined);
  });

  test("a status filter the API refuses is a ValidationFailedError naming the parameter", async () => {
    const pages = client.list({ status: "DONE" as never });
    await assert.rejects(pages.next(), (e: unknown) => {
      assert.ok(e instanceof ValidationFailedError, String(e));
      assert.equal(e.status, 400);
      assert.deepEqual(e.details.map((d) => d.path), ["query.status"]);
      return true;
    });
  });
});

describe("typed errors", () => {
  test("an unknown command id is a CommandNotFoundError with the request id", async () => {
    await assert.rejects(client.get(crypto.randomUUID()), (e: unknown) => {
      assert.ok(e instanceof CommandNotFoundError, String(e));
      assert.ok(e instanceof DownlinkApiError, String(e));
      assert.equal(e.code, "COMMAND_NOT_FOUND");
      assert.equal(e.status, 404);
      assert.ok(e.requestId.length > 0, "a request id");
      return true;
    });
  });

  test("a wrong secret is a SignatureInvalidError", async () => {
    const wrong = createCommandClient({ baseUrl: f.harness.baseUrl, ...credentials, secret: "x" });
    await assert.rejects(wrong.get(crypto.randomUUID()), SignatureInvalidError);
  });

  test("a payload out of DJI's range is a ValidationFailedError with the JSON path", async () => {
    const sn = await dock("range");
    await assert.rejects(
      client.send({
        device_id: sn,
        command_type: "camera_focal_length_set",
        payload: { payload_index: "39-0-7", camera_type: "zoom", zoom_factor: 999 },
      }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationFailedError, String(e));
        assert.ok(e.details.some((d) => d.path === "$.payload.zoom_factor"), e.message);
        return true;
      },
    );
  });

  test("a command type outside the catalog is refused by the types and by the API", async () => {
    const sn = await dock("unknown");
    await assert.rejects(
      client.send({
        device_id: sn,
        // @ts-expect-error: not a catalog command, so not a CommandType
        command_type: "self_destruct",
        payload: {},
      }),
      UnsupportedCommandError,
    );
  });
});

test("send's payload is typed by the command type", () => {
  // Compile-time only (tsc): each line would be an error without the generated payload types.
  const ok: SendCommand<"camera_aim"> = {
    device_id: "d",
    command_type: "camera_aim",
    payload: { payload_index: "1", camera_type: "wide", locked: true, x: 0.5, y: 0.5 },
  };
  const { x: _x, ...withoutX } = ok.payload;
  // @ts-expect-error: camera_type must be ir, wide or zoom
  const badEnum: SendCommand<"camera_aim">["payload"] = { ...withoutX, x: 1, camera_type: "x" };
  // @ts-expect-error: x is required
  const missing: SendCommand<"camera_aim">["payload"] = withoutX;
  assert.ok(badEnum && missing, "typed");
});
