/**
 * `maxConcurrentBatches`: up to N `process` calls at once, started in seal
 * order, each batch's results delivered as soon as it finishes; the stats
 * count in-flight batches and records, and busy time is the time with at
 * least one batch in `process`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { isDone, settle, statsProblems } from "../support/harness.ts"
import { type Info, releasedAtEnd, slots } from "./support.ts"

const double = (n: number) => n * 2

describe("maxConcurrentBatches", () => {
  it.effect("runs up to N batches in process at once, started in seal order", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxConcurrentBatches: 3, maxBatchSize: 1 })
      yield* releasedAtEnd(gate)
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => Effect.forkChild(batcher.submit(n)))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3]], "three slots, three batches in process")
      assert.strictEqual(gate.state.active, 3)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.inFlightBatches, 3)
      assert.strictEqual(stats.inFlightRecords, 3)
      assert.deepStrictEqual(statsProblems(stats, stats.inFlightRecords), [])
      yield* gate.open(0)
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3], [4]], "a slot freed: the next sealed batch starts")
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [2, 4, 6, 8, 10])
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3], [4], [5]])
      assert.strictEqual(gate.state.maxActive, 3, "never more than maxConcurrentBatches at once")
    }))

  it.effect("defaults to one batch at a time", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 1 })
      yield* releasedAtEnd(gate)
      const fibers = yield* Effect.forEach([1, 2, 3], (n) => Effect.forkChild(batcher.submit(n)))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1]])
      assert.strictEqual((yield* batcher.stats).inFlightBatches, 1)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [2, 4, 6])
      assert.strictEqual(gate.state.maxActive, 1)
      assert.strictEqual((yield* batcher.tuning).maxConcurrentBatches, 1)
    }))

  it.effect("delivers each batch's results as soon as it finishes, never behind an earlier slower batch", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxConcurrentBatches: 2, maxBatchSize: 2 })
      yield* releasedAtEnd(gate)
      const slow = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      const fast = yield* Effect.forkChild(batcher.submitAll([3, 4]))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1, 2], [3, 4]])
      yield* gate.open(1)
      yield* settle()
      assert.isTrue(isDone(fast), "the second batch finished first and was delivered at once")
      assert.isFalse(isDone(slow), "the first batch is still in process")
      assert.deepStrictEqual(yield* Fiber.join(fast), [6, 8])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.inFlightBatches, 1)
      assert.strictEqual(stats.inFlightRecords, 2)
      assert.strictEqual(stats.totalCompleted, 2)
      assert.deepStrictEqual(statsProblems(stats, stats.inFlightRecords), [])
      yield* gate.open(0)
      assert.deepStrictEqual(yield* Fiber.join(slow), [2, 4])
    }))

  it.effect("a failing batch fails only its own records while the other slots go on", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const process = (batch: ReadonlyArray<number>, info: Info): Effect.Effect<ReadonlyArray<number>, string> =>
        batch.includes(13) ? Effect.fail("unlucky") : gate.process(batch, info)
      const batcher = yield* Batcher.make({
        process,
        maxConcurrentBatches: 2,
        maxBatchSize: 1
      })
      const ok = yield* Effect.forkChild(batcher.submit(1))
      const bad = yield* Effect.exit(batcher.submit(13))
      assert.strictEqual(bad._tag, "Failure")
      yield* settle()
      assert.isFalse(isDone(ok), "the other slot's batch is still held")
      yield* gate.open(0)
      assert.strictEqual(yield* Fiber.join(ok), 2)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalFailed, 1)
      assert.strictEqual(stats.totalCompleted, 2)
      assert.strictEqual(stats.inFlightBatches, 0)
    }))

  it.effect("dispatch \"idle\": a free slot counts as a free processor", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxConcurrentBatches: 2,
        dispatch: "idle",
        batchTimeout: "1 hour",
        maxBatchSize: 10
      })
      yield* releasedAtEnd(gate)
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2]], "each went at once to a free slot, no timeout waited")
      const rest = yield* Effect.forkChild(batcher.submitAll([3, 4]))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2]], "no slot free: the open batch waits and keeps filling")
      yield* gate.open(0)
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3, 4]], "a slot freed: the open batch went at once")
      yield* gate.release
      assert.deepStrictEqual(
        [yield* Fiber.join(first), yield* Fiber.join(second), yield* Fiber.join(rest)],
        [2, 4, [6, 8]]
      )
    }))

  it.effect("dispatch \"full\" with free slots still waits for a full batch or its timeout", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxConcurrentBatches: 4,
        batchTimeout: "10 millis",
        maxBatchSize: 3
      })
      yield* releasedAtEnd(gate)
      const fiber = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4]))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1, 2, 3]], "full at once; [4] waits for its timeout")
      yield* TestClock.adjust(9)
      assert.deepStrictEqual(gate.batches(), [[1, 2, 3]])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(gate.batches(), [[1, 2, 3], [4]])
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6, 8])
    }))

  it.effect("busyTimeMs is the time with at least one batch in process, so utilization stays in [0, 1]", () =>
    Effect.gen(function*() {
      const latencies = [10, 20]
      let calls = 0
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.as(Effect.sleep(latencies[calls++ % latencies.length]), batch),
        maxConcurrentBatches: 2,
        maxBatchSize: 1,
        batchTimeout: 0
      })
      const fibers = yield* Effect.forEach([1, 2], (n) => Effect.forkChild(batcher.submit(n)))
      yield* settle()
      const during = yield* batcher.stats
      assert.strictEqual(during.inFlightBatches, 2)
      yield* TestClock.adjust(10)
      yield* settle()
      assert.strictEqual((yield* batcher.stats).inFlightBatches, 1)
      yield* TestClock.adjust(10)
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [1, 2])
      yield* TestClock.adjust(20)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.busyTimeMs, 20, "two overlapping batches of 10 and 20 ms: 20 ms busy, not 30")
      assert.isAtLeast(stats.utilization, 0)
      assert.isAtMost(stats.utilization, 1)
      assert.strictEqual(stats.inFlightBatches, 0)
      assert.strictEqual(stats.inFlightRecords, 0)
      assert.deepStrictEqual(statsProblems(stats), [])
    }))

  it.effect("busyTimeMs counts a finished batch's time while other batches keep the slots busy", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxConcurrentBatches: 2, maxBatchSize: 1 })
      yield* releasedAtEnd(gate)
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      yield* TestClock.adjust(5)
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* settle()
      yield* TestClock.adjust(5)
      yield* gate.open(0)
      assert.strictEqual(yield* Fiber.join(first), 2)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.inFlightBatches, 1, "the second batch still runs")
      assert.strictEqual(stats.busyTimeMs, 10, "busy from t=0 to t=10 so far: a saturated batcher does not read 0")
      assert.isAbove(stats.utilization, 0)
      yield* TestClock.adjust(5)
      yield* gate.open(1)
      assert.strictEqual(yield* Fiber.join(second), 4)
      assert.strictEqual((yield* batcher.stats).busyTimeMs, 15, "one busy period, t=0 to t=15")
    }))

  it.effect("shutdown waits for every batch in every slot and delivers each result", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxConcurrentBatches: 3,
        maxBatchSize: 2,
        batchTimeout: "1 hour"
      })
      yield* releasedAtEnd(gate)
      const fibers = yield* Effect.forEach([[1, 2], [3, 4], [5, 6], [7]], (records) =>
        Effect.forkChild(batcher.submitAll(records)))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1, 2], [3, 4], [5, 6]])
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* settle()
      assert.isFalse(isDone(shutdown))
      yield* gate.open(2)
      yield* gate.open(0)
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1, 2], [3, 4], [5, 6], [7]], "shutdown flushed [7] without its timeout")
      yield* gate.release
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [[2, 4], [6, 8], [10, 12], [14]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.inFlightBatches, 0)
      assert.strictEqual(stats.queueSize, 0)
      assert.strictEqual(gate.state.maxActive, 3)
    }))
})
