import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { coalesceWrites } from "../../src/bus/coalesce_writes.ts";

function fakeSocket() {
  const log: string[] = [];
  let corks = 0;
  return {
    log,
    write(chunk: string) {
      log.push(corks > 0 ? `buffer ${chunk}` : `send ${chunk}`);
      return true;
    },
    cork() {
      corks++;
      log.push("cork");
    },
    uncork() {
      corks--;
      log.push("uncork");
    },
  };
}

test("writes of one event-loop turn are held and sent together at the end of the turn", async () => {
  const socket = fakeSocket();
  coalesceWrites(socket);
  socket.write("a");
  socket.write("b");
  await Promise.resolve(); // a later microtask of the same turn
  socket.write("c");
  assert.deepEqual(socket.log, ["cork", "buffer a", "buffer b", "buffer c"]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(socket.log.slice(4), ["uncork"]);
  socket.write("d");
  assert.deepEqual(socket.log.slice(5), ["cork", "buffer d"], "the next turn corks anew");
});

test("a socket is patched once, and a value that is not a socket is left alone", () => {
  const socket = fakeSocket();
  coalesceWrites(socket);
  const patched = socket.write;
  coalesceWrites(socket);
  assert.equal(socket.write, patched);
  assert.doesNotThrow(() => coalesceWrites(undefined));
  assert.doesNotThrow(() => coalesceWrites({ write() {} }));
});
