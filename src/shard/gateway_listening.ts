// Whether a command's device listens now, as the device shard machine asks it: from the shard's
// device registry, or always (DOWNLINK_DELIVER_WHEN_OFFLINE, for a broker path that carries no
// presence). A command is published only while its gateway is online; it waits otherwise.
import type { GatewayPresence } from "../../machines/device_shard_machine.ts";
import type { DeviceRecord } from "../device/device_record.ts";

/** A device the registry has never heard of is offline, and was never seen. */
export function gatewayPresence(device: Readonly<DeviceRecord> | undefined): GatewayPresence {
  if (!device) return { online: false };
  return {
    online: device.online,
    ...(device.last_seen_at !== undefined ? { last_seen_at: device.last_seen_at } : {}),
  };
}

/** What every device is told when presence is not waited for. */
export const ALWAYS_LISTENING: GatewayPresence = Object.freeze({ online: true });
