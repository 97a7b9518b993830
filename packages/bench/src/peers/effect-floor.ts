/**
 * The Effect floor: the least an Effect-native `submit` can cost. Each record
 * gets a `Deferred`, pushed with the record onto plain arrays; a batch goes
 * when it is full or when a `setTimeout` window since its first record fires,
 * and its results complete the Deferreds in bulk with `Deferred.doneUnsafe`.
 * No queue, no bound, no loop fiber, no withdrawal on interruption: `process`
 * runs on a fiber of its own per batch (an Effect must run somewhere), and
 * batches run concurrently.
 *
 * Its bulk path (`offerAll`) is the same without a fiber per record: one
 * synchronous step creates every Deferred and returns them.
 */
import { Deferred, Effect, Exit } from "effect"
import type { EffectBatcher, EffectPeer } from "./types.ts"

export const effectFloor: EffectPeer = {
  kind: "effect",
  name: "effect-floor",
  description: "Deferred per record on a plain array, completed in bulk; no queue, no loop fiber (the Effect floor)",
  bulk: true,
  make: <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>>,
    options: { readonly maxBatchSize: number; readonly windowMs: number }
  ) =>
    Effect.gen(function*() {
      const run = Effect.runForkWith(yield* Effect.context<never>())
      const max = options.maxBatchSize
      let records: Array<Rec> = []
      // `any` errors: the harness's Deferreds are typed loosely (a Deferred is invariant in E).
      let deferreds: Array<Deferred.Deferred<Res, any>> = []
      let timer: ReturnType<typeof setTimeout> | undefined

      const flush = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        timer = undefined
        if (records.length === 0) return
        const batch = records
        const waiting = deferreds
        records = []
        deferreds = []
        run(process(batch)).addObserver((exit) => {
          if (Exit.isSuccess(exit)) {
            const results = exit.value
            for (let i = 0; i < waiting.length; i++) Deferred.doneUnsafe(waiting[i], Exit.succeed(results[i]))
          } else {
            const failure = Exit.failCause(exit.cause)
            for (let i = 0; i < waiting.length; i++) Deferred.doneUnsafe(waiting[i], failure)
          }
        })
      }

      const add = (record: Rec): Deferred.Deferred<Res, any> => {
        const deferred = Deferred.makeUnsafe<Res, any>()
        records.push(record)
        deferreds.push(deferred)
        if (records.length >= max) flush()
        else if (records.length === 1) timer = setTimeout(flush, options.windowMs)
        return deferred
      }

      yield* Effect.addFinalizer(() => Effect.sync(flush))

      const batcher: EffectBatcher<Rec, Res> = {
        submit: (record) => Effect.suspend(() => Deferred.await(add(record))),
        offerAll: (recs) => Effect.sync(() => recs.map(add))
      }
      return batcher
    })
}
