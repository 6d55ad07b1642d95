// The one command identity the pure-code tests (machines, device host) share.

/** Tenant, client, device and type of a seed-like command; tests add ids and times. */
export const SAMPLE_COMMAND = {
  tenant_id: "t1",
  client_id: "c1",
  vendor: "dji",
  device_id: "DOCK1",
  command_type: "fileupload_start",
  channel: "services",
} as const;
