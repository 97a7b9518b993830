import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Scope } from "effect"
import { Batcher, BatcherShutdownError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { fullQueue, gated, recorder, settle } from "./utils.ts"

const double = (n: number) => n * 2

describe("shutdown", () => {
  it.effect("closing the scope processes every accepted record without waiting for timeouts", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ process, batchTimeout: "1 hour", maxBatchSize: 3 }).pipe(
        Scope.provide(scope)
      )
      const results = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5]))
      yield* settle
      assert.deepStrictEqual(batches, [[1, 2, 3]])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5]], "the close returned after the last batch ran")
      assert.deepStrictEqual(yield* Fiber.join(results), [2, 4, 6, 8, 10])
      assert.isFalse(yield* batcher.isRunning)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.queueSize, 0)
      assert.strictEqual(stats.totalCompleted, 5)
    }))

  it.effect("submits after shutdown fail with BatcherShutdownError and never hang", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: recorder(double).process })
      yield* batcher.shutdown
      const error = yield* Effect.flip(batcher.submit(1))
      assert.instanceOf(error, BatcherShutdownError)
      assert.include(error.message, "shut down")
      assert.instanceOf(yield* Effect.flip(batcher.offerAll([1, 2])), BatcherShutdownError)
      assert.instanceOf(yield* Effect.flip(batcher.submitAll([])), BatcherShutdownError)
    }))

  it.effect("shutdown is graceful, idempotent, and stops intake at once", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process })
      const pending = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* settle
      const first = yield* Effect.forkChild(batcher.shutdown)
      const second = yield* Effect.forkChild(batcher.shutdown)
      yield* settle
      assert.isFalse(yield* batcher.isRunning)
      assert.instanceOf(yield* Effect.flip(batcher.submit(3)), BatcherShutdownError)
      assert.isUndefined(first.pollUnsafe(), "shutdown waits for the batch in process")
      yield* gate.open
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      assert.deepStrictEqual(yield* Fiber.join(pending), [2, 4])
      yield* batcher.shutdown
    }))

  it.effect("producers suspended on a full queue at shutdown fail with BatcherShutdownError", () =>
    Effect.gen(function*() {
      const { accepted, batcher, drain, gate } = yield* fullQueue(double)
      const blocked = yield* Effect.forkChild(batcher.submit(5))
      const partly = yield* Effect.forkChild(batcher.submitAll([6, 7]))
      yield* settle
      const stopping = yield* Effect.forkChild(batcher.shutdown)
      yield* settle
      assert.instanceOf(yield* Effect.flip(Fiber.join(blocked)), BatcherShutdownError)
      assert.instanceOf(yield* Effect.flip(Fiber.join(partly)), BatcherShutdownError)
      yield* drain
      yield* Fiber.join(stopping)
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8])
      assert.deepStrictEqual(gate.batches, [[1], [2], [3], [4]])
    }))

  it.effect("shutdown called from inside process starts the shutdown and returns", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(double)
      const batcher: Batcher.Batcher<number, number> = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          batch.includes(1) ? Effect.andThen(batcher.shutdown, process(batch)) : process(batch),
        batchTimeout: "1 hour",
        maxBatchSize: 2
      })
      const results = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* settle
      const late = yield* Effect.forkChild(batcher.submit(3))
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(results), [2, 4])
      const lateExit = yield* Fiber.await(late)
      assert.isTrue(Exit.isFailure(lateExit) && Cause.squash(lateExit.cause) instanceof BatcherShutdownError)
      assert.deepStrictEqual(batches, [[1, 2]])
      assert.isFalse(yield* batcher.isRunning)
    }))

  it.effect("shutdownTimeout interrupts a process that never returns and fails its records", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process: (_: ReadonlyArray<number>) => Effect.never,
        shutdownTimeout: "1 second",
        dispatch: "idle"
      }).pipe(Scope.provide(scope))
      const stuck = yield* Effect.forkChild(batcher.submit(1))
      yield* settle
      const queued = yield* Effect.forkChild(batcher.submit(2))
      yield* settle
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(closing.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      for (const fiber of [stuck, queued]) {
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.instanceOf(error, BatcherShutdownError)
        assert.include(error.reason, "shutdownTimeout")
      }
      const stats = yield* batcher.stats
      assert.strictEqual(stats.queueSize, 0)
      assert.strictEqual(stats.totalFailed, 2)
    }))

  it.effect("closing the scope with a failure still drains gracefully", () =>
    Effect.gen(function*() {
      const { process } = recorder(double)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ process }).pipe(Scope.provide(scope))
      const result = yield* Effect.forkChild(batcher.submit(21))
      yield* settle
      yield* Scope.close(scope, Exit.fail("program failed"))
      assert.strictEqual(yield* Fiber.join(result), 42)
    }))
})
