// close() of the Node server: idle connections go at once, a busy one gets 2 s to finish, on the
// server's clock (a simulated one here: the test moves it, and fails if real time had to pass).
// On Deno, Deno.serve's own shutdown() waits for the busy request.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { SimulatedClock } from "xstate";
import { serve } from "../../src/http/serve.ts";

const onDeno = "Deno" in globalThis;

test("close() ends a request still busy once the clock passes 2 s", { skip: onDeno }, async () => {
  const clock = new SimulatedClock();
  let handled!: () => void;
  const busy = new Promise<void>((r) => handled = r);
  const server = await serve(() => new Promise<Response>(() => handled()), { port: 0, clock });
  const socket = net.connect(server.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await busy;
  let closed = false;
  const closing = server.close().then(() => closed = true);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, "a busy request holds close() until its 2 s have passed");
  clock.increment(2_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    closing,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("close() still waiting after a real second")),
        1_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(closed, true);
  socket.destroy();
});
