// Reading a JetStream message's JSON body. A body that does not decode never will: it is logged
// and terminated (not redelivered), and the caller goes on with the next.
import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";

const decoder = new TextDecoder();

/** The message's body, or undefined once an undecodable one was logged as `what` and ended. */
export function readStreamMessage<T>(msg: JsMsg, log: Logger, what: string): T | undefined {
  try {
    return JSON.parse(decoder.decode(msg.data)) as T;
  } catch (err) {
    log.error(`undecodable ${what} dropped`, { err, subject: msg.subject });
    msg.term();
    return undefined;
  }
}
