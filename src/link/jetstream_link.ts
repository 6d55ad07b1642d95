// The JetStream adapter of the link (the default): every dispatch, command and fact is a message
// stored in JetStream, in one process as in many. The path one process runs is the path a
// deployment of many runs: tested by every test, and it scales by adding processes.
import { Buffer } from "node:buffer";
import type { AckedPublisher } from "../bus/acked_publisher.ts";
import type { CommandDispatch, ToDevice } from "../bus/messages.ts";
import type { TopologyNames } from "../bus/subjects.ts";
import type { Link } from "./link.ts";

const encoder = new TextEncoder();
const json = (message: unknown) => encoder.encode(JSON.stringify(message));

/** `publisher` stores each message (msgID where a copy must be dropped: JetStream deduplicates). */
export function createJetStreamLink(
  o: { publisher: AckedPublisher; names: TopologyNames },
): Link {
  const { publisher, names } = o;
  return {
    outboxHoldSeconds: () => 0,
    async dispatch(command, { recovered }) {
      const { partition, payload_enc, ...fields } = command;
      const message: CommandDispatch = {
        kind: "command",
        ...fields,
        payload_enc: Buffer.from(payload_enc).toString("base64"),
        ...(recovered ? { recovered: true } : {}),
      };
      await publisher.publish(
        names.commandSubject(partition, command.device_id),
        json(message),
        command.command_id,
      );
      return "stored";
    },
    command(command, partition) {
      const message: ToDevice = {
        ...command,
        payload_enc: Buffer.from(command.payload_enc).toString("base64"),
      };
      // msgID = command id: a copy stored twice is dropped by the bridge stream.
      return publisher.publish(
        names.bridgeSubject(partition, command.device_id),
        json(message),
        command.command_id,
      );
    },
    delivered: (fact, partition) =>
      publisher.publish(
        names.factSubject(partition, fact.device_id),
        json(fact),
        `${fact.command_id}.delivered`,
      ),
    reply: (fact, partition) =>
      publisher.publish(names.factSubject(partition, fact.gateway), json(fact)),
    presence: (fact, partition) => publisher.publish(names.presenceSubject(partition), json(fact)),
    attach() {},
    close() {},
  };
}
