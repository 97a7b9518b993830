/**
 * Live reconfiguration: `batcher.reconfigure(patch)` validates the patch
 * together with the current values (an invalid patch changes nothing),
 * applies from the next aggregation step (a lower cap at once to the open
 * batch) and never loses, duplicates or reorders a record; `batcher.tuning`
 * reads the current values, durations in milliseconds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { Batcher, BatcherConfigError, DeadlineExceededError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { errorOf, isDone, settle } from "../support/harness.ts"
import { fullQueue } from "../utils.ts"
import { releasedAtEnd, slots } from "./support.ts"

const double = (n: number) => n * 2

describe("reconfigure and tuning", () => {
  it.effect("tuning reads the defaults, durations in milliseconds", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: (batch: ReadonlyArray<number>) => Effect.succeed(batch) })
      const tuning = yield* batcher.tuning
      assert.strictEqual(tuning.maxBatchSize, 256)
      assert.strictEqual(tuning.minBatchSize, 1)
      assert.strictEqual(tuning.targetBatchCost, 32_000)
      assert.strictEqual(tuning.batchTimeout, 50)
      assert.strictEqual(tuning.dispatch, "full")
      assert.strictEqual(tuning.maxConcurrentBatches, 1)
      assert.strictEqual(tuning.maxQueueSize, 5_000)
      assert.strictEqual(tuning.prefetchBatches, 2)
      assert.isUndefined(tuning.maxQueueDelay)
      assert.isUndefined(tuning.priorityAging)
    }))

  it.effect("tuning reads the values given to make, and every reconfigured value", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        batchTimeout: "2 seconds",
        maxQueueDelay: "1 second",
        priorityAging: 250,
        maxConcurrentBatches: 4
      })
      const before = yield* batcher.tuning
      assert.strictEqual(before.batchTimeout, 2000)
      assert.strictEqual(before.maxQueueDelay, 1000)
      assert.strictEqual(before.priorityAging, 250)
      assert.strictEqual(before.maxConcurrentBatches, 4)
      yield* batcher.reconfigure({
        maxBatchSize: 32,
        minBatchSize: 4,
        targetBatchCost: 900,
        batchTimeout: "5 millis",
        dispatch: "idle",
        maxConcurrentBatches: 2,
        maxQueueSize: 77,
        prefetchBatches: 3,
        maxQueueDelay: 40,
        priorityAging: "1 minute"
      })
      const after = yield* batcher.tuning
      assert.strictEqual(after.maxBatchSize, 32)
      assert.strictEqual(after.minBatchSize, 4)
      assert.strictEqual(after.targetBatchCost, 900)
      assert.strictEqual(after.batchTimeout, 5)
      assert.strictEqual(after.dispatch, "idle")
      assert.strictEqual(after.maxConcurrentBatches, 2)
      assert.strictEqual(after.maxQueueSize, 77)
      assert.strictEqual(after.prefetchBatches, 3)
      assert.strictEqual(after.maxQueueDelay, 40)
      assert.strictEqual(after.priorityAging, 60_000)
    }))

  it.effect("a patch is validated together with the current values; an invalid patch changes nothing", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        maxBatchSize: 5,
        minBatchSize: 2
      })
      const before = yield* batcher.tuning
      const tooBig = yield* Effect.flip(batcher.reconfigure({ minBatchSize: 10 }))
      assert.instanceOf(tooBig, BatcherConfigError)
      assert.strictEqual(tooBig.option, "minBatchSize")
      const belowMin = yield* Effect.flip(batcher.reconfigure({ maxBatchSize: 1 }))
      assert.instanceOf(belowMin, BatcherConfigError)
      const halfBad = yield* Effect.flip(batcher.reconfigure({ maxBatchSize: 50, maxConcurrentBatches: 0 }))
      assert.strictEqual(halfBad.option, "maxConcurrentBatches")
      assert.deepStrictEqual(yield* batcher.tuning, before, "nothing changed, not even the valid part of a patch")
      yield* batcher.reconfigure({ maxBatchSize: 20, minBatchSize: 10 })
      const after = yield* batcher.tuning
      assert.deepStrictEqual([after.maxBatchSize, after.minBatchSize], [20, 10], "checked against each other")
    }))

  const invalid: ReadonlyArray<[string, Record<string, unknown>]> = [
    ["maxBatchSize", { maxBatchSize: 0 }],
    ["maxBatchSize", { maxBatchSize: 1.5 }],
    ["targetBatchCost", { targetBatchCost: -1 }],
    ["batchTimeout", { batchTimeout: -5 }],
    ["batchTimeout", { batchTimeout: "soon" }],
    ["dispatch", { dispatch: "eager" }],
    ["maxConcurrentBatches", { maxConcurrentBatches: 0 }],
    ["maxConcurrentBatches", { maxConcurrentBatches: 2.5 }],
    ["maxQueueSize", { maxQueueSize: 0 }],
    ["prefetchBatches", { prefetchBatches: 0 }],
    ["maxQueueDelay", { maxQueueDelay: -1 }],
    ["maxQueueDelay", { maxQueueDelay: Number.NaN }],
    ["priorityAging", { priorityAging: "soon" }],
    ["priorityAging", { priorityAging: -10 }]
  ]
  for (const [option, patch] of invalid) {
    it.effect(`rejects ${option} = ${String(Object.values(patch)[0])} with BatcherConfigError`, () =>
      Effect.gen(function*() {
        const batcher = yield* Batcher.make({
          process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
          batchTimeout: 0
        })
        const before = yield* batcher.tuning
        const error = yield* Effect.flip(batcher.reconfigure(patch as never))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual(error.option, option)
        assert.include(error.message, `Invalid batcher option ${option}`)
        assert.deepStrictEqual(yield* batcher.tuning, before)
        assert.deepStrictEqual(yield* batcher.submitAll([1, 2]), [1, 2], "the batcher goes on")
      }))
  }

  it.effect("a lower maxBatchSize applies to the open batch at once, without reordering", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 10, batchTimeout: "1 hour" })
      const fiber = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5]))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [])
      yield* batcher.reconfigure({ maxBatchSize: 2 })
      yield* settle()
      assert.deepStrictEqual(
        gate.batches().slice(0, 2),
        [[1, 2], [3, 4]],
        "the open batch was over the new cap: full batches of 2 went at once"
      )
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6, 8, 10])
      assert.deepStrictEqual(gate.batches(), [[1, 2], [3, 4], [5]], "[5] went then or on its timeout, alone")
    }))

  it.effect("a lower targetBatchCost applies to the open batch at once", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, targetBatchCost: 100, batchTimeout: "1 hour" })
      const fiber = yield* Effect.forkChild(batcher.submitAll([1, 2, 3], { costs: [5, 5, 5] }))
      yield* settle()
      yield* batcher.reconfigure({ targetBatchCost: 10 })
      yield* settle()
      assert.deepStrictEqual(gate.batches()[0], [1, 2], "5 + 5 reach the new budget of 10: that batch went at once")
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6])
      assert.deepStrictEqual(gate.batches(), [[1, 2], [3]])
    }))

  it.effect("a new batchTimeout applies to the batches that open after it", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: "1 hour" })
      yield* batcher.reconfigure({ batchTimeout: 10 })
      const fiber = yield* Effect.forkChild(batcher.submit(1))
      yield* TestClock.adjust(9)
      assert.deepStrictEqual(gate.batches(), [])
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(fiber), 2)
      assert.strictEqual(gate.calls[0].at, 10)
    }))

  it.effect("dispatch full → idle: a free processor takes the open batch without waiting for the timeout", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: "1 hour" })
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [])
      yield* batcher.reconfigure({ dispatch: "idle" })
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* settle()
      assert.deepStrictEqual(gate.batches().flat(), [1, 2], "no time passed")
      assert.deepStrictEqual([yield* Fiber.join(first), yield* Fiber.join(second)], [2, 4])
    }))

  it.effect("raising maxConcurrentBatches starts waiting batches at once; lowering it interrupts nothing", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 1 })
      yield* releasedAtEnd(gate)
      const fibers = yield* Effect.forEach([1, 2, 3, 4], (n) => Effect.forkChild(batcher.submit(n)))
      yield* settle()
      assert.strictEqual(gate.state.active, 1)
      yield* batcher.reconfigure({ maxConcurrentBatches: 3 })
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3]])
      assert.strictEqual((yield* batcher.stats).inFlightBatches, 3)
      yield* batcher.reconfigure({ maxConcurrentBatches: 1 })
      yield* gate.open(0)
      yield* settle()
      assert.strictEqual(gate.state.active, 2, "the running batches go on; none starts while 2 > 1 run")
      assert.strictEqual(gate.calls.length, 3)
      yield* gate.open(1)
      yield* settle()
      assert.strictEqual(gate.calls.length, 3, "one still runs: the limit of 1 is reached")
      yield* gate.open(2)
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3], [4]])
      yield* gate.open(3)
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), [2, 4, 6, 8])
      assert.strictEqual(gate.state.maxActive, 3)
    }))

  it.effect("raising maxQueueSize admits waiting producers at once", () =>
    Effect.gen(function*() {
      const { accepted, batcher, gate } = yield* fullQueue(double)
      yield* releasedAtEnd(gate)
      const waiting = yield* Effect.forkChild(batcher.offerAll([5, 6]))
      yield* settle()
      assert.isFalse(isDone(waiting), "the queue is full")
      yield* batcher.reconfigure({ maxQueueSize: 10 })
      yield* settle()
      assert.isTrue(isDone(waiting), "admitted without any record leaving")
      const deferreds = yield* Fiber.join(waiting)
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8])
      assert.deepStrictEqual(yield* Effect.forEach(deferreds, Deferred.await), [10, 12])
      assert.deepStrictEqual(gate.batches, [[1], [2], [3], [4], [5], [6]])
    }))

  it.effect("lowering maxQueueSize never drops an accepted record; new producers wait below it", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxQueueSize: 20,
        maxBatchSize: 1,
        prefetchBatches: 1
      })
      yield* releasedAtEnd(gate)
      const accepted = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5, 6, 7, 8]))
      yield* settle()
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 8, "all accepted")
      yield* batcher.reconfigure({ maxQueueSize: 1 })
      const late = yield* Effect.forkChild(batcher.offer(9))
      yield* settle()
      assert.isFalse(isDone(late), "the queue holds more than the new maxQueueSize: a new producer waits")
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 8)
      assert.strictEqual(stats.totalWithdrawn, 0)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8, 10, 12, 14, 16])
      assert.strictEqual(yield* Deferred.await(yield* Fiber.join(late)), 18)
      assert.deepStrictEqual(gate.batches().flat(), [1, 2, 3, 4, 5, 6, 7, 8, 9])
    }))

  it.effect("maxQueueDelay set at run time applies to records submitted after it", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: 0 })
      yield* releasedAtEnd(gate)
      const held = yield* Effect.forkChild(batcher.submit(0))
      yield* settle()
      yield* batcher.reconfigure({ maxQueueDelay: "15 millis" })
      const late = yield* Effect.forkChild(batcher.submit(1))
      yield* TestClock.adjust(14)
      assert.isFalse(isDone(late))
      yield* TestClock.adjust(1)
      yield* settle()
      const error = errorOf(late.pollUnsafe()!)
      assert.instanceOf(error, DeadlineExceededError)
      assert.strictEqual((error as DeadlineExceededError).timeoutMillis, 15)
      yield* gate.release
      assert.strictEqual(yield* Fiber.join(held), 0)
    }))

  it.effect("records keep FIFO and exactly-once across many reconfigurations under load", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 4, batchTimeout: 3, maxQueueSize: 6 })
      yield* releasedAtEnd(gate)
      const fibers: Array<Fiber.Fiber<number, unknown>> = []
      const patches = [
        { maxBatchSize: 2 },
        { maxConcurrentBatches: 3 },
        { batchTimeout: 0 },
        { maxQueueSize: 2, prefetchBatches: 1 },
        { dispatch: "idle" as const, minBatchSize: 2 },
        { maxBatchSize: 7, targetBatchCost: 3 },
        { maxConcurrentBatches: 1, maxQueueSize: 50 }
      ]
      let opened = 0
      for (let step = 0; step < 42; step++) {
        fibers.push(yield* Effect.forkChild(batcher.submit(step, { cost: 1 })))
        if (step % 6 === 5) yield* batcher.reconfigure(patches[Math.floor(step / 6)])
        if (step % 3 === 0) yield* gate.open(opened++)
        yield* TestClock.adjust(1)
        yield* settle(10)
      }
      yield* gate.release
      yield* TestClock.adjust(10)
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), fibers.map((_, i) => i * 2))
      assert.deepStrictEqual(gate.batches().flat(), fibers.map((_, i) => i), "each once, in submission order")
    }))
})
