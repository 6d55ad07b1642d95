// docs/MACHINES.md is what the machine definitions draw: a machine changed without
// `npm run diagrams` fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createMachine } from "xstate";
import { MACHINES_DOC, machinesDoc, mermaidOf } from "../../tools/machine_diagrams.ts";

test("docs/MACHINES.md is generated from the machines as they are", () => {
  assert.equal(
    readFileSync(MACHINES_DOC, "utf8"),
    machinesDoc(),
    "docs/MACHINES.md is stale: run `npm run diagrams`",
  );
});

test("a diagram has the initial state, each transition with its guard and actions, the ends", () => {
  const machine = createMachine({
    id: "door",
    initial: "closed",
    states: {
      closed: { on: { open: { target: "opened", guard: "unlocked", actions: "log" } } },
      opened: { on: { slam: "gone", knock: { actions: { type: "say", params: { word: "hi" } } } } },
      gone: { type: "final" },
    },
  });
  assert.equal(
    mermaidOf(machine),
    [
      "stateDiagram-v2",
      "  [*] --> closed",
      "  gone --> [*]",
      "  closed --> opened : open [unlocked] / log",
      "  opened --> gone : slam",
      "  opened --> opened : knock / say(word#58; hi)",
    ].join("\n"),
  );
});
