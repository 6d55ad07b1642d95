// Which partition a device belongs to: shards own partitions, so this decides which process
// drives a device's commands. The API, the shard and the bridge all compute it.

/** FNV-1a 32-bit: stable across processes and runtimes, cheap on the hot path. */
export function partitionOf(deviceId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) {
    h ^= deviceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
