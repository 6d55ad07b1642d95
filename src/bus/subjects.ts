// Every NATS subject and stream name Downlink uses, in one place. Device ids are encoded
// before they become a subject token: a DJI serial may contain '.', a NATS token separator.

/** Encodes a device id as one subject token ('.' → '%2E'; '%' never occurs in a valid id). */
export function deviceToken(deviceId: string): string {
  return deviceId.replaceAll(".", "%2E");
}

/** The public lifecycle events stream, shared by every namespace (its subjects are fixed). */
export const EVENTS_STREAM = "DOWNLINK_EVENTS";

/** Names of the internal streams, consumers and buckets of one Downlink namespace. */
export function topologyNames(ns: string) {
  return {
    shardStream: `${ns}_shard`,
    bridgeStream: `${ns}_bridge`,
    shardSubjects: `${ns}.shard.>`,
    bridgeSubjects: `${ns}.bridge.>`,
    shardConsumer: (partition: number) => `shard_p${partition}`,
    shardFilter: (partition: number) => `${ns}.shard.${partition}.>`,
    bridgeConsumer: "bridge",
    /** A command to be hosted by the shard that owns its device's partition. */
    commandSubject: (partition: number, deviceId: string) =>
      `${ns}.shard.${partition}.cmd.${deviceToken(deviceId)}`,
    /** A fact (delivered, reply) for the shard that owns the device's partition. */
    factSubject: (partition: number, deviceId: string) =>
      `${ns}.shard.${partition}.fact.${deviceToken(deviceId)}`,
    /** A dock's event (progress of a job, or a notice) for the shard that owns the gateway. */
    eventSubject: (partition: number, deviceId: string) =>
      `${ns}.shard.${partition}.event.${deviceToken(deviceId)}`,
    eventSubjectPrefix: (partition: number) => `${ns}.shard.${partition}.event.`,
    /** A dock's request (to be recorded and answered) for the shard that owns the gateway. */
    requestSubject: (partition: number, deviceId: string) =>
      `${ns}.shard.${partition}.request.${deviceToken(deviceId)}`,
    requestSubjectPrefix: (partition: number) => `${ns}.shard.${partition}.request.`,
    /** Presence facts (topology, devices seen) for the shard that owns the gateways'
     * partition. */
    presenceSubject: (partition: number) => `${ns}.shard.${partition}.presence`,
    /** A message the bridge must publish to a device over MQTT (a command, an answer to a
     * request). */
    bridgeSubject: (partition: number, deviceId: string) =>
      `${ns}.bridge.${partition}.${deviceToken(deviceId)}`,
    leaseBucket: `${ns}_leases`,
    /** Bridges' reply sessions, kept until a live bridge adopts a dead one's. */
    bridgeRegistryBucket: `${ns}_bridges`,
    /** Bridges' heartbeats: a key that expires names a dead bridge. */
    bridgeHeartbeatBucket: `${ns}_bridges_alive`,
    /** Core NATS: a bridge's reply-path probe, handed back by whichever bridge took it. */
    replyProbeSubject: (instanceToken: string) => `${ns}.probe.${instanceToken}`,
    /** Core NATS: each shard's word on whether new commands should wait (pressure_broadcast). */
    pressureSubject: `${ns}.pressure`,
    /** Answered by the live process holding an instance id (two must never share one). */
    instanceSubject: (instanceId: string) => `${ns}.instance.${instanceId}`,
    /** MQTT shared-subscription group: bridges of one namespace share the replies. */
    mqttShareGroup: ns,
  };
}
export type TopologyNames = ReturnType<typeof topologyNames>;
