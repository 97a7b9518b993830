/**
 * DataLoader 2 with its cache off (every record is a distinct load), in two
 * schedules: a time window (`batchScheduleFn` with `setTimeout`), and its
 * default, one batch per tick of the event loop. Batches run concurrently,
 * there is no queue bound.
 */
import DataLoader from "dataloader"
import type { PeerOptions, PromiseBatcher, PromisePeer } from "./types.ts"

const make = (windowed: boolean) =>
async <Rec, Res>(
  process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>,
  options: PeerOptions
): Promise<PromiseBatcher<Rec, Res>> => {
  const loader = new DataLoader<Rec, Res>((keys) => process(keys), {
    cache: false,
    maxBatchSize: options.maxBatchSize,
    ...(windowed ? { batchScheduleFn: (callback: () => void) => setTimeout(callback, options.windowMs) } : {})
  })
  return {
    submit: (record) => loader.load(record),
    close: async () => {}
  }
}

export const dataloaderWindow: PromisePeer = {
  kind: "promise",
  name: "dataloader-window",
  description: "DataLoader 2.2.3, cache off, batchScheduleFn = setTimeout(window)",
  bulk: false,
  make: make(true)
}

export const dataloaderTick: PromisePeer = {
  kind: "promise",
  name: "dataloader-tick",
  description: "DataLoader 2.2.3, cache off, default schedule (one batch per tick)",
  bulk: false,
  make: make(false)
}
