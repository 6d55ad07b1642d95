// Telling a port something listens on from one where nothing does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { portAnswers } from "../../src/embedded/port_answers.ts";

test("a listening port answers, and the same port no longer does once it is closed", async () => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  assert.equal(await portAnswers("127.0.0.1", port), true);
  await new Promise((r) => server.close(r));
  assert.equal(await portAnswers("127.0.0.1", port), false);
});
