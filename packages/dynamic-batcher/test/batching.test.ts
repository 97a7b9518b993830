import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { gated, recorder, settle } from "./utils.ts"

const double = (n: number) => n * 2

describe("batching", () => {
  it.effect("delivers each record its own result, in FIFO batches capped by maxBatchSize", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, maxBatchSize: 3 })
      const fiber = yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7], (n) => batcher.submit(n), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* settle
      assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5, 6]], "full batches go without waiting for the timeout")
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6, 8, 10, 12, 14])
      assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5, 6], [7]])
    }))

  it.effect("closes a batch when the next record would exceed the cost budget", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, targetBatchCost: 10, costEstimator: (n: number) => n })
      const fiber = yield* Effect.forEach([4, 4, 4, 3, 3, 5, 5, 2], (n) => batcher.submit(n), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("50 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(batches, [[4, 4], [4, 3, 3], [5, 5], [2]])
    }))

  it.effect("sends a record that alone exceeds the budget in a batch of its own", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, targetBatchCost: 10, costEstimator: (n: number) => n })
      const fiber = yield* Effect.forEach([2, 25, 3, 11, 0], (n) => batcher.submit(n), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* settle
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [4, 50, 6, 22, 0])
      assert.deepStrictEqual(batches, [[2], [25], [3], [11], [0]])
      for (const batch of batches) {
        const cost = batch.reduce((a, b) => a + b, 0)
        assert.isTrue(batch.length === 1 || cost <= 10, `batch ${batch} exceeds the budget`)
      }
    }))

  it.effect("treats zero-cost records as free but still caps the batch by size", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, maxBatchSize: 4, targetBatchCost: 1, defaultCost: 0 })
      const fiber = yield* Effect.forEach([1, 2, 3, 4, 5], (n) => batcher.submit(n), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("50 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(batches, [[1, 2, 3, 4], [5]])
    }))

  it.effect("runs one batch at a time and keeps the open batch filling while the prefetch buffer is full", () =>
    Effect.gen(function*() {
      let running = 0
      let maxRunning = 0
      const gate = gated(double)
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.suspend(() => {
            maxRunning = Math.max(maxRunning, ++running)
            return Effect.ensuring(gate.process(batch), Effect.sync(() => running--))
          }),
        maxBatchSize: 4,
        prefetchBatches: 1,
        batchTimeout: "10 millis"
      })
      const submit = (n: number) => Effect.forkChild(batcher.submit(n))
      const fibers = [yield* submit(1)]
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(gate.batches, [[1]], "the first batch is in process")
      fibers.push(yield* submit(2))
      yield* TestClock.adjust("10 millis")
      fibers.push(yield* submit(3))
      yield* TestClock.adjust("10 millis")
      fibers.push(yield* submit(4), yield* submit(5))
      yield* TestClock.adjust("30 millis")
      assert.deepStrictEqual(gate.batches, [[1]], "[2] waits in the prefetch buffer, [3, 4, 5] stays open")
      assert.strictEqual((yield* batcher.stats).queueSize, 4)
      yield* gate.open
      yield* settle
      assert.deepStrictEqual(gate.batches, [[1], [2]])
      yield* gate.open
      yield* settle
      assert.deepStrictEqual(gate.batches, [[1], [2], [3, 4, 5]], "the open batch was sealed once room freed")
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [2, 4, 6, 8, 10])
      assert.strictEqual(maxRunning, 1)
    }))
})

describe("dispatch", () => {
  it.effect(`"full" waits batchTimeout after the first record was taken`, () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, batchTimeout: "50 millis" })
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* TestClock.adjust("30 millis")
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust("19 millis")
      assert.deepStrictEqual(batches, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(batches, [[1, 2]])
      assert.deepStrictEqual([yield* Fiber.join(first), yield* Fiber.join(second)], [2, 4])
    }))

  it.effect(`"idle" sends a batch at once when the processor is free`, () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, dispatch: "idle", batchTimeout: "1 second" })
      const result = yield* Effect.forkChild(batcher.submit(1))
      yield* settle
      assert.deepStrictEqual(batches, [[1]])
      assert.strictEqual(yield* Fiber.join(result), 2)
    }))

  it.effect(`"idle" holds fewer than minBatchSize records until the timeout`, () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher = yield* Batcher.make({ process, dispatch: "idle", minBatchSize: 3, batchTimeout: "40 millis" })
      const fiber = yield* Effect.forEach([1, 2], (n) => batcher.submit(n), { concurrency: "unbounded" }).pipe(
        Effect.forkChild
      )
      yield* TestClock.adjust("39 millis")
      assert.deepStrictEqual(batches, [])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(batches, [[1, 2]])
      yield* Fiber.join(fiber)
      const more = yield* Effect.forEach([3, 4, 5], (n) => batcher.submit(n), { concurrency: "unbounded" }).pipe(
        Effect.forkChild
      )
      yield* settle
      assert.deepStrictEqual(batches, [[1, 2], [3, 4, 5]], "minBatchSize records go at once")
      yield* Fiber.join(more)
    }))

  it.effect(`"idle" accumulates while the processor is busy, then sends what waits`, () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process, dispatch: "idle", batchTimeout: "1 second" })
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle
      const rest = yield* Effect.forEach([2, 3, 4], (n) => batcher.submit(n), { concurrency: "unbounded" }).pipe(
        Effect.forkChild
      )
      yield* settle
      assert.deepStrictEqual(gate.batches, [[1]])
      yield* gate.open
      yield* settle
      assert.deepStrictEqual(gate.batches, [[1], [2, 3, 4]])
      yield* gate.open
      assert.strictEqual(yield* Fiber.join(first), 2)
      assert.deepStrictEqual(yield* Fiber.join(rest), [4, 6, 8])
    }))

  for (const dispatch of ["full", "idle"] as const) {
    it.effect(`batchTimeout 0 with "${dispatch}" takes what is queued now and never waits`, () =>
      Effect.gen(function*() {
        const { batches, process } = recorder(double)
        const batcher = yield* Batcher.make({ process, dispatch, batchTimeout: 0, maxBatchSize: 3 })
        const fiber = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4]))
        yield* settle
        assert.deepStrictEqual(batches, [[1, 2, 3], [4]], "records queued together are batched together")
        assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6, 8])
        const single = yield* Effect.forkChild(batcher.submit(5))
        yield* settle
        assert.strictEqual(yield* Fiber.join(single), 10)
      }))
  }
})
