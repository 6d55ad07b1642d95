// The seed API page's example command, word for word: the OpenAPI example and the demo's command.
/** The seed page's request body (fileupload_start to drone-001), as POST /commands takes it. */
export const SEED_COMMAND = {
  vendor: "dji",
  device_id: "drone-001",
  command_type: "fileupload_start",
  payload: {
    bucket: "string",
    region: "string",
    credentials: {
      access_key_id: "id-001",
      access_key_secret: "string",
      expire: 0,
      security_token: "string",
    },
    endpoint: "string",
    provider: "string",
    params: { files: [{ list: {}, module: "string", object_key: "string" }] },
  },
  idempotency_key: "req-fileupload_start-001",
  timeout_seconds: 30,
} as const;
