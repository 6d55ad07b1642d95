// The hand-written payload schema of fileupload_start: the seed page's contract plus PROTOCOL §3.3.
// Written by hand because the seed's own example departs from DJI's table (`list: {}`, any
// `provider`), and its contract must stay word for word.
import { Type } from "@sinclair/typebox";

// The seed's example sends `list: {}`; DJI documents an array of {boot_index}: both are accepted.
const BootIndexList = Type.Union(
  [
    Type.Array(Type.Object({ boot_index: Type.Integer() })),
    Type.Object({}),
  ],
  { description: "an object or an array of {boot_index: integer}" },
);

const FileToUpload = Type.Object({
  module: Type.String(),
  object_key: Type.String(),
  list: BootIndexList,
});

export const FileuploadStartPayload = Type.Object({
  bucket: Type.String(),
  region: Type.String(),
  credentials: Type.Object({
    access_key_id: Type.String(),
    access_key_secret: Type.String(),
    security_token: Type.String(),
    // Epoch milliseconds in practice, seconds in DJI's table, 0 in the seed: any non-negative integer.
    expire: Type.Integer({ minimum: 0 }),
  }),
  endpoint: Type.String(),
  // DJI lists ali/aws/minio, but the seed's example sends "string": any string is accepted.
  provider: Type.String(),
  params: Type.Object({
    files: Type.Array(FileToUpload),
  }),
});
