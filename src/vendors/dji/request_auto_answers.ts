// The requests a dock waits on before a takeoff, which Downlink answers itself when no client has
// within the grace period (DOWNLINK_DEVICE_REQUEST_GRACE_SECONDS): DJI's FAQ says a dock waits
// about 40 s for `flight_areas_get` and `offline_map_get` before it takes off when the cloud never
// answers (PROTOCOL §2.4, §8.4, and §6.2: requests carry no timeout on the cloud side, only on the
// device's). Every other request waits for a client, then expires.
import type { DeviceRequestAnswer } from "./device_request_message.ts";

const AUTO_ANSWERS: Readonly<Record<string, DeviceRequestAnswer>> = {
  // DJI documents the answer as `{result, output: {files: [{name, url, checksum, size}]}}`, with
  // `files` an empty array when there are no custom flight areas (PROTOCOL §8.4,
  // D2/130.custom-flight-area.md): that is the answer for "none", and no firmware has to guess
  // what a missing `output` means.
  flight_areas_get: { result: 0, output: { files: [] } },
  // No API page exists; the FAQ says a bare `{result: 0}` avoids the ~40 s wait on firmware
  // older than 10.01.32.02 (PROTOCOL §8.4). DJI's SDK model (`offline_map_enable`, `files`) is
  // only the demo's guess, so nothing more is claimed.
  offline_map_get: { result: 0 },
};

/** What Downlink answers `method` with after the grace period, or undefined: a client must. */
export function autoAnswerOf(method: string): DeviceRequestAnswer | undefined {
  return Object.hasOwn(AUTO_ANSWERS, method) ? AUTO_ANSWERS[method] : undefined;
}

/** The methods Downlink answers itself (for the docs and the API). */
export const AUTO_ANSWERED_METHODS: readonly string[] = Object.keys(AUTO_ANSWERS);
