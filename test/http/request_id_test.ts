// Every response of every method carries X-Request-Id: over a real socket and through
// app.request(), HEAD included (on Node, @hono/node-server's Response lost it on HEAD).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { COMMANDS_PATH } from "../../src/http/commands.ts";

let f: ApiFixture;

before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

const ROUTES: Array<[path: string, status: number]> = [
  ["/healthz", 200],
  ["/readyz", 200],
  ["/metrics", 200],
  ["/openapi.json", 200],
  ["/unknown", 404],
  [`${COMMANDS_PATH}/xyz`, 401],
];

for (const method of ["GET", "HEAD"]) {
  test(`${method} answers with a fresh X-Request-Id on every route, over a socket`, async () => {
    for (const [path, status] of ROUTES) {
      const res = await fetch(f.baseUrl + path, { method });
      await res.arrayBuffer();
      assert.equal(res.status, status, `${method} ${path}`);
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, `${method} ${path}`);
    }
  });

  test(`${method} echoes the caller's X-Request-Id on every route, through app.request()`, async () => {
    for (const [path, status] of ROUTES) {
      const res = await f.api!.app.request(path, {
        method,
        headers: { "X-Request-Id": "trace-7" },
      });
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.headers.get("x-request-id"), "trace-7", `${method} ${path}`);
    }
  });
}

test("a HEAD answer has the GET answer's status and no body", async () => {
  const res = await fetch(`${f.baseUrl}/unknown`, { method: "HEAD" });
  assert.equal(res.status, 404);
  assert.equal((await res.arrayBuffer()).byteLength, 0);
});
