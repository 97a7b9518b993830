import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Batcher } from "effect-dynamic-batcher"

describe("fairness", () => {
  it.effect("a synchronous process does not starve the event loop: it turns between batches", () =>
    Effect.gen(function*() {
      let turns = 0
      let ticking = true
      const tick = () => {
        turns++
        if (ticking) setImmediate(tick)
      }
      setImmediate(tick)
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.sync(() => batch.map((n) => n + 1)),
        maxBatchSize: 64,
        dispatch: "idle"
      })
      const producer = (id: number) =>
        Effect.forEach(Array.from({ length: 50 }, (_, i) => id * 1000 + i), (n) => batcher.submit(n), {
          discard: true
        })
      yield* Effect.forEach(Array.from({ length: 200 }, (_, id) => id), producer, {
        concurrency: "unbounded",
        discard: true
      })
      ticking = false
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalCompleted, 10_000)
      // The processing loop yields after every 8 batches in a row.
      assert.isAtLeast(
        turns,
        stats.totalBatches / 16,
        `the event loop turned ${turns} times during ${stats.totalBatches} batches`
      )
    }))
})
