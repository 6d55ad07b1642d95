import { test } from "node:test";
import assert from "node:assert/strict";
import { filtersOverlap, topicMatches } from "../../src/vendors/topic_filter.ts";

test("topicMatches follows MQTT's + and # wildcards", () => {
  assert.equal(
    topicMatches("thing/product/+/services_reply", "thing/product/SN1/services_reply"),
    true,
  );
  assert.equal(topicMatches("thing/product/+/services_reply", "thing/product/SN1/events"), false);
  assert.equal(topicMatches("thing/product/+/drc/up", "thing/product/SN1/drc/up"), true);
  assert.equal(topicMatches("thing/product/+/drc/up", "thing/product/SN1/drc/up/x"), false);
  assert.equal(topicMatches("thing/product/+/drc/up", "thing/product/SN1/drc"), false);
  assert.equal(topicMatches("acme/+/ack", "thing/product/SN1/ack"), false);
  assert.equal(topicMatches("acme/#", "acme/SN1/ack"), true);
  assert.equal(topicMatches("acme/#", "acme"), true);
  assert.equal(topicMatches("acme/+", "acme/"), true);
  assert.equal(topicMatches("acme/+/ack", "acme/SN1/acks"), false);
});

test("filtersOverlap is true exactly when some topic matches both filters", () => {
  assert.equal(filtersOverlap("thing/product/+/events", "thing/product/+/requests"), false);
  assert.equal(filtersOverlap("thing/product/+/events", "thing/product/SN1/+"), true);
  assert.equal(filtersOverlap("thing/#", "thing/product/+/events"), true);
  assert.equal(filtersOverlap("acme/+/ack", "thing/product/+/services_reply"), false);
  assert.equal(filtersOverlap("a/+", "a/+/b"), false);
  assert.equal(filtersOverlap("a/#", "a"), true);
});
