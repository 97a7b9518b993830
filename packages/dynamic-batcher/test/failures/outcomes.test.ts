/**
 * Per-record outcomes: `processExits` gives each record its own `Exit`, and
 * the Promise API's `processSettledFn` its own `PromiseSettledResult`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Fiber } from "effect"
import { Batcher, BatcherConfigError, ResultCountMismatchError } from "effect-dynamic-batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"

class ItemError extends Data.TaggedError("ItemError")<{ readonly item: number }> {}

/** Odd records fail with `ItemError`, 4 dies, the rest double. */
const perItem = (batch: ReadonlyArray<number>) =>
  Effect.succeed(
    batch.map((n): Exit.Exit<number, ItemError> =>
      n === 4 ? Exit.die(new Error("four")) : n % 2 === 1 ? Exit.fail(new ItemError({ item: n })) : Exit.succeed(n * 2)
    )
  )

const errorOf = <A, E>(exit: Exit.Exit<A, E>): unknown => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

describe("processExits", () => {
  it.effect("each record gets its own success, failure or defect; failed ones count in totalFailed", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ processExits: perItem, maxBatchSize: 4 })
      const fibers = yield* Effect.forEach([1, 2, 3, 4], (n) => Effect.forkChild(Effect.exit(batcher.submit(n))))
      yield* TestClock.adjust("50 millis")
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(errorOf(exits[0]), new ItemError({ item: 1 }))
      assert.deepStrictEqual(exits[1], Exit.succeed(4))
      assert.deepStrictEqual(errorOf(exits[2]), new ItemError({ item: 3 }))
      assert.isTrue(Exit.isFailure(exits[3]) && Cause.hasDies(exits[3].cause))
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalBatches, stats.totalCompleted, stats.totalFailed], [1, 4, 3])
    }))

  it.effect("a failure of the whole effect reaches every record", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        processExits: (batch: ReadonlyArray<number>) => Effect.fail(new ItemError({ item: batch.length })),
        batchTimeout: 0
      })
      const exits = yield* Effect.exit(batcher.submitAll([1, 2]))
      assert.deepStrictEqual(errorOf(exits), new ItemError({ item: 2 }))
      assert.strictEqual((yield* batcher.stats).totalFailed, 2)
    }))

  it.effect("a wrong count is ResultCountMismatchError; a non-Exit is that record's defect", () =>
    Effect.gen(function*() {
      const short = yield* Batcher.make({
        processExits: (_: ReadonlyArray<number>) => Effect.succeed([Exit.succeed(1)]),
        batchTimeout: 0
      })
      const error = yield* Effect.flip(short.submitAll([1, 2]))
      assert.instanceOf(error, ResultCountMismatchError)
      const odd = yield* Batcher.make({
        processExits: (batch: ReadonlyArray<number>) =>
          Effect.succeed(batch.map((n) => n === 1 ? Exit.succeed(1) : (n as unknown as Exit.Exit<number>)))
      })
      const fibers = yield* Effect.forEach([1, 2], (n) => Effect.forkChild(Effect.exit(odd.submit(n))))
      yield* TestClock.adjust("50 millis")
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(exits[0], Exit.succeed(1))
      assert.isTrue(Exit.isFailure(exits[1]) && Cause.hasDies(exits[1].cause))
    }))

  it.effect("make fails with BatcherConfigError unless exactly one of process and processExits is given", () =>
    Effect.gen(function*() {
      const both = { process: perItem, processExits: perItem } as unknown as Batcher.Options<number, number>
      const error = yield* Effect.flip(Batcher.make(both))
      assert.instanceOf(error, BatcherConfigError)
      assert.strictEqual(error.option, "process")
      const neither = yield* Effect.flip(Batcher.make({} as Batcher.Options<number, number>))
      assert.strictEqual(neither.option, "process")
    }))
})

describe("Options (types)", () => {
  it("allow exactly one of process and processExits", () => {
    const process = (batch: ReadonlyArray<number>) => Effect.succeed(batch)
    const processExits = (batch: ReadonlyArray<number>) => Effect.succeed(batch.map(Exit.succeed))
    const one: Array<Batcher.Options<number, number>> = [{ process }, { processExits }]
    // @ts-expect-error: both
    const both: Batcher.Options<number, number> = { process, processExits }
    // @ts-expect-error: neither
    const neither: Batcher.Options<number, number> = {}
    assert.strictEqual([...one, both, neither].length, 4)
  })
})

describe("processSettledFn (Promise API)", () => {
  it("each record resolves or rejects on its own", async () => {
    const batcher = new DynamicBatcher({
      processSettledFn: async (batch: Array<number>) =>
        batch.map((n): PromiseSettledResult<number> =>
          n % 2 === 1 ? { status: "rejected", reason: new Error(`odd ${n}`) } : { status: "fulfilled", value: n * 2 }
        ),
      batchTimeout: 0
    })
    await batcher.start()
    const results = await Promise.allSettled(await batcher.submitBatch([1, 2, 3]))
    await batcher.stop()
    assert.deepStrictEqual(results.map((r) => r.status), ["rejected", "fulfilled", "rejected"])
    assert.deepStrictEqual((results[1] as PromiseFulfilledResult<number>).value, 4)
    assert.strictEqual(((results[0] as PromiseRejectedResult).reason as Error).message, "odd 1")
    assert.strictEqual(batcher.stats.totalFailed, 2)
  })

  it("rejects both processFn and processSettledFn", () => {
    assert.throws(
      () =>
        new DynamicBatcher({
          processFn: async (b: Array<number>) => b,
          processSettledFn: async () => []
        } as never),
      BatcherConfigError
    )
  })
})
