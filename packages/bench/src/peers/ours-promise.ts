/**
 * effect-dynamic-batcher's Promise API, `effect-dynamic-batcher/promise`
 * (class `DynamicBatcher` with `start`, `submit`, `stop`). That module does
 * not exist yet: until it does, this peer reports itself unavailable and its
 * cells are skipped. The shape assumed below is the planned one; adjust this
 * file (only) if the real constructor differs.
 */
import type { PeerOptions, PromiseBatcher, PromisePeer } from "./types.ts"

/** The assumed shape of the Promise API. */
interface DynamicBatcherLike<Rec, Res> {
  start(): Promise<void> | void
  submit(record: Rec): Promise<Res>
  stop(): Promise<void> | void
}
type DynamicBatcherClass = new<Rec, Res>(options: {
  readonly process: (batch: ReadonlyArray<Rec>) => Promise<ReadonlyArray<Res>>
  readonly maxBatchSize: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
}) => DynamicBatcherLike<Rec, Res>

// A non-literal specifier: the module may not exist, and the type checker must not require it.
const specifier: string = "effect-dynamic-batcher/promise"

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
  description: "effect-dynamic-batcher/promise DynamicBatcher (start/submit/stop), dispatch default",
  bulk: false,
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
      process,
      maxBatchSize: options.maxBatchSize,
      batchTimeout: options.windowMs,
      maxQueueSize: options.maxQueueSize
    })
    await batcher.start()
    return {
      submit: (record) => batcher.submit(record),
      close: async () => {
        await batcher.stop()
      }
    }
  }
}
