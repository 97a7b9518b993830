/**
 * effect-dynamic-batcher itself, with dispatch "full" (a batch goes when full
 * or when the window since its first record passed) and "idle" (also whenever
 * the processor is free). `submit` is a fiber per record; `offerAll` is the
 * bulk path. `maxQueueSize` is set by the harness to at least the workload's
 * size, since the other peers have no bound.
 */
import { Effect } from "effect"
import type * as Library from "effect-dynamic-batcher"
import type { EffectBatcher, EffectPeer } from "./types.ts"

/**
 * The library under test: the workspace package, or the `src/index.ts` of
 * another checkout named by `BENCH_LIBRARY` (`pnpm bench --library=PATH`),
 * to compare a change against a baseline within one run of the machine.
 */
let library: Promise<typeof Library> | undefined
const load = (): Promise<typeof Library> => library ??= import(process.env.BENCH_LIBRARY ?? "effect-dynamic-batcher")

const make = (dispatch: "full" | "idle"): EffectPeer["make"] =>
<Rec, Res>(
  process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>>,
  options: { readonly maxBatchSize: number; readonly windowMs: number; readonly maxQueueSize: number }
) =>
  Effect.map(
    Effect.flatMap(Effect.promise(load), ({ Batcher }) =>
      Batcher.make({
        process,
        maxBatchSize: options.maxBatchSize,
        batchTimeout: options.windowMs,
        maxQueueSize: options.maxQueueSize,
        dispatch
      })),
    (batcher: Library.Batcher.Batcher<Rec, Res, never>): EffectBatcher<Rec, Res> => ({
      submit: (record) => batcher.submit(record),
      offerAll: (records) => batcher.offerAll(records),
      utilization: Effect.map(batcher.stats, (stats) => stats.utilization)
    })
  )

const peer = (dispatch: "full" | "idle"): EffectPeer => ({
  kind: "effect",
  name: `ours-${dispatch}`,
  description: `effect-dynamic-batcher, dispatch "${dispatch}"`,
  bulk: true,
  make: make(dispatch)
})

export const oursFull: EffectPeer = peer("full")

export const oursIdle: EffectPeer = peer("idle")
