import { test } from "node:test";
import assert from "node:assert/strict";
import { VendorRegistrationError, vendorRegistry } from "../../src/vendors/vendor_registry.ts";
import { vendor as dji } from "../../src/composition_root.ts";
import { acmeAdapter as acme } from "../support/acme_vendor.ts";
import type { VendorAdapter } from "../../src/vendors/vendor_adapter.ts";

test("a registry looks each adapter up by name and lists the names in registration order", () => {
  const r = vendorRegistry([dji, acme]);
  assert.deepEqual(r.names, ["dji", "acme"]);
  assert.equal(r.get("acme"), acme);
  assert.equal(r.get("dji"), dji);
  assert.equal(r.get("autel"), undefined);
  assert.deepEqual(r.adapters, [dji, acme]);
});

test("of() gives the named adapter, and the first registered for a name absent or unknown", () => {
  const r = vendorRegistry([dji, acme]);
  assert.equal(r.of("acme"), acme);
  assert.equal(r.of(undefined), dji);
  assert.equal(r.of("autel"), dji);
});

test("two adapters with one name are refused, naming it", () => {
  assert.throws(
    () => vendorRegistry([dji, acme, { ...acme }]),
    (e: unknown) =>
      e instanceof VendorRegistrationError && /two adapters are named "acme"/.test(e.message),
  );
});

test("two adapters whose subscriptions could take the same message are refused, naming both", () => {
  const clash: VendorAdapter = {
    ...acme,
    name: "clash",
    wire: { ...acme.wire, replyTopics: ["thing/product/+/#"] },
  };
  assert.throws(
    () => vendorRegistry([dji, clash]),
    (e: unknown) =>
      e instanceof VendorRegistrationError &&
      /"clash" subscribes to thing\/product\/\+\/#, which overlaps "dji"'s thing\/product\/\+\/services_reply/
        .test(e.message),
  );
});

test("one vendor's reply, events, requests and presence filters that overlap are refused", () => {
  const replies: VendorAdapter = {
    ...acme,
    wire: { ...acme.wire, replyTopics: ["acme/+/#"] },
  };
  assert.throws(
    () => vendorRegistry([dji, replies]),
    (e: unknown) =>
      e instanceof VendorRegistrationError &&
      /"acme" subscribes to acme\/\+\/# and acme\/\+\/evt, which overlap/.test(e.message),
  );
  const presence: VendorAdapter = {
    ...acme,
    wire: { ...acme.wire, presenceTopics: ["acme/+/+"] },
  };
  assert.throws(() => vendorRegistry([presence]), VendorRegistrationError);
  // Presence filters that are the events or requests filter themselves share its subscription.
  assert.doesNotThrow(() => vendorRegistry([dji, acme]));
});

test("an empty list is refused", () => {
  assert.throws(() => vendorRegistry([]), VendorRegistrationError);
});
