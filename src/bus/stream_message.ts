// Reading a JetStream message's JSON body, and taking it: acknowledged once its taker is done,
// given back for redelivery when the taker fails. A body that does not decode never will: it is
// logged and terminated (not redelivered), and the caller goes on with the next.
import type { JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../runtime/log.ts";

const decoder = new TextDecoder();

/** How long JetStream waits before it delivers again a message whose taker failed. */
export const REDELIVER_AFTER_MS = 1_000;

/** The message's body, or undefined once an undecodable one was logged as `what` and ended. */
export function readStreamMessage<T>(
  msg: Pick<JsMsg, "data" | "subject" | "term">,
  log: Logger,
  what: string,
): T | undefined {
  try {
    return JSON.parse(decoder.decode(msg.data)) as T;
  } catch (err) {
    log.error(`undecodable ${what} dropped`, { err, subject: msg.subject });
    msg.term();
    return undefined;
  }
}

export interface TakeStreamMessageOptions<T> {
  log: Logger;
  /** What the body is, for the log of an undecodable one ("request fact"). */
  what: string;
  /** Takes the decoded body; the message is acknowledged once this resolves. */
  take(body: T): Promise<unknown>;
  /** Told why `take` rejected, before the message is given back (log, count). */
  failed?(err: unknown): void;
}

/** Decodes the message and hands its body to `take`: acked once taken, nak'ed (JetStream
 * delivers it again) if taking it failed, terminated if it does not decode. */
export function takeStreamMessage<T>(
  msg: Pick<JsMsg, "data" | "subject" | "ack" | "nak" | "term">,
  { log, what, take, failed }: TakeStreamMessageOptions<T>,
): void {
  const body = readStreamMessage<T>(msg, log, what);
  if (body === undefined) return;
  take(body).then(
    () => msg.ack(),
    (err) => {
      failed?.(err);
      msg.nak(REDELIVER_AFTER_MS);
    },
  );
}
