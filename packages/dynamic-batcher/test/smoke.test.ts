import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Batcher } from "effect-dynamic-batcher"

describe("smoke", () => {
  it.effect("batches concurrent submits", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<number>> = []
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.sync(() => {
            seen.push(batch)
            return batch.map((n) => n * 2)
          }),
        maxBatchSize: 4
      })
      const fiber = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (n) => batcher.submit(n), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("50 millis")
      const results = yield* Fiber.join(fiber)
      assert.deepStrictEqual(results, [2, 4, 6, 8, 10, 12])
      assert.deepStrictEqual(seen, [[1, 2, 3, 4], [5, 6]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 6)
      assert.strictEqual(stats.totalCompleted, 6)
      assert.strictEqual(stats.totalBatches, 2)
    }))
})
