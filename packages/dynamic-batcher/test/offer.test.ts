/**
 * What `offer` and `offerAll` return are Effect `Deferred`s in every respect:
 * each record's entry is its own Deferred (one object per record), so these
 * tests hold it to everything Effect's `Deferred` module does with one.
 * They run on both kinds of entry: the one that is its Deferred, and the
 * fallback that wraps a real one (used when the installed `effect`'s
 * `Deferred` has another shape; see `deferred-guard.test.ts`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber, Option, Schedule } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import * as internal from "../src/internal/batcher.ts"
import { costMethods } from "../src/internal/cost.ts"
import { entriesWrapDeferreds } from "../src/internal/entry.ts"
import { gated, recorder, settle } from "./utils.ts"

class ModelError extends Data.TaggedError("ModelError")<{ readonly batchSize: number }> {}

const kinds: ReadonlyArray<readonly [string, typeof Batcher.make]> = [
  ["each entry is its Deferred", Batcher.make],
  ["fallback: each entry wraps a Deferred", (options) => internal.make(options, costMethods, entriesWrapDeferreds)]
]

describe.each(kinds)("offer / offerAll Deferreds (%s)", (_kind, make) => {
  it.effect("are Deferreds that every Deferred function accepts", () =>
    Effect.gen(function*() {
      const { open, process } = gated((n: number) => n * 2)
      const batcher = yield* make({ process, maxBatchSize: 2 })
      const [first, second] = yield* batcher.offerAll([1, 2])
      assert.isTrue(Deferred.isDeferred(first))
      assert.isFalse(Deferred.isDoneUnsafe(first), "pending while process runs")
      assert.isTrue(Option.isNone(yield* Deferred.poll(first)))
      assert.isFalse(yield* Deferred.isDone(second))
      const awaiters = yield* Effect.forEach([first, first, second], (d) => Effect.forkChild(Deferred.await(d)))
      yield* open
      yield* settle
      assert.deepStrictEqual(yield* Effect.forEach(awaiters, Fiber.join), [2, 2, 4], "every awaiter gets the result")
      assert.strictEqual(yield* first.pipe(Deferred.await), 2, "pipe works as on any Deferred")
      const polled = yield* Deferred.poll(second)
      assert.isTrue(Option.isSome(polled))
      assert.strictEqual(yield* Option.getOrThrow(polled), 4)
    }))

  it.effect("a Deferred delivered before anyone awaits it is done, keeps its result, and completes only once", () =>
    Effect.gen(function*() {
      const { process } = recorder((n: number) => (n === 0 ? undefined : n * 2))
      const batcher = yield* make({ process, maxBatchSize: 3 })
      const [zero, one, two] = yield* batcher.offerAll([0, 1, 2])
      yield* settle
      assert.isTrue(Deferred.isDoneUnsafe(one), "done with no awaiter")
      const polled = yield* Deferred.poll(one)
      assert.isTrue(Option.isSome(polled))
      assert.deepStrictEqual(Option.getOrThrow(polled), Exit.succeed(2))
      assert.strictEqual(Option.getOrThrow(yield* Deferred.poll(one)), Option.getOrThrow(polled), "one completion")
      assert.isFalse(yield* Deferred.succeed(two, 100), "already completed")
      assert.deepStrictEqual(yield* Effect.forEach([zero, one, two], Deferred.await), [undefined, 2, 4])
    }))

  it.effect("fibers awaiting a Deferred before it is done get the batch's failure, or the producer's own value", () =>
    Effect.gen(function*() {
      const gate = gated((n: number) => n)
      let failing = true
      const batcher = yield* make({
        process: (batch: ReadonlyArray<number>) =>
          failing
            ? Effect.andThen(gate.process(batch), Effect.fail(new ModelError({ batchSize: batch.length })))
            : gate.process(batch),
        maxBatchSize: 2
      })
      const [a, b] = yield* batcher.offerAll([1, 2])
      const early = yield* Effect.forEach([a, b], (d) => Effect.forkChild(Effect.flip(Deferred.await(d))))
      yield* settle
      yield* gate.open
      assert.deepStrictEqual(yield* Effect.forEach(early, Fiber.join), [
        new ModelError({ batchSize: 2 }),
        new ModelError({ batchSize: 2 })
      ])
      failing = false
      const [c] = yield* batcher.offerAll([3, 4])
      const waiting = yield* Effect.forkChild(Deferred.await(c))
      yield* settle
      assert.isTrue(yield* Deferred.succeed(c, 30), "the producer completes it first")
      assert.strictEqual(yield* Fiber.join(waiting), 30)
      yield* gate.open
      yield* settle
      assert.strictEqual(yield* Deferred.await(c), 30, "the batch's result does not overwrite it")
    }))

  it.effect("a single offer's Deferred fails with the batch's typed error", () =>
    Effect.gen(function*() {
      const batcher = yield* make({
        process: (batch: ReadonlyArray<number>) => Effect.fail(new ModelError({ batchSize: batch.length })),
        maxBatchSize: 1
      })
      const deferred = yield* batcher.offer(5)
      yield* settle
      const error = yield* Effect.flip(Deferred.await(deferred))
      assert.deepStrictEqual(error, new ModelError({ batchSize: 1 }))
    }))

  it.effect("a Deferred its producer completes first keeps the producer's value; the record is still processed once", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((n: number) => n * 2)
      const batcher = yield* make({ process })
      const [mine, other] = yield* batcher.offerAll([1, 2])
      assert.isTrue(yield* Deferred.succeed(mine, 100))
      yield* TestClock.adjust("50 millis")
      assert.strictEqual(yield* Deferred.await(mine), 100, "the batch's result does not overwrite it")
      assert.strictEqual(yield* Deferred.await(other), 4)
      assert.deepStrictEqual(batches, [[1, 2]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalCompleted, 2)
    }))

  it.effect("interrupting a fiber that awaits a Deferred neither withdraws the record nor completes the Deferred", () =>
    Effect.gen(function*() {
      const { open, process } = gated((n: number) => n + 1)
      const batcher = yield* make({ process, maxBatchSize: 1 })
      const deferred = yield* batcher.offer(9)
      const awaiter = yield* Effect.forkChild(Deferred.await(deferred))
      yield* settle
      yield* Fiber.interrupt(awaiter)
      assert.isFalse(Deferred.isDoneUnsafe(deferred))
      yield* open
      yield* settle
      assert.strictEqual(yield* Deferred.await(deferred), 10)
    }))
})

describe("offerAll awaited in order", () => {
  const doubled = (n: number) => n * 2
  const variants = [
    ["process", (gate: ReturnType<typeof gated<number, number>>) => ({ process: gate.process })],
    ["process with a retry policy", (gate: ReturnType<typeof gated<number, number>>) => ({
      process: gate.process,
      retry: { schedule: Schedule.recurs(1) }
    })],
    ["processExits", (gate: ReturnType<typeof gated<number, number>>) => ({
      processExits: (batch: ReadonlyArray<number>) =>
        Effect.map(gate.process(batch), (results) => results.map((result) => Exit.succeed(result)))
    })]
  ] as const
  for (const [name, optionsOf] of variants) {
    it.effect(`${name}: a fiber awaiting the Deferreds one by one finds the whole batch done when it first resumes`, () =>
      Effect.gen(function*() {
        const gate = gated(doubled)
        const batcher = yield* Batcher.make({ ...optionsOf(gate), maxBatchSize: 4 })
        const deferreds = yield* batcher.offerAll([1, 2, 3, 4])
        // what the awaiter saw of the later Deferreds each time it resumed
        const doneWhenResumed: Array<ReadonlyArray<boolean>> = []
        const awaiter = yield* Effect.forkChild(
          Effect.forEach(deferreds, (deferred, i) =>
            Effect.tap(Deferred.await(deferred), () =>
              Effect.sync(() => {
                doneWhenResumed.push(deferreds.slice(i + 1).map((later) => Deferred.isDoneUnsafe(later)))
              })))
        )
        yield* settle
        yield* gate.open
        yield* settle
        assert.deepStrictEqual(yield* Fiber.join(awaiter), [2, 4, 6, 8])
        // Resumed inline by the first result, it would otherwise reach each next
        // Deferred before the engine did, and park again on every record.
        assert.deepStrictEqual(doneWhenResumed, [[true, true, true], [true, true], [true], []])
      }))
  }
})
