// A command's facts: what it starts with and what its transitions add. The machine steps them,
// the store persists them, the bus carries them and lifecycle events are built from them.
import type { CommandChannel } from "./channel.ts";

/** The command as the machine starts it; times are epoch milliseconds. */
export interface CommandInput {
  command_id: string;
  tenant_id: string;
  client_id: string;
  vendor: string;
  device_id: string;
  command_type: string;
  channel: CommandChannel;
  accepted_at: number;
  deadline_at: number;
}

export interface CommandContext extends CommandInput {
  delivered_at?: number;
  response_received_at?: number;
  completed_at?: number;
  response_code?: string;
  response_message?: string;
  vendor_response?: Record<string, unknown>;
  failure_code?: string;
  failure_reason?: string;
}
