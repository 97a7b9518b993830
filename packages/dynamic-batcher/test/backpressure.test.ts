import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { gated, settle } from "./utils.ts"

describe("backpressure", () => {
  it.effect("producers suspend while maxQueueSize records wait, and resume in order as room frees", () =>
    Effect.gen(function*() {
      const gate = gated((n: number) => n * 10)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxQueueSize: 2,
        maxBatchSize: 1,
        prefetchBatches: 1,
        batchTimeout: 0
      })
      // 1 in process, 2 sealed, 3 open (full), 4 and 5 queued: the queue is full.
      const accepted = yield* Effect.forkChild(batcher.offerAll([1, 2, 3, 4, 5]))
      yield* settle
      assert.isDefined(accepted.pollUnsafe(), "five records fit: process, prefetch, open batch, queue")
      let stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 5)
      assert.strictEqual(stats.queueSize, 4)
      const sixth = yield* Effect.forkChild(batcher.submit(6))
      const seventh = yield* Effect.forkChild(batcher.offer(7))
      yield* settle
      assert.isUndefined(seventh.pollUnsafe(), "offer returns only once accepted")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 5)
      yield* gate.open
      yield* settle
      stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 6, "one slot freed: the first waiter got in")
      assert.isUndefined(seventh.pollUnsafe())
      for (let i = 0; i < 6; i++) {
        yield* gate.open
        yield* settle
      }
      assert.strictEqual(yield* Fiber.join(sixth), 60)
      assert.deepStrictEqual(gate.batches, [[1], [2], [3], [4], [5], [6], [7]])
    }))

  it.effect("offerAll larger than the queue is accepted in order as room frees", () =>
    Effect.gen(function*() {
      const gate = gated((n: number) => -n)
      const batcher = yield* Batcher.make({ process: gate.process, maxQueueSize: 3, maxBatchSize: 2 })
      const records = Array.from({ length: 20 }, (_, i) => i)
      const results = yield* Effect.forkChild(batcher.submitAll(records))
      for (let i = 0; i < 10; i++) {
        yield* settle
        yield* gate.open
      }
      assert.deepStrictEqual(yield* Fiber.join(results), records.map((n) => -n))
      assert.deepStrictEqual(gate.batches.flat(), records)
      assert.isTrue(gate.batches.every((batch) => batch.length <= 2))
    }))
})
