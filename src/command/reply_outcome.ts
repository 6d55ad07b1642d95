// What a vendor adapter makes of a device reply: the command's outcome and its Query Response
// fields. The vendor builds it, the machine steps on it; both import it from here.

export type ReplyStatus = "SUCCEEDED" | "FAILED" | "UNMATCHED_RESPONSE";

export interface ReplyOutcome {
  status: ReplyStatus;
  response_code?: string;
  response_message?: string;
  vendor_response: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
}
