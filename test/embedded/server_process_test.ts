// An embedded server never outlives Downlink: it gets its stop signal when the process exits
// without stopping it, and the next start stops one that a SIGKILL left behind.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { findBinary } from "../../src/embedded/server_binary.ts";
import { stopLeftover } from "../../src/embedded/server_process.ts";

const nats = findBinary("nats-server", process.env.PATH);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

/** A Node process that starts nats-server through startServerProcess, prints its pid, then
 * ends as `end` says without stopping it. */
function ownerProcess(
  end: "exit" | "throw" | "wait",
  dir: string,
): Promise<{ pid: number; owner: ReturnType<typeof spawn> }> {
  const script = `
    import { startServerProcess } from "./src/embedded/server_process.ts";
    import { freePort } from "./bench/loopback_port.ts";
    const port = await freePort();
    const s = await startServerProcess({ service: "NATS", bin: ${JSON.stringify(nats)},
      args: ["-a", "127.0.0.1", "-p", String(port)], host: "127.0.0.1", port,
      logFile: ${JSON.stringify(join(dir, "nats.log"))}, pidFile: ${
    JSON.stringify(join(dir, "nats.pid"))
  } });
    console.log(s.pid);
    ${
    end === "exit"
      ? "process.exit(0);"
      : end === "throw"
      ? "throw new Error('boom');"
      : "setInterval(() => {}, 1000);"
  }
  `;
  const owner = spawn("node", ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    owner.stdout!.on("data", (d) => {
      out += d;
      const pid = Number(out.trim().split("\n")[0]);
      if (out.includes("\n") && pid > 0) resolve({ pid, owner });
    });
    owner.once("exit", () => reject(new Error(`the owner exited before printing a pid: ${out}`)));
  });
}

for (const end of ["exit", "throw"] as const) {
  test(
    `a server is stopped when its owner ends by ${
      end === "exit" ? "process.exit" : "an uncaught error"
    }`,
    { skip: !nats && "nats-server is not on PATH" },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "downlink-owner-"));
      dirs.push(dir);
      const { pid } = await ownerProcess(end, dir);
      assert.equal(await gone(pid, 10_000), true, `nats-server ${pid} outlived its owner`);
    },
  );
}

test("the next start stops the server a SIGKILLed owner left running", {
  skip: !nats && "nats-server is not on PATH",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "downlink-owner-"));
  dirs.push(dir);
  const { pid, owner } = await ownerProcess("wait", dir);
  owner.kill("SIGKILL");
  await new Promise((r) => owner.once("exit", r));
  assert.equal(alive(pid), true, "a SIGKILLed owner cannot stop its server");
  assert.equal(await stopLeftover(join(dir, "nats.pid"), nats!, "SIGTERM"), pid);
  assert.equal(await gone(pid, 5_000), true);
  // Nothing left to stop the second time.
  assert.equal(await stopLeftover(join(dir, "nats.pid"), nats!, "SIGTERM"), undefined);
});
