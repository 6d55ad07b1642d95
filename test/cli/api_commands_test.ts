// The CLI for API callers against a running Downlink and simulated docks: client create --out,
// command send (--wait), get, list, wait (--until finished), and events watch, with credentials
// from a client file, flags or the environment.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../../src/cli/main.ts";
import {
  createDockSimulator,
  type DockSimulator,
  type DockSimulatorOptions,
} from "../../src/cli/dock_simulate.ts";
import { type LifecycleFixture, startLifecycleFixture } from "../support/lifecycle_fixture.ts";
import { SEED_BODY } from "../support/api_fixtures.ts";

let f: LifecycleFixture;
let env: Record<string, string>;
let dir: string;
let clientFile: string;
let created: Record<string, string>;
const docks: DockSimulator[] = [];

before(async () => {
  f = await startLifecycleFixture();
  const c = f.harness.config;
  env = {
    DATABASE_URL: c.databaseUrl,
    DOWNLINK_DB_SCHEMA: c.dbSchema,
    NATS_URL: c.natsUrl,
    DOWNLINK_URL: f.harness.baseUrl,
    DOWNLINK_LOG_LEVEL: "silent",
  };
  dir = mkdtempSync(join(tmpdir(), "downlink-cli-"));
  clientFile = join(dir, "sub", "client.json");
  const r = await cli(
    "client",
    "create",
    "--tenant",
    `tenant_${crypto.randomUUID().slice(0, 8)}`,
    "--name",
    "cli",
    "--devices",
    f.device("*"),
    "--out",
    clientFile,
  );
  assert.equal(r.code, 0, r.err);
  created = JSON.parse(readFileSync(clientFile, "utf8"));
});

after(async () => {
  await Promise.allSettled(docks.map((d) => d.stop()));
  await f?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, {
    env,
    stdout: (t) => (out += t + "\n"),
    stderr: (t) => (err += t + "\n"),
  });
  return { code, out, err };
}

async function dock(
  label: string,
  options: Pick<DockSimulatorOptions, "silent" | "result" | "progress"> = {},
) {
  const sn = f.device(label);
  docks.push(await createDockSimulator({ mqttUrl: f.mqttUrl, sn, result: 0, ...options }));
  return sn;
}

const seedPayload = () => JSON.stringify(JSON.parse(SEED_BODY).payload);

describe("client create --out", () => {
  test("writes the client with its secret to a 0600 file and prints it without", async () => {
    assert.equal(statSync(clientFile).mode & 0o777, 0o600);
    assert.match(created.client_id, /^ak_/);
    assert.equal(typeof created.secret, "string");
    assert.equal(typeof created.tenant_id, "string");
    const again = await cli(
      "client",
      "create",
      "--tenant",
      created.tenant_id,
      "--name",
      "second",
      "--devices",
      "x",
      "--out",
      join(dir, "second.json"),
    );
    assert.equal(again.code, 0, again.err);
    assert.equal(
      again.out.includes(JSON.parse(readFileSync(join(dir, "second.json"), "utf8")).secret),
      false,
    );
    assert.match(again.out, /"written_to"/);
  });
});

describe("command send", () => {
  test("--wait prints the 202, then each step up to SUCCEEDED, and exits 0", async () => {
    const sn = await dock("ok");
    const r = await cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--device",
      sn,
      "--type",
      "fileupload_start",
      "--payload",
      seedPayload(),
      "--wait",
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0], /^202 ACCEPTED {2}command_id=[0-9a-f-]{36} {2}request_id=/);
    assert.match(lines.at(-1)!, /^SUCCEEDED +\S+Z +\+\d+\.\d{3} s {2}response_code=0$/);
    assert.ok(lines.length <= 3, r.out);
  });

  test("--file sends a request body as the API takes it; flags override its fields", async () => {
    const sn = await dock("file");
    const body = join(dir, "body.json");
    writeFileSync(body, SEED_BODY);
    const r = await cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--file",
      body,
      "--device",
      sn,
      "--key",
      `k-${crypto.randomUUID()}`,
      "--quiet",
    );
    assert.equal(r.code, 0, r.err);
    const id = r.out.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const got = await cli("command", "get", id, "--client-file", clientFile);
    assert.equal(got.code, 0, got.err);
    const state = JSON.parse(got.out);
    assert.equal(state.device_id, sn);
    assert.equal(state.command_type, "fileupload_start");
  });

  test("a silent dock: --wait ends TIMED_OUT with exit 3", async () => {
    const sn = await dock("silent", { silent: true });
    const r = await cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--device",
      sn,
      "--type",
      "fileupload_start",
      "--payload",
      seedPayload(),
      "--timeout",
      "2",
      "--wait",
    );
    assert.equal(r.code, 3, r.err);
    assert.match(r.out, /^DELIVERED +/m);
    assert.match(r.out, /^TIMED_OUT +.*failure_code=DEVICE_TIMEOUT/m);
  });

  test("an API error prints status, code, message and each detail, exit 1", async () => {
    const r = await cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--device",
      f.device("x"),
      "--type",
      "camera_focal_length_set",
      "--payload",
      '{"payload_index":"1","camera_type":"zoom","zoom_factor":999}',
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /^400 VALIDATION_FAILED: .*\(request_id [^)]+\)$/m);
    assert.match(r.err, /^ {2}\$\.payload\.zoom_factor: /m);
  });

  test("credentials from DOWNLINK_API_ID and DOWNLINK_API_SECRET; none at all is named", async () => {
    const sn = await dock("env");
    const saved = env;
    env = { ...env, DOWNLINK_API_ID: created.client_id, DOWNLINK_API_SECRET: created.secret };
    try {
      const r = await cli(
        "command",
        "send",
        "--device",
        sn,
        "--type",
        "fileupload_start",
        "--payload",
        seedPayload(),
        "--json",
      );
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).status_code, 202);
      env = { ...saved, DOWNLINK_CLIENT_FILE: join(dir, "missing.json") };
      const none = await cli("command", "list");
      assert.equal(none.code, 1);
      assert.match(none.err, /cannot read the client file .*missing\.json/);
    } finally {
      env = saved;
    }
  });
});

describe("command wait and list", () => {
  test("wait prints every step of a finished command; --timeout on an open one exits 4", async () => {
    const ok = await dock("wait-ok");
    const silent = await dock("wait-silent", { silent: true });
    const send = (sn: string) =>
      cli(
        "command",
        "send",
        "--client-file",
        clientFile,
        "--device",
        sn,
        "--type",
        "fileupload_start",
        "--payload",
        seedPayload(),
        "--quiet",
      ).then((r) => r.out.trim());
    const done = await send(ok);
    const open = await send(silent);

    const r = await cli("command", "wait", done, "--client-file", clientFile);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ACCEPTED +\S+ +\+0\.000 s$/m);
    assert.match(r.out, /^SUCCEEDED +/m);

    const started = Date.now();
    const w = await cli("command", "wait", open, "--timeout", "1", "--client-file", clientFile);
    assert.equal(w.code, 4, w.err);
    assert.ok(Date.now() - started < 5_000);
  });

  test("list prints a line per command, announces the next page, --all follows it", async () => {
    const sn = await dock("list");
    for (let i = 0; i < 3; i++) {
      await cli(
        "command",
        "send",
        "--client-file",
        clientFile,
        "--device",
        sn,
        "--type",
        "fileupload_start",
        "--payload",
        seedPayload(),
        "--quiet",
      );
    }
    const first = await cli(
      "command",
      "list",
      "--device",
      sn,
      "--limit",
      "2",
      "--client-file",
      clientFile,
    );
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out.trim().split("\n").length, 2);
    assert.match(first.out, new RegExp(`  ${sn}  fileupload_start  `));
    assert.match(first.err, /^more: add --cursor \S+ \(or --all\)$/m);
    const all = await cli(
      "command",
      "list",
      "--device",
      sn,
      "--limit",
      "2",
      "--all",
      "--json",
      "--client-file",
      clientFile,
    );
    const items = all.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(items.length, 3);
    assert.ok(items.every((c) => c.device_id === sn), all.out);
  });
});

describe("command wait --until finished", () => {
  const send = (sn: string, ...more: string[]) =>
    cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--device",
      sn,
      "--type",
      "fileupload_start",
      "--payload",
      seedPayload(),
      ...more,
    );

  test("follows the job past its reply: a line per progress, FINISHED last, exit 0", async () => {
    // Three reports 400 ms apart after the reply: the job ends about 1.2 s after SUCCEEDED.
    const sn = await dock("job", { progress: { steps: 2, intervalMs: 400 } });
    const id = (await send(sn, "--quiet")).out.trim();
    const r = await cli("command", "wait", id, "--until", "finished", "--client-file", clientFile);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0], /^ACCEPTED +/);
    assert.ok(lines.some((l) => /^SUCCEEDED +.*response_code=0$/.test(l)), r.out);
    assert.match(lines.at(-1)!, /^FINISHED +\S+Z +\+\d+\.\d{3} s {2}progress=ok 100% step=done$/);
    assert.equal(lines.filter((l) => l.startsWith("FINISHED")).length, 1, r.out);
    // What the wait answered is what the API now holds: the job's end.
    const state = JSON.parse((await cli("command", "get", id, "--client-file", clientFile)).out);
    assert.equal(state.progress.status, "ok");
    assert.ok(state.progress.finished_at);
  });

  test("a job whose dock reports nothing: SUCCEEDED is not enough, --timeout exits 4", async () => {
    // A dock that answers result 0 and never reports progress: the reply is in, the job not.
    const sn = await dock("job-silent");
    const id = (await send(sn, "--wait", "--quiet")).out.trim();
    const terminal = await cli("command", "wait", id, "--client-file", clientFile);
    assert.equal(terminal.code, 0, terminal.err);
    const started = Date.now();
    const r = await cli(
      "command",
      "wait",
      id,
      "--until",
      "finished",
      "--timeout",
      "1",
      "--client-file",
      clientFile,
    );
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.out, /^SUCCEEDED +/m);
    assert.doesNotMatch(r.out, /^FINISHED/m);
    assert.ok(Date.now() - started < 5_000);
    const json = await cli(
      "command",
      "wait",
      id,
      "--until",
      "finished",
      "--timeout",
      "0",
      "--json",
      "--client-file",
      clientFile,
    );
    assert.equal(json.code, 4);
    assert.equal(JSON.parse(json.out).status, "SUCCEEDED");
  });

  test("send --wait --until finished: a job the dock reports failed exits 3 with DJI's reason", async () => {
    const sn = await dock("job-fails", {
      progress: { steps: 1, intervalMs: 200, failCode: 324019 },
    });
    const r = await send(sn, "--wait", "--until", "finished");
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /^SUCCEEDED +.*response_code=0$/m);
    assert.match(
      r.out.trim().split("\n").at(-1)!,
      /^FINISHED +.*progress=failed 100% step=done reason="324019: Due to network anomalies/,
    );
  });

  test("a wrong --until is refused before anything is sent; --until needs --wait on send", async () => {
    const sn = await dock("job-usage");
    const wrong = await send(sn, "--wait", "--until", "delivered");
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /--until must be terminal or finished, got "delivered"/);
    const alone = await send(sn, "--until", "finished");
    assert.equal(alone.code, 1);
    assert.match(alone.err, /give --wait too/);
    const list = await cli("command", "list", "--device", sn, "--client-file", clientFile);
    assert.equal(list.out.trim(), "", "nothing was sent");
    const id = (await send(sn, "--quiet")).out.trim();
    const w = await cli("command", "wait", id, "--until", "soon", "--client-file", clientFile);
    assert.equal(w.code, 1);
    assert.match(w.err, /--until must be terminal or finished, got "soon"/);
  });
});

describe("events watch", () => {
  test("--command prints the command's events a line each and stops after its outcome", async () => {
    const sn = await dock("events");
    const id = (await cli(
      "command",
      "send",
      "--client-file",
      clientFile,
      "--device",
      sn,
      "--type",
      "fileupload_start",
      "--payload",
      seedPayload(),
      "--wait",
      "--quiet",
    )).out.trim();
    // The tenant comes from the client file; --all replays what the stream already holds.
    const r = await cli("events", "watch", "--client-file", clientFile, "--command", id, "--all");
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    assert.match(
      lines[0],
      new RegExp(`command\\.accepted +ACCEPTED .*device=${sn} .*command=${id}`),
    );
    assert.match(lines.at(-1)!, /command\.completed +SUCCEEDED .*response_code=0/);

    const raw = await cli(
      "events",
      "watch",
      "--tenant",
      created.tenant_id,
      "--device",
      sn,
      "--all",
      "--count",
      "1",
      "--json",
    );
    assert.equal(raw.code, 0, raw.err);
    const event = JSON.parse(raw.out);
    assert.equal(event.event_type, "command.accepted");
    assert.equal(event.command_id, id);
  });

  test("an unreachable NATS is one line naming the address", async () => {
    const r = await cli("events", "watch", "--tenant", "t", "--nats", "nats://127.0.0.1:1");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^downlink: cannot reach NATS at nats:\/\/127\.0\.0\.1:1 \(--nats, NATS_URL\)/,
    );
  });
});

describe("--help", () => {
  const cases: [string[], RegExp, string[]][] = [
    [["command", "send"], /Sends a command/, [
      "--device",
      "--type",
      "--payload",
      "--file",
      "--wait",
      "--until WHAT",
    ]],
    [["command", "get"], /Prints a command's state/, ["<command_id>", "--url", "--client-file"]],
    [["command", "list"], /Lists the client's tenant's commands/, [
      "--status",
      "--device",
      "--type",
      "--after",
      "--before",
      "--limit",
      "--cursor",
      "--all",
    ]],
    [["command", "wait"], /Follows a command until it is terminal/, [
      "<command_id>",
      "--timeout",
      "--until WHAT",
      "finished: until the job's dock reports its end",
    ]],
    [["events", "watch"], /lifecycle events from NATS/, [
      "--tenant",
      "--device",
      "--command",
      "--json",
      "--since",
    ]],
  ];
  for (const [argv, description, options] of cases) {
    test(`${argv.join(" ")} --help prints a description and its options, exit 0`, async () => {
      const r = await cli(...argv, "--help");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, description);
      for (const option of options) assert.ok(r.out.includes(option), `${option}:\n${r.out}`);
    });
  }

  test("the program's top-level help lists the API commands", async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "node",
        ["--import", "tsx", "src/cli/main.ts", "--help"],
        { env: process.env, cwd: new URL("../..", import.meta.url).pathname },
        (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)),
      )
    );
    for (
      const name of ["command send", "command get", "command list", "command wait", "events watch"]
    ) {
      assert.ok(out.includes(name), name);
    }
  });
});
