/**
 * The bare serial loop: no batcher, no producers, no window. It takes
 * `maxBatchSize` records, calls `process`, awaits the Promise, delivers the
 * results and takes the next batch at once, until told to stop. On W2 this is
 * the most a processor that runs one batch at a time can keep the device
 * busy through that Promise interface: the gap between two batches is only
 * the Promise's hop back to the loop. Ours with `maxConcurrentBatches: 1` and
 * the Promise API are judged against its share.
 */
import type { LoopPeer } from "./types.ts"

export const serialLoop: LoopPeer = {
  kind: "loop",
  name: "serial-loop",
  description: "bare loop: full batches back to back, each after the last one's Promise resolved (W2 only)",
  bulk: false,
  workloads: ["W2"],
  run: async (process, source, options) => {
    while (!source.done()) {
      const batch = source.take(options.maxBatchSize)
      source.deliver(batch, await process(batch))
    }
  }
}
