// GET / on a real api role: an unsigned index naming the service, its version and where to go.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Value } from "@sinclair/typebox/value";
import { type ApiFixture, startApiFixture } from "../support/api_fixtures.ts";
import { ServiceIndexSchema } from "../../src/http/openapi.ts";

let f: ApiFixture;
before(async () => {
  f = await startApiFixture();
});
after(async () => {
  await f?.stop();
});

test("GET / answers unsigned with the name, the package version and the links", async () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const res = await fetch(`${f.baseUrl}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.ok(Value.Check(ServiceIndexSchema, body), "conforms to the OpenAPI schema");
  assert.deepEqual(body, {
    name: "downlink",
    version: pkg.version,
    links: {
      openapi: "/openapi.json",
      health: "/healthz",
      ready: "/readyz",
      docs: "README.md",
    },
  });
});

test("every link of GET / answers", async () => {
  const index = await (await fetch(`${f.baseUrl}/`)).json();
  for (const path of [index.links.openapi, index.links.health, index.links.ready]) {
    const res = await fetch(`${f.baseUrl}${path}`);
    assert.notEqual(res.status, 404, path);
    await res.body?.cancel();
  }
});
