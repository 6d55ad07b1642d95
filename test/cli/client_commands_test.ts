// The operator CLI on real Postgres: tenants, clients (secret shown once), disable, rotate,
// and `sign`, whose headers the running API accepts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import { runCli } from "../../src/cli/main.ts";
import { createDownlinkClient } from "../../src/client/downlink_client.ts";
import { type ApiFixture, SEED_BODY, startApiFixture } from "../support/api_fixtures.ts";
import { testEnv, uniqueName } from "../support/test_env.ts";

let f: ApiFixture;
let env: Record<string, string>;

before(async () => {
  const ns = uniqueName();
  env = testEnv({ DOWNLINK_NAMESPACE: ns, DOWNLINK_DB_SCHEMA: ns });
  f = await startApiFixture({ env });
});
after(async () => {
  await f?.stop();
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

describe("client create", () => {
  test("creates the tenant when missing and prints one JSON object with the secret", async () => {
    const tenant = uniqueName("acme");
    const r = await cli(
      "client",
      "create",
      "--tenant",
      tenant,
      "--name",
      "ops",
      "--devices",
      "dock-1,rc-*",
    );
    assert.equal(r.code, 0, r.err);
    const printed = JSON.parse(r.out);
    assert.equal(printed.tenant_id, tenant);
    assert.equal(printed.tenant_created, true);
    assert.match(printed.client_id, /^ak_[0-9a-f]{24}$/);
    assert.equal(typeof printed.secret, "string");
    assert.ok(printed.secret.length >= 40);
    assert.deepEqual(printed.devices, ["dock-1", "rc-*"]);
    assert.deepEqual(printed.scopes, [
      "open:command:create",
      "open:command:read",
      "open:device:read",
      "open:device-request:read",
      "open:device-request:create",
    ]);
    assert.equal(printed.status, "ACTIVE");
    const [row] = await f.sql<{ secret_enc: Uint8Array }[]>`
      select secret_enc from api_clients where client_id = ${printed.client_id}`;
    assert.ok(!new TextDecoder("latin1").decode(row.secret_enc).includes(printed.secret));
    assert.equal(f.cipher.openText(row.secret_enc, printed.client_id), printed.secret);
  });

  test("the printed credentials sign requests the API accepts", async () => {
    const r = await cli(
      "client",
      "create",
      "--tenant",
      uniqueName(),
      "--name",
      "n",
      "--devices",
      "drone-001",
    );
    const created = JSON.parse(r.out);
    const http = createDownlinkClient({
      baseUrl: f.baseUrl,
      clientId: created.client_id,
      secret: created.secret,
    });
    assert.equal((await http.createCommand(SEED_BODY)).status, 202);
  });

  test("bad arguments exit 1 with a message naming the problem", async () => {
    const missing = await cli("client", "create", "--tenant", "t1", "--name", "n");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /--devices is required/);
    const pattern = await cli(
      "client",
      "create",
      "--tenant",
      "t1",
      "--name",
      "n",
      "--devices",
      "a/b",
    );
    assert.equal(pattern.code, 1);
    assert.match(pattern.err, /device pattern/);
    const scope = await cli(
      "client",
      "create",
      "--tenant",
      "t1",
      "--name",
      "n",
      "--devices",
      "a",
      "--scopes",
      "admin",
    );
    assert.equal(scope.code, 1);
    assert.match(scope.err, /scope must be one of/);
    const unknown = await cli("client", "explode");
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /unknown command/);
  });
});

describe("tenant create and client list", () => {
  test("tenant create is idempotent and client list never shows a secret", async () => {
    const tenant = uniqueName("t");
    const first = await cli("tenant", "create", "--id", tenant, "--name", "Acme Ltd");
    assert.equal(first.code, 0, first.err);
    assert.equal(JSON.parse(first.out).created, true);
    assert.equal(JSON.parse((await cli("tenant", "create", "--id", tenant)).out).created, false);
    await cli("client", "create", "--tenant", tenant, "--name", "a", "--devices", "x");
    await cli("client", "create", "--tenant", tenant, "--name", "b", "--devices", "y");
    const listed = JSON.parse((await cli("client", "list", "--tenant", tenant)).out);
    assert.deepEqual(listed.map((c: { name: string }) => c.name).sort(), ["a", "b"]);
    for (const c of listed) assert.equal("secret" in c, false);
  });
});

describe("client disable and rotate-secret", () => {
  test("a disabled client is refused; a rotated secret replaces the old one", async () => {
    const created = JSON.parse(
      (await cli(
        "client",
        "create",
        "--tenant",
        uniqueName(),
        "--name",
        "n",
        "--devices",
        "drone-001",
      )).out,
    );
    const rotated = await cli("client", "rotate-secret", "--client", created.client_id);
    assert.equal(rotated.code, 0, rotated.err);
    const fresh = JSON.parse(rotated.out).secret;
    assert.notEqual(fresh, created.secret);
    const oldHttp = createDownlinkClient({
      baseUrl: f.baseUrl,
      clientId: created.client_id,
      secret: created.secret,
    });
    const newHttp = createDownlinkClient({
      baseUrl: f.baseUrl,
      clientId: created.client_id,
      secret: fresh,
    });
    // The API trusts a looked-up client for up to 2 s; the first lookup happens now.
    const unknown = "01900000-0000-7000-8000-000000000000";
    assert.equal((await newHttp.getCommand(unknown)).status, 404);
    assert.equal((await oldHttp.getCommand(unknown)).body.code, "SIGNATURE_INVALID");

    const disabled = await cli("client", "disable", "--client", created.client_id);
    assert.equal(disabled.code, 0);
    assert.equal(JSON.parse(disabled.out).status, "DISABLED");
    assert.equal((await cli("client", "disable", "--client", "ak_nobody")).code, 1);
  });
});

describe("sign", () => {
  test("prints X-Api-* headers the API accepts for that exact body", async () => {
    const created = JSON.parse(
      (await cli(
        "client",
        "create",
        "--tenant",
        uniqueName(),
        "--name",
        "n",
        "--devices",
        "drone-001",
      )).out,
    );
    const r = await cli(
      "sign",
      "--client",
      created.client_id,
      "--secret",
      created.secret,
      "--body",
      SEED_BODY,
    );
    assert.equal(r.code, 0, r.err);
    const headers = Object.fromEntries(
      r.out.trim().split("\n").map((line) => line.split(": ") as [string, string]),
    );
    assert.deepEqual(Object.keys(headers), [
      "X-Api-Id",
      "X-Api-Timestamp",
      "X-Api-Nonce",
      "X-Api-Signature",
    ]);
    const res = await fetch(`${f.baseUrl}/api/v1/open/downlink/commands`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: SEED_BODY,
    });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  });

  test("--curl prints a complete command with the body quoted for the shell", async () => {
    const r = await cli(
      "sign",
      "--client",
      "ak_x",
      "--secret",
      "s",
      "--body",
      `{"a":"it's"}`,
      "--curl",
      "http://127.0.0.1:8080",
      "--timestamp",
      "1776859200",
      "--nonce",
      "nonce-0123456789abcdef",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^curl -X POST 'http:\/\/127\.0\.0\.1:8080\/api\/v1\/open\/downlink\/commands'/,
    );
    assert.match(r.out, /-H 'X-Api-Timestamp: 1776859200'/);
    assert.match(r.out, /--data-binary '\{"a":"it'\\''s"\}'/);
  });
});

test("npm run downlink runs the CLI as a program and prints one JSON object", async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "node",
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "client",
        "create",
        "--tenant",
        uniqueName(),
        "--name",
        "p",
        "--devices",
        "d-*",
      ],
      { env: { ...process.env, ...env }, cwd: new URL("../..", import.meta.url).pathname },
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
    );
  });
  const printed = JSON.parse(out);
  assert.ok(printed.tenant_id && printed.client_id && printed.secret);
});

describe("--help", () => {
  /** Runs the CLI as a program, as an operator does; never needs the database for help. */
  function program(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
      execFile(
        "node",
        ["--import", "tsx", "src/cli/main.ts", ...argv],
        {
          env: { ...process.env, ...env, DATABASE_URL: "postgres://127.0.0.1:1/none" },
          cwd: new URL("../..", import.meta.url).pathname,
        },
        (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
      );
    });
  }

  const cases: [string[], RegExp, string[]][] = [
    [
      ["--help"],
      /Operator commands/,
      [
        "client create",
        "sign",
        "dock simulate",
        "devices list",
        "devices get",
        "device-requests list",
        "device-requests reply",
      ],
    ],
    [
      ["device-requests", "reply", "--help"],
      /Answers a device request/,
      ["--result", "--output", "--client-file", "DEVICE_REQUEST_EXPIRED"],
    ],
    [
      ["devices", "list", "--help"],
      /Lists the devices the client's grants cover/,
      ["--online", "--device", "--limit", "--cursor", "--all", "--json", "--client-file"],
    ],
    [
      ["client", "create", "--help"],
      /Creates an API client and prints it with its secret/,
      ["--tenant", "--name", "--devices", "--scopes", "--skew", "--replay-window"],
    ],
    [
      ["sign", "--help"],
      /Prints the signature headers/,
      ["--client", "--secret", "--method", "--path", "--body", "--body-file", "--curl"],
    ],
    [
      ["dock", "simulate", "--help"],
      /Simulates DJI docks/,
      [
        "--sn",
        "--result",
        "--delay",
        "--method-mismatch",
        "--silent",
        "--offline-after",
        "--offline-mode",
        "--online-after",
        "--mqtt",
      ],
    ],
  ];
  for (const [argv, description, options] of cases) {
    test(`${argv.join(" ")} prints a description and every option, exit 0`, async () => {
      const r = await program(...argv);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, description);
      for (const option of options) assert.ok(r.out.includes(option), `${option}:\n${r.out}`);
      assert.equal(r.err, "");
    });
  }

  test("every client and tenant command answers --help without touching the database", async () => {
    for (
      const command of [
        ["tenant", "create"],
        ["client", "list"],
        ["client", "disable"],
        ["client", "enable"],
        ["client", "rotate-secret"],
      ]
    ) {
      const r = await cli(...command, "--help");
      assert.equal(r.code, 0, `${command.join(" ")}: ${r.err}`);
      assert.match(r.out, new RegExp(`^usage: npm run downlink -- ${command.join(" ")}`));
    }
  });
});
