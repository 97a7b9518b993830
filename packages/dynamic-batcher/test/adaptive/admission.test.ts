/**
 * Predictive admission (`admission: "predictive"`): once the batch-time model
 * has seen batches of two sizes, a submit whose deadline the records ahead of
 * it would make it miss fails at once with `DeadlineExceededError`, reason
 * `"predicted"`, and nothing is enqueued; one that can make it waits as usual.
 */
import { assert, describe, it, vi } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { Batcher, DeadlineExceededError } from "effect-dynamic-batcher"
import { BatcherConfigError, DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"
import { errorOf, settle, withFakeClock } from "../support/harness.ts"

/** A batch of n takes 10 + n ms. */
const process = (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep(Duration.millis(10 + batch.length)), batch)

/**
 * A predictive batcher (cap 10, no wait) that has run batches of 2 and 6
 * records, then has `queued` records waiting behind a batch in `process`.
 */
const busyPredictive = (queued: number, predictive = true) =>
  Effect.gen(function*() {
    const batcher = yield* Batcher.make({
      process,
      maxBatchSize: 10,
      batchTimeout: 0,
      ...(predictive ? { admission: "predictive" as const } : {})
    })
    // Runs before the batcher's own shutdown: the backlog drains on the test clock.
    yield* Effect.addFinalizer(() => TestClock.adjust(Duration.seconds(10)))
    for (const size of [2, 6]) {
      yield* Effect.forkChild(batcher.submitAll(Array.from({ length: size }, (_, i) => i)))
      yield* settle()
      yield* TestClock.adjust(100)
      yield* settle()
    }
    const backlog = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: queued }, (_, i) => i)))
    yield* settle()
    return { batcher, backlog }
  })

/** The fiber's error, which must be a DeadlineExceededError. */
const deadlineOf = (fiber: Fiber.Fiber<unknown, unknown>): DeadlineExceededError => {
  const exit = fiber.pollUnsafe()
  assert.isDefined(exit, "the submit has its result")
  const error = errorOf(exit!)
  assert.instanceOf(error, DeadlineExceededError)
  return error as DeadlineExceededError
}

describe("predictive admission", () => {
  it.effect("a submit that cannot reach process by its deadline fails at once, reason \"predicted\", nothing enqueued", () =>
    Effect.scoped(Effect.gen(function*() {
      const { batcher } = yield* busyPredictive(100)
      const before = yield* batcher.stats
      const late = yield* Effect.forkChild(batcher.submit(7, { timeout: "50 millis" }))
      yield* settle()
      const error = deadlineOf(late)
      assert.strictEqual(error.reason, "predicted")
      assert.deepStrictEqual([error.waitedMillis, error.timeoutMillis], [0, 50])
      assert.include(error.message, "predicted")
      const after = yield* batcher.stats
      assert.strictEqual(after.totalSubmitted, before.totalSubmitted, "nothing was enqueued")
    })))

  it.effect("a submit whose deadline leaves room for the records ahead is accepted and gets its result", () =>
    Effect.scoped(Effect.gen(function*() {
      const { batcher } = yield* busyPredictive(100)
      // 100 records ahead: 10 batches of 20 ms
      const inTime = yield* Effect.forkChild(batcher.submit(7, { timeout: "1 second" }))
      yield* settle()
      assert.isUndefined(inTime.pollUnsafe(), "accepted, waiting")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* settle()
      assert.strictEqual(yield* Fiber.join(inTime), 7)
    })))

  it.effect("submitAll: the whole call fails when its last record would be late, nothing enqueued", () =>
    Effect.scoped(Effect.gen(function*() {
      const { batcher } = yield* busyPredictive(40)
      const before = (yield* batcher.stats).totalSubmitted
      const call = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: 60 }, (_, i) => i), { timeout: 60 }))
      yield* settle()
      assert.strictEqual(deadlineOf(call).reason, "predicted")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, before)
    })))

  it.effect("records of a lower priority still queued are not ahead of a higher one", () =>
    Effect.scoped(Effect.gen(function*() {
      const { batcher } = yield* busyPredictive(100)
      const low = yield* Effect.forkChild(batcher.submit(1, { timeout: 100 }))
      const high = yield* Effect.forkChild(batcher.submit(2, { timeout: 100, priority: 1 }))
      yield* settle()
      assert.strictEqual(deadlineOf(low).reason, "predicted")
      assert.isUndefined(high.pollUnsafe(), "the high-priority record was accepted")
      yield* TestClock.adjust(100)
      yield* settle()
      assert.strictEqual(yield* Fiber.join(high), 2)
    })))

  it.effect("without it, the same submit waits and expires at its deadline (reason \"expired\")", () =>
    Effect.scoped(Effect.gen(function*() {
      const { batcher } = yield* busyPredictive(100, false)
      const late = yield* Effect.forkChild(batcher.submit(7, { timeout: "50 millis" }))
      yield* settle()
      assert.isUndefined(late.pollUnsafe())
      yield* TestClock.adjust(50)
      yield* settle()
      const error = deadlineOf(late)
      assert.deepStrictEqual([error.reason, error.waitedMillis], ["expired", 50])
    })))

  it.effect("before the model has seen batches, nothing is predicted", () =>
    Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process, maxBatchSize: 10, batchTimeout: 0, admission: "predictive" })
      const backlog = yield* Effect.forkChild(batcher.submitAll(Array.from({ length: 100 }, (_, i) => i)))
      const first = yield* Effect.forkChild(batcher.submit(7, { timeout: 5 }))
      yield* settle()
      assert.isUndefined(first.pollUnsafe(), "accepted: no prediction yet")
      yield* TestClock.adjust(5)
      yield* settle()
      assert.strictEqual(deadlineOf(first).reason, "expired")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(backlog)
    })))

  it("the Promise API takes admission and adaptive, and rejects a predicted-late submit", () =>
    withFakeClock(async () => {
      const range = (n: number) => Array.from({ length: n }, (_, i) => i)
      const batcher = new DynamicBatcher<number, number>({
        // A batch of n takes 10 + n ms of the fake clock.
        processFn: (batch) => new Promise((resolve) => setTimeout(() => resolve(batch), 10 + batch.length)),
        maxBatchSize: 10,
        batchTimeout: 0,
        admission: "predictive",
        adaptive: { targetLatency: 50 }
      })
      assert.strictEqual(batcher.stats.effectiveMaxBatchSize, 10, "before start: the cap as configured")
      await batcher.start()
      // two batches of different sizes teach the model
      for (const size of [2, 6]) {
        const futures = await batcher.submitBatch(range(size))
        await vi.advanceTimersByTimeAsync(100)
        await Promise.all(futures)
      }
      // a batch of 10 in processFn and 90 records behind it: 9 batches of 20 ms cannot start in 50 ms
      const held = await batcher.submitBatch(range(100))
      const error = await batcher.submit(7, { timeout: 50 }).catch((e) => e)
      assert.instanceOf(error, DeadlineExceededError)
      assert.strictEqual(error.reason, "predicted")
      await vi.advanceTimersByTimeAsync(1_000)
      assert.deepStrictEqual(await Promise.all(held), range(100))
      await batcher.stop()
    }))

  it("the Promise API's constructor throws BatcherConfigError for a bad adaptive or admission", () => {
    const processFn = async (batch: Array<number>) => batch
    for (
      const [option, bad] of [
        ["adaptive.targetLatency", { adaptive: { targetLatency: -1 } }],
        ["adaptive.percentile", { adaptive: { targetLatency: 50, percentile: 0 } }],
        ["admission", { admission: "eager" }]
      ] as const
    ) {
      const error = (() => {
        try {
          new DynamicBatcher<number, number>({ processFn, ...(bad as object) })
        } catch (e) {
          return e
        }
      })()
      assert.instanceOf(error, BatcherConfigError)
      assert.strictEqual((error as BatcherConfigError).option, option)
    }
  })
})
