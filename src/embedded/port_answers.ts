// Whether something accepts TCP connections on an address: how Downlink tells a service the
// machine already runs from a port where it must start its own.
import { connect } from "node:net";
import { type Clock, systemClock } from "../async/time.ts";

/** True when `host:port` accepts a connection within `timeoutMs`. */
export function portAnswers(
  host: string,
  port: number,
  timeoutMs = 1_000,
  clock: Clock = systemClock,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean) => {
      clock.clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    // A filtered port never refuses: silence for this long counts as no answer.
    const timer = clock.setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
