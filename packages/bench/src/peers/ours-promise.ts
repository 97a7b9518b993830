/**
 * effect-dynamic-batcher's Promise API, `effect-dynamic-batcher/promise`
 * (class `DynamicBatcher`: `start`, `submit`, `submitBatch`, `stop`). When
 * the module is missing (or, with `--library`, missing from that checkout),
 * this peer reports itself unavailable and its cells are skipped.
 *
 * The module is loaded by name at run time and described structurally below,
 * so the bench type-checks whether or not it exists; if its options change,
 * only this file needs adjusting.
 */
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { PeerOptions, PromiseBatcher, PromisePeer } from "./types.ts"

/** The shape of the Promise API the bench relies on. */
interface DynamicBatcherLike<Rec, Res> {
  start(): Promise<void>
  submit(record: Rec): Promise<Res>
  submitBatch?(records: Iterable<Rec>): Promise<Array<Promise<Res>>>
  stop(): Promise<void>
}
type DynamicBatcherClass = new<Rec, Res>(options: {
  readonly processFn: (batch: Array<Rec>) => PromiseLike<ReadonlyArray<Res>>
  readonly maxBatchSize: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
}) => DynamicBatcherLike<Rec, Res>

// A specifier the type checker does not resolve: the module may not exist.
const specifier: string = process.env.BENCH_LIBRARY
  ? pathToFileURL(path.join(path.dirname(process.env.BENCH_LIBRARY), "promise.ts")).href
  : "effect-dynamic-batcher/promise"

let loaded: Promise<DynamicBatcherClass | string> | undefined
const load = (): Promise<DynamicBatcherClass | string> =>
  loaded ??= import(specifier).then(
    (module: { readonly DynamicBatcher?: unknown }) =>
      typeof module.DynamicBatcher === "function"
        ? module.DynamicBatcher as DynamicBatcherClass
        : `${specifier} has no DynamicBatcher export`,
    (error: unknown) => `${specifier} is missing (${(error as { code?: string })?.code ?? String(error)})`
  )

export const oursPromise: PromisePeer = {
  kind: "promise",
  name: "ours-promise",
  description:
    "effect-dynamic-batcher/promise DynamicBatcher (start/submit/stop), dispatch \"full\"; bulk: submitBatch",
  bulk: true,
  unavailable: async () => {
    const found = await load()
    return typeof found === "string" ? found : undefined
  },
  make: async <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>,
    options: PeerOptions
  ): Promise<PromiseBatcher<Rec, Res>> => {
    const found = await load()
    if (typeof found === "string") throw new Error(found)
    const batcher = new found<Rec, Res>({
      processFn: process,
      maxBatchSize: options.maxBatchSize,
      batchTimeout: options.windowMs,
      maxQueueSize: options.maxQueueSize
    })
    await batcher.start()
    return {
      submit: (record) => batcher.submit(record),
      submitMany: (records) => {
        if (batcher.submitBatch === undefined) throw new Error("DynamicBatcher has no submitBatch")
        return batcher.submitBatch(records)
      },
      close: async () => {
        await batcher.stop()
      }
    }
  }
}
