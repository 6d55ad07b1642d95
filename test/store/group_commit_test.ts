// Group commit as pure scheduling: a fake write stands for the statement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { createGroupCommit } from "../../src/store/group_commit.ts";

const turn = () => new Promise((r) => setImmediate(r));

function controlledWrite() {
  const batches: number[][] = [];
  const finish: Array<(ok: boolean) => void> = [];
  const write = (items: number[]) => {
    batches.push(items);
    return new Promise<void>((resolve, reject) =>
      finish.push((ok) => ok ? resolve() : reject(new Error("down")))
    );
  };
  return { batches, finish, write };
}

test("items of one turn go in one batch, at the end of the turn", async () => {
  const w = controlledWrite();
  const g = createGroupCommit(w.write);
  g.add(1);
  g.add(2);
  assert.deepEqual(w.batches, []);
  await turn();
  assert.deepEqual(w.batches, [[1, 2]]);
});

test("while a batch is written, new items wait and go together in the next one", async () => {
  const w = controlledWrite();
  const g = createGroupCommit(w.write);
  g.add(1);
  await turn();
  g.add(2);
  await turn();
  g.add(3);
  await turn();
  assert.deepEqual(w.batches, [[1]]);
  w.finish[0](true);
  await turn();
  assert.deepEqual(w.batches, [[1], [2, 3]]);
});

test("a failed batch does not stop the next one", async () => {
  const w = controlledWrite();
  const g = createGroupCommit(w.write);
  g.add(1);
  await turn();
  g.add(2);
  w.finish[0](false);
  await turn();
  assert.deepEqual(w.batches, [[1], [2]]);
  w.finish[1](true);
  await turn();
  g.add(3);
  await turn();
  assert.deepEqual(w.batches, [[1], [2], [3]]);
});

test("beyond maxQueued waiting items, add refuses and queues nothing", async () => {
  const w = controlledWrite();
  const g = createGroupCommit(w.write, { maxQueued: 2 });
  g.add(1);
  await turn();
  // Batch [1] is being written: 2 and 3 wait, 4 finds the queue full.
  assert.equal(g.add(2), true);
  assert.equal(g.add(3), true);
  assert.equal(g.add(4), false);
  w.finish[0](true);
  await turn();
  assert.deepEqual(w.batches, [[1], [2, 3]]);
  assert.equal(g.add(5), true);
});
