/**
 * Effect's own batching: a `RequestResolver` with `setDelay(window)` and
 * `batchN(maxBatchSize)`, one `Effect.request` per record. A batch runs when
 * `batchN` is reached or the delay ends; batches run concurrently, there is
 * no queue bound.
 */
import { Effect, Exit, Request, RequestResolver } from "effect"
import type { EffectBatcher, EffectPeer } from "./types.ts"

interface Item<Rec, Res> extends Request.Request<Res> {
  readonly value: Rec
}

export const requestResolver: EffectPeer = {
  kind: "effect",
  name: "request-resolver",
  description: "RequestResolver.make + setDelay(window) + batchN(256), Effect.request per record",
  bulk: false,
  make: <Rec, Res>(
    process: (batch: ReadonlyArray<Rec>) => Effect.Effect<ReadonlyArray<Res>>,
    options: { readonly maxBatchSize: number; readonly windowMs: number }
  ) =>
    Effect.sync(() => {
      const item = Request.of<Item<Rec, Res>>()
      const resolver = RequestResolver.make<Item<Rec, Res>>((entries) =>
        Effect.map(process(entries.map((entry) => entry.request.value)), (results) => {
          for (let i = 0; i < entries.length; i++) entries[i].completeUnsafe(Exit.succeed(results[i]))
        })
      ).pipe(
        RequestResolver.setDelay(options.windowMs),
        RequestResolver.batchN(options.maxBatchSize)
      )
      const batcher: EffectBatcher<Rec, Res> = {
        submit: (record) => Effect.request(item({ value: record }), resolver)
      }
      return batcher
    })
}
