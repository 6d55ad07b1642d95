// Coalesces a socket's writes per event-loop turn. On this kind of machine a socket write is one
// of the dearest things a process does, and the clients we use write per message: corking the
// socket until the end of the turn sends what the turn produced in one write, and nothing waits
// longer than the turn.
import { nextTurn } from "../async/time.ts";

interface CorkableSocket {
  write(...args: unknown[]): boolean;
  cork(): void;
  uncork(): void;
  writesCoalesced?: true;
}

/** Patches `socket` (once); does nothing for a value that is not a corkable socket. */
export function coalesceWrites(socket: unknown): void {
  const s = socket as CorkableSocket | undefined;
  if (!s || s.writesCoalesced || typeof s.cork !== "function") return;
  s.writesCoalesced = true;
  const write = s.write.bind(s);
  let corked = false;
  // One closure per socket, not per turn.
  const uncork = () => {
    corked = false;
    s.uncork();
  };
  s.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      s.cork();
      nextTurn(uncork);
    }
    return write(...args);
  };
}
