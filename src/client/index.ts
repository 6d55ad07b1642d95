// Downlink's client, as the package exports it (`downlink/client`): the typed command client,
// its errors, the payload types of every catalog command, and the signing seam.
export {
  type Accepted,
  type CommandClient,
  type CommandPage,
  type CommandPayloads,
  type CommandState,
  type CommandStatus,
  type CommandType,
  createCommandClient,
  isTerminal,
  type ListFilter,
  type SendCommand,
  type WaitAnswer,
  type WaitOnceOptions,
  type WaitOptions,
} from "./command_client.ts";
export * from "./api_errors.ts";
export {
  createDownlinkClient,
  type DeviceRequestAnswer,
  type DeviceRequestList,
  type DeviceRequestListQuery,
  type DeviceRequestView,
  type DownlinkClient,
  type DownlinkClientOptions,
  type DownlinkResponse,
  type RequestOptions,
} from "./downlink_client.ts";
export { type SigningHashes, webCryptoHashes } from "./signing_hashes.ts";
