import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Fiber } from "effect"
import { Batcher, ResultCountMismatchError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { settle } from "./utils.ts"

class ModelError extends Data.TaggedError("ModelError")<{ readonly batchSize: number }> {}

/** Fails, dies or misbehaves on batches holding `bad`; doubles otherwise. */
const faulty =
  (bad: number, fault: (batch: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>, ModelError>) =>
  (batch: ReadonlyArray<number>) => batch.includes(bad) ? fault(batch) : Effect.succeed(batch.map((n) => n * 2))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): unknown => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

/** Submits [1, 2] (one batch), then [3] (next batch), and returns their exits. */
const runTwoBatches = <E>(batcher: Batcher.Batcher<number, number, E>) =>
  Effect.gen(function*() {
    const first = yield* Effect.forkChild(batcher.submitAll([1, 2]).pipe(Effect.exit))
    const firstSingles = yield* Effect.forkChild(batcher.submit(1).pipe(Effect.exit))
    yield* TestClock.adjust("50 millis")
    const second = yield* Effect.forkChild(batcher.submit(3))
    yield* TestClock.adjust("50 millis")
    return {
      first: yield* Fiber.join(first),
      single: yield* Fiber.join(firstSingles),
      second: yield* Fiber.join(second)
    }
  })

describe("failures", () => {
  it.effect("a typed failure of process fails every record of its batch with it, and the loops go on", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: faulty(1, (batch) => Effect.fail(new ModelError({ batchSize: batch.length })))
      })
      const { first, second, single } = yield* runTwoBatches(batcher)
      assert.deepStrictEqual(failureOf(first), new ModelError({ batchSize: 3 }))
      assert.deepStrictEqual(failureOf(single), new ModelError({ batchSize: 3 }))
      assert.strictEqual(second, 6)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalFailed, 3)
      assert.strictEqual(stats.totalCompleted, 4)
    }))

  it.effect("a defect reaches every record of the batch as that defect", () =>
    Effect.gen(function*() {
      const boom = new Error("GPU on fire")
      const batcher = yield* Batcher.make({ process: faulty(1, () => Effect.die(boom)) })
      const { first, second } = yield* runTwoBatches(batcher)
      assert.isTrue(Exit.isFailure(first))
      if (Exit.isFailure(first)) assert.deepStrictEqual(Cause.squash(first.cause), boom)
      assert.strictEqual(second, 6)
    }))

  it.effect("a synchronous throw inside process is a defect, not a crash", () =>
    Effect.gen(function*() {
      const boom = new Error("thrown")
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => {
          if (batch.includes(1)) throw boom
          return Effect.succeed(batch.map((n) => n * 2))
        }
      })
      const { first, second } = yield* runTwoBatches(batcher)
      assert.isTrue(Exit.isFailure(first) && Cause.squash(first.cause) === boom)
      assert.strictEqual(second, 6)
    }))

  it.effect("a wrong result count fails every record with ResultCountMismatchError", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: faulty(1, (batch) => Effect.succeed(batch.slice(1))) })
      const { first, second } = yield* runTwoBatches(batcher)
      assert.deepStrictEqual(first, Exit.fail(new ResultCountMismatchError({ expected: 3, actual: 2 })))
      assert.strictEqual(second, 6)
      const error = new ResultCountMismatchError({ expected: 3, actual: 2 })
      assert.include(error.message, "expected 3 results, got 2")
    }))

  it.effect("a non-array result is a defect that names what came back", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: faulty(1, () => Effect.succeed(null as unknown as ReadonlyArray<number>))
      })
      const { first, second } = yield* runTwoBatches(batcher)
      assert.isTrue(Exit.isFailure(first))
      if (Exit.isFailure(first)) {
        const defect = Cause.squash(first.cause)
        assert.instanceOf(defect, TypeError)
        assert.include((defect as TypeError).message, "got null")
      }
      assert.strictEqual(second, 6)
    }))

  it.effect("process interrupting itself delivers an interruption to its records only", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: faulty(1, () => Effect.interrupt) })
      const { first, second } = yield* runTwoBatches(batcher)
      assert.isTrue(Exit.isFailure(first) && Cause.hasInterrupts(first.cause))
      assert.strictEqual(second, 6)
    }))

  it.effect("stats are updated before results are delivered", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: faulty(2, () => Effect.fail(new ModelError({ batchSize: 1 }))),
        dispatch: "idle"
      })
      const ok = yield* batcher.submit(1).pipe(Effect.andThen(batcher.stats), Effect.forkChild)
      yield* settle
      assert.strictEqual((yield* Fiber.join(ok)).totalCompleted, 1)
      const failed = yield* batcher.submit(2).pipe(Effect.flip, Effect.andThen(batcher.stats), Effect.forkChild)
      yield* settle
      const stats = yield* Fiber.join(failed)
      assert.strictEqual(stats.totalCompleted, 2)
      assert.strictEqual(stats.totalFailed, 1)
    }))
})
