// A device as Downlink knows it: a gateway (dock or RC, the holder of the MQTT connection) or an
// aircraft behind one. Every layer uses this shape: the registry, Postgres, the API, the events.
import type { ProductInfo } from "../vendors/vendor_adapter.ts";

export type DeviceKind = "gateway" | "aircraft";

export interface DeviceRecord extends ProductInfo {
  device_id: string;
  kind: DeviceKind;
  /** For an aircraft: the gateway whose topology listed it last. */
  gateway_sn?: string;
  firmware_version?: string;
  online: boolean;
  /** Epoch ms; set while online. */
  online_since?: number;
  /** Epoch ms of the latest message from (or about) the device. */
  last_seen_at?: number;
}

/** A gateway's sub-device as an event or the API lists it. */
export interface SubDeviceView {
  device_id: string;
  model?: string;
  type?: number;
  sub_type?: number;
  firmware_version?: string;
  online: boolean;
}

/** A device as the API answers it; a field with no value is left out. */
export interface DeviceView {
  device_id: string;
  kind: DeviceKind;
  model?: string;
  type?: number;
  sub_type?: number;
  firmware_version?: string;
  online: boolean;
  online_since?: string;
  last_seen_at?: string;
  /** For an aircraft: the gateway that listed it last. */
  gateway_sn?: string;
  /** For a gateway: the aircraft its latest update_topo lists. */
  sub_devices?: SubDeviceView[];
}
