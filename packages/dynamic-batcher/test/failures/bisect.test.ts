/**
 * Poison isolation (`onBatchFailure: "bisect"`) and dead letters
 * (`onDeadLetter`), with the fault matrix of the hook: one that fails, dies,
 * or never returns (bounded by `shutdownTimeout` at shutdown).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Fiber } from "effect"
import { Batcher, DeadlineExceededError } from "effect-dynamic-batcher"
import type { BatchInfo } from "effect-dynamic-batcher/Batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"

class BadRow extends Data.TaggedError("BadRow") {}

/** Fails any batch holding 13; records every batch with its info. */
const poisoned = () => {
  const runs: Array<{ readonly batch: ReadonlyArray<number>; readonly split: number }> = []
  const process = (batch: ReadonlyArray<number>, info: BatchInfo) =>
    Effect.suspend(() => {
      runs.push({ batch: [...batch], split: info.split })
      return batch.includes(13) ? Effect.fail(new BadRow()) : Effect.succeed(batch.map((n) => n + 1))
    })
  return { runs, process }
}

const submitEach = (batcher: Batcher.Batcher<number, number, BadRow>, records: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const fibers = yield* Effect.forEach(records, (n) => Effect.forkChild(Effect.exit(batcher.submit(n))))
    yield* TestClock.adjust("50 millis")
    return yield* Effect.forEach(fibers, Fiber.join)
  })

describe("onBatchFailure: bisect", () => {
  it.effect("a poison record's neighbours succeed; halves keep order; info.split is the depth", () =>
    Effect.gen(function*() {
      const { process, runs } = poisoned()
      const batcher = yield* Batcher.make({ process, maxBatchSize: 8, onBatchFailure: "bisect" })
      const exits = yield* submitEach(batcher, [10, 11, 12, 13, 14, 15, 16, 17])
      exits.forEach((exit, i) =>
        i === 3
          ? assert.deepStrictEqual(exit, Exit.fail(new BadRow()))
          : assert.deepStrictEqual(exit, Exit.succeed(11 + i))
      )
      assert.deepStrictEqual(runs.map((r) => [r.batch, r.split]), [
        [[10, 11, 12, 13, 14, 15, 16, 17], 0],
        [[10, 11, 12, 13], 1],
        [[14, 15, 16, 17], 1],
        [[10, 11], 2],
        [[12, 13], 2],
        [[12], 3],
        [[13], 3]
      ])
      assert.isAtMost(runs.length - 1, 2 * Math.log2(8))
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalSplits, stats.totalFailed, stats.totalCompleted], [3, 1, 8])
    }))

  it.effect(`"fail" (the default) fails the whole batch`, () =>
    Effect.gen(function*() {
      const { process, runs } = poisoned()
      const batcher = yield* Batcher.make({ process, maxBatchSize: 4 })
      const exits = yield* submitEach(batcher, [12, 13, 14])
      assert.isTrue(exits.every(Exit.isFailure))
      assert.strictEqual(runs.length, 1)
    }))

  it("the Promise API bisects too", async () => {
    const batcher = new DynamicBatcher({
      processFn: async (batch: Array<number>) => {
        if (batch.includes(13)) throw new Error("bad row")
        return batch
      },
      batchTimeout: 0,
      onBatchFailure: "bisect"
    })
    await batcher.start()
    const results = await Promise.allSettled(await batcher.submitBatch([11, 12, 13, 14]))
    await batcher.stop()
    assert.deepStrictEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "fulfilled"])
    assert.strictEqual(batcher.stats.totalSplits, 2)
  })
})

describe("onDeadLetter", () => {
  it.effect("sees every record that finally fails, once, with its cause and info, before its producer", () =>
    Effect.gen(function*() {
      const { process } = poisoned()
      const letters: Array<[number, unknown, number]> = []
      const batcher = yield* Batcher.make({
        process,
        maxBatchSize: 4,
        onBatchFailure: "bisect",
        onDeadLetter: (record, cause, info) =>
          Effect.sync(() => {
            letters.push([record, Cause.squash(cause), info.split])
          })
      })
      const exits = yield* submitEach(batcher, [12, 13, 14])
      assert.deepStrictEqual(letters, [[13, new BadRow(), 2]])
      assert.deepStrictEqual(exits[1], Exit.fail(new BadRow()))
    }))

  it.effect("an expired record is dead-lettered too", () =>
    Effect.gen(function*() {
      const letters: Array<unknown> = []
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        batchTimeout: "1 second",
        onDeadLetter: (record, cause) => Effect.sync(() => letters.push([record, Cause.squash(cause)]))
      })
      const fiber = yield* Effect.forkChild(Effect.flip(batcher.submit(1, { timeout: "10 millis" })))
      yield* TestClock.adjust("10 millis")
      const error = yield* Fiber.join(fiber)
      assert.instanceOf(error, DeadlineExceededError)
      assert.deepStrictEqual(letters, [[1, error]])
    }))

  it.effect("a hook that fails or dies is logged and changes nothing for the producer", () =>
    Effect.gen(function*() {
      for (const hook of [() => Effect.fail("hook failed" as never), () => Effect.die(new Error("hook died"))]) {
        const { process } = poisoned()
        const batcher = yield* Batcher.make({ process, batchTimeout: 0, onDeadLetter: hook })
        assert.deepStrictEqual(yield* Effect.exit(batcher.submit(13)), Exit.fail(new BadRow()))
        assert.strictEqual(yield* batcher.submit(1), 2)
      }
    }))

  it.effect("a hook that never returns holds its record until shutdownTimeout, which delivers its own failure", () =>
    Effect.gen(function*() {
      const { process } = poisoned()
      const batcher = yield* Batcher.make({
        process,
        batchTimeout: 0,
        shutdownTimeout: "1 second",
        onDeadLetter: () => Effect.never
      })
      const stuck = yield* Effect.forkChild(Effect.exit(batcher.submit(13)))
      assert.strictEqual(yield* batcher.submit(1), 2, "other records go on")
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual(yield* Fiber.join(stuck), Exit.fail(new BadRow()))
    }))

  it("the Promise API's hook gets the error the record rejects with", async () => {
    const letters: Array<[number, unknown]> = []
    const batcher = new DynamicBatcher({
      processFn: async (batch: Array<number>) => {
        if (batch.includes(13)) throw new Error("bad row")
        return batch
      },
      batchTimeout: 0,
      onDeadLetter: async (record, error) => {
        letters.push([record, (error as Error).message])
        throw new Error("hook rejects")
      }
    })
    await batcher.start()
    const error = await batcher.submit(13).catch((e: unknown) => e)
    await batcher.stop()
    assert.strictEqual((error as Error).message, "bad row")
    assert.deepStrictEqual(letters, [[13, "bad row"]])
  })
})
