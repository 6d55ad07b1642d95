// Hands an answer to a dock's request to the bridge: a RequestReply on the bridge stream, which
// whatever bridge takes it publishes on the dock's requests_reply topic. Used by the API (a
// client's answer) and the shard (Downlink's own answers, answers sent again). The message id
// makes two hand-overs of one answer (the API's and a sweep's) one message in the stream.
import type { AckedPublisher } from "./acked_publisher.ts";
import type { TopologyNames } from "./subjects.ts";
import type { RequestReply } from "./messages.ts";
import type { DeviceRequestRecord } from "../device/device_request.ts";

export interface RequestReplySender {
  /** Resolves once the bridge stream stored the answer of `record` (which must have one).
   * `again`: a dock sent the request again, so the answer is sent once more (another message id:
   * the stream would drop a second copy within its duplicate window). */
  send(record: DeviceRequestRecord, again?: string): Promise<void>;
}

export function createRequestReplySender(
  publisher: AckedPublisher,
  names: TopologyNames,
): RequestReplySender {
  const encoder = new TextEncoder();
  return {
    send(r, again) {
      if (!r.answer) {
        return Promise.reject(new Error(`device request ${r.request_id} has no answer`));
      }
      const message: RequestReply = {
        kind: "request_reply",
        ...(r.vendor ? { vendor: r.vendor } : {}),
        request_id: r.request_id,
        gateway: r.gateway_sn,
        tid: r.tid,
        ...(r.bid ? { bid: r.bid } : {}),
        method: r.method,
        answer: r.answer,
      };
      return publisher.publish(
        names.bridgeSubject(r.partition, r.gateway_sn),
        encoder.encode(JSON.stringify(message)),
        again === undefined ? `${r.request_id}.reply` : `${r.request_id}.reply.${again}`,
      );
    },
  };
}
