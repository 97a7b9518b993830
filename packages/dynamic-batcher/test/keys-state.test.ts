/**
 * A key with nothing queued holds no state: the lanes of keys seen once are
 * dropped when their last batch is sealed, so a batcher that has seen tens of
 * thousands of keys holds none of them once it is idle. Read from the
 * engine's own structures (its lanes, open batches, ready heap and deadlines).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"

/** What the engine keeps per key and per waiting record. */
const heldState = (batcher: unknown) => {
  const engine = (batcher as any).engine
  return {
    lanes: engine.lanes.byKey.size,
    openLanes: engine.lanes.open.size,
    openRecords: engine.lanes.openRecords,
    deadlines: engine.deadlines.isEmpty ? 0 : 1,
    queued: engine.queued
  }
}

const idle = { lanes: 0, openLanes: 0, openRecords: 0, deadlines: 0, queued: 0 }

describe("per-key state", () => {
  it.effect("20,000 keys, each seen once, leave no lane behind", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch.map((n) => n + 1)),
        groupBy: (n: number) => n,
        maxConcurrentBatches: 2,
        batchTimeout: "5 millis"
      })
      for (let round = 0; round < 4; round++) {
        const records = Array.from({ length: 5_000 }, (_, i) => round * 5_000 + i)
        const fiber = yield* Effect.forkChild(batcher.submitAll(records, { priority: round % 2, timeout: "1 second" }))
        yield* TestClock.adjust("5 millis")
        const results = yield* Fiber.await(fiber)
        assert.deepStrictEqual(results._tag === "Success" ? results.value : results, records.map((n) => n + 1))
      }
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(heldState(batcher), idle)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalCompleted, 20_000)
      assert.strictEqual(stats.totalBatches, 20_000, "one batch per key")
    }))

  it.effect("keys whose records all expired or were withdrawn leave no lane behind", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        groupBy: (n: number) => n % 1_000,
        batchTimeout: "1 hour"
      })
      const expiring = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: 2_000 }, (_, i) => i), {
        timeout: "10 millis"
      }))
      const withdrawn = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: 2_000 }, (_, i) => i)))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.interrupt(withdrawn)
      yield* TestClock.adjust("10 millis")
      const exit = yield* Fiber.await(expiring)
      assert.strictEqual(exit._tag, "Failure")
      // The next step (any reason) drops the lanes whose records all left.
      yield* batcher.reconfigure({ maxBatchSize: 128 })
      assert.deepStrictEqual(heldState(batcher), idle)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalExpired, 2_000)
      assert.strictEqual(stats.totalWithdrawn, 2_000)
      assert.strictEqual(stats.totalBatches, 0)
    }))
})
