import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import { Batcher, BatchStats } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { gated, settle } from "./utils.ts"

describe("stats", () => {
  it.effect("start at zero with utilization 0", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: (batch: ReadonlyArray<number>) => Effect.succeed(batch) })
      const stats = yield* batcher.stats
      assert.instanceOf(stats, BatchStats)
      assert.strictEqual(stats.totalSubmitted, 0)
      assert.strictEqual(stats.avgBatchSize, 0)
      assert.strictEqual(stats.utilization, 0)
    }))

  it.effect("measure busy time inside process and idle time waiting for a batch, with the Clock", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("30 millis"), batch),
        batchTimeout: "50 millis",
        costEstimator: (n: number) => n
      })
      const first = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* TestClock.adjust("80 millis")
      yield* Fiber.join(first)
      const second = yield* Effect.forkChild(batcher.submit(10))
      yield* TestClock.adjust("80 millis")
      yield* Fiber.join(second)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.busyTimeMs, 60)
      assert.strictEqual(stats.idleTimeMs, 100)
      assert.strictEqual(stats.utilization, 60 / 160)
      assert.strictEqual(stats.totalBatches, 2)
      assert.strictEqual(stats.avgBatchSize, 2)
      assert.strictEqual(stats.totalBatchCost, 16)
      assert.strictEqual(stats.avgBatchCost, 8)
    }))

  it.effect("add up: submitted = completed + withdrawn + queueSize + in flight", () =>
    Effect.gen(function*() {
      const gate = gated((n: number) => n)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 2, prefetchBatches: 1 })
      yield* batcher.offerAll([1, 2, 3, 4, 5, 6, 7])
      const quitter = yield* Effect.forkChild(batcher.submit(8))
      yield* settle
      yield* Fiber.interrupt(quitter)
      let stats = yield* batcher.stats
      assert.deepStrictEqual(
        [stats.totalSubmitted, stats.totalCompleted, stats.totalWithdrawn, stats.queueSize],
        [8, 0, 1, 5],
        "2 in flight"
      )
      yield* gate.open
      yield* settle
      stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalCompleted, stats.queueSize], [2, 3], "2 more in flight")
      assert.strictEqual(stats.totalSubmitted, stats.totalCompleted + stats.totalWithdrawn + stats.queueSize + 2)
      yield* gate.release
      yield* batcher.shutdown
      stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalCompleted, stats.queueSize], [7, 0])
    }))

  it("is a Schema class that encodes and decodes", () => {
    const stats = new BatchStats({
      totalSubmitted: 3,
      totalCompleted: 2,
      totalFailed: 1,
      totalWithdrawn: 1,
      totalBatches: 1,
      totalBatchCost: 2,
      avgBatchSize: 2,
      avgBatchCost: 2,
      busyTimeMs: 1,
      idleTimeMs: 3,
      queueSize: 0,
      inFlightBatches: 0,
      inFlightRecords: 0,
      totalRetries: 0,
      totalSplits: 0,
      totalExpired: 0,
      effectiveMaxBatchSize: 256,
      effectiveBatchTimeoutMs: 50
    })
    const encoded = Schema.encodeSync(BatchStats)(stats)
    assert.deepStrictEqual(Object.keys(encoded).sort(), [
      "avgBatchCost",
      "avgBatchSize",
      "busyTimeMs",
      "effectiveBatchTimeoutMs",
      "effectiveMaxBatchSize",
      "idleTimeMs",
      "inFlightBatches",
      "inFlightRecords",
      "queueSize",
      "totalBatchCost",
      "totalBatches",
      "totalCompleted",
      "totalExpired",
      "totalFailed",
      "totalRetries",
      "totalSplits",
      "totalSubmitted",
      "totalWithdrawn"
    ])
    const decoded = Schema.decodeUnknownSync(BatchStats)(encoded)
    assert.strictEqual(decoded.utilization, 0.25)
  })
})
