/**
 * Retries: a batch that failed as a whole with a retryable `E` runs again
 * with the same records after the schedule's delay; with `processExits`, the
 * records whose own `Exit` failed retryably run again as a batch of their own.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Fiber, Logger, Schedule } from "effect"
import { Batcher, BatcherConfigError, DeadlineExceededError } from "effect-dynamic-batcher"
import type { BatchInfo } from "effect-dynamic-batcher/Batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"

class Transient extends Data.TaggedError("Transient")<{ readonly status: number }> {}

/** A `process` that fails with `Transient(503)` its first `failures` runs, then doubles; it records every run. */
const flaky = (failures: number) => {
  const runs: Array<{ readonly batch: ReadonlyArray<number>; readonly info: BatchInfo }> = []
  const process = (batch: ReadonlyArray<number>, info: BatchInfo) =>
    Effect.suspend(() => {
      runs.push({ batch: [...batch], info })
      return runs.length <= failures
        ? Effect.fail(new Transient({ status: 503 }))
        : Effect.succeed(batch.map((n) => n * 2))
    })
  return { runs, process }
}

const twice = Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 2 }))

describe("retry", () => {
  it.effect("a failed batch runs again with the same records, in order, after each delay", () =>
    Effect.gen(function*() {
      const { process, runs } = flaky(2)
      const batcher = yield* Batcher.make({ process, batchTimeout: 0, retry: { schedule: twice } })
      const fiber = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* TestClock.adjust("99 millis")
      assert.strictEqual(runs.length, 1, "the retry waits for its delay")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(runs.length, 2)
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [2, 4, 6])
      assert.deepStrictEqual(runs.map((r) => r.batch), [[1, 2, 3], [1, 2, 3], [1, 2, 3]])
      assert.deepStrictEqual(runs.map((r) => [r.info.attempt, r.info.split]), [[1, 0], [2, 0], [3, 0]])
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalRetries, stats.totalCompleted, stats.totalFailed, stats.totalBatches], [
        2,
        3,
        0,
        3
      ])
    }))

  it.effect("once the schedule is done, the last failure is delivered", () =>
    Effect.gen(function*() {
      const { process, runs } = flaky(10)
      const batcher = yield* Batcher.make({ process, batchTimeout: 0, retry: { schedule: twice } })
      const fiber = yield* Effect.forkChild(Effect.flip(batcher.submit(1)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), new Transient({ status: 503 }))
      assert.strictEqual(runs.length, 3)
      assert.deepStrictEqual([(yield* batcher.stats).totalFailed, (yield* batcher.stats).totalRetries], [1, 2])
    }))

  it.effect("failures `while` rejects, a `while` that throws, and defects are not retried", () =>
    Effect.gen(function*() {
      for (
        const [process, whileFn] of [
          [flaky(10).process, (e: Transient) => e.status === 429],
          [flaky(10).process, (): boolean => {
            throw new Error("bad predicate")
          }],
          [(_: ReadonlyArray<number>) => Effect.die(new Error("boom")), undefined]
        ] as const
      ) {
        let runs = 0
        const batcher = yield* Batcher.make({
          process: (batch: ReadonlyArray<number>, info: BatchInfo) => {
            runs++
            return process(batch, info)
          },
          batchTimeout: 0,
          retry: { schedule: twice, while: whileFn }
        })
        const exit = yield* Effect.exit(batcher.submit(1))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(runs, 1)
      }
    }))

  it.effect("with processExits, the records that failed retryably run again as a batch of their own, ahead of newer records", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<number>> = []
      const failedOnce = new Set<number>()
      const batcher = yield* Batcher.make({
        processExits: (batch: ReadonlyArray<number>) =>
          Effect.sync(() => {
            seen.push([...batch])
            return batch.map((n) => {
              if (n % 2 === 1 && !failedOnce.has(n)) {
                failedOnce.add(n)
                return Exit.fail(new Transient({ status: 429 }))
              }
              return n === 2 ? Exit.fail(new Transient({ status: 400 })) : Exit.succeed(n * 10)
            })
          }),
        maxBatchSize: 4,
        batchTimeout: "10 millis",
        retry: { schedule: Schedule.spaced("50 millis"), while: (e) => e.status === 429 }
      })
      const first = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4], (n) => Effect.exit(batcher.submit(n)), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("10 millis")
      // Newer records arrive while the retry waits: they go after it.
      const newer = yield* Effect.forkChild(batcher.submitAll([6, 8, 10, 12]))
      yield* TestClock.adjust("5 millis")
      yield* TestClock.adjust("50 millis")
      yield* TestClock.adjust("50 millis")
      const exits = yield* Fiber.join(first)
      assert.deepStrictEqual(exits[0], Exit.succeed(10))
      assert.isTrue(Exit.isFailure(exits[1]))
      assert.deepStrictEqual([exits[2], exits[3]], [Exit.succeed(30), Exit.succeed(40)])
      assert.deepStrictEqual(yield* Fiber.join(newer), [60, 80, 100, 120])
      assert.deepStrictEqual(seen[0], [1, 2, 3, 4])
      assert.deepStrictEqual(seen.find((batch) => batch.includes(1) && batch !== seen[0]), [1, 3])
      assert.strictEqual((yield* batcher.stats).totalRetries, 1)
    }))

  it.effect("a record whose deadline passes during the wait fails with DeadlineExceededError, its last failure in the cause", () =>
    Effect.gen(function*() {
      const { process, runs } = flaky(10)
      const batcher = yield* Batcher.make({
        process,
        batchTimeout: 0,
        retry: { schedule: Schedule.spaced("1 second") }
      })
      const fiber = yield* Effect.forkChild(Effect.exit(batcher.submit(1, { timeout: "300 millis" })))
      yield* TestClock.adjust("300 millis")
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const errors = exit.cause.reasons.filter(Cause.isFailReason).map((r) => r.error)
        assert.instanceOf(errors[0], DeadlineExceededError)
        assert.deepStrictEqual(errors[1], new Transient({ status: 503 }))
      }
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(runs.length, 1, "it never runs again")
      const stats = yield* batcher.stats
      assert.deepStrictEqual([stats.totalExpired, stats.totalFailed, stats.queueSize], [1, 1, 0])
    }))

  it.effect("a retry waiting for a busy slot still expires at its deadline", () =>
    Effect.gen(function*() {
      let failedOnce = false
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.suspend(() => {
            if (batch.includes(1) && !failedOnce) {
              failedOnce = true
              return Effect.andThen(Effect.sleep("5 millis"), Effect.fail(new Transient({ status: 503 })))
            }
            return Effect.as(Effect.sleep("1 second"), batch)
          }),
        batchTimeout: 0,
        retry: { schedule: Schedule.spaced("10 millis") }
      })
      const first = yield* Effect.forkChild(Effect.flip(batcher.submit(1, { timeout: "100 millis" })))
      yield* TestClock.adjust("1 millis")
      // Submitted while 1 is in process: the aggregation step then forgets 1's deadline, as it does for records in process.
      const busy = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust("98 millis")
      assert.isUndefined(first.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const exit = first.pollUnsafe()
      // At its deadline, not once the slot is free (at 1 second).
      assert.isTrue(exit !== undefined && Exit.isSuccess(exit) && exit.value instanceof DeadlineExceededError)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(busy), 2)
    }))

  it.effect("a withdrawn record is dropped from the retry; shutdown waits for the retries", () =>
    Effect.gen(function*() {
      const { process, runs } = flaky(1)
      const batcher = yield* Batcher.make({
        process,
        batchTimeout: "10 millis",
        retry: { schedule: Schedule.spaced("1 second") }
      })
      const gone = yield* Effect.forkChild(batcher.submit(1))
      const kept = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(gone)
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(shutdown)
      assert.strictEqual(yield* Fiber.join(kept), 4)
      assert.deepStrictEqual(runs.map((r) => r.batch), [[1, 2], [2]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, stats.totalCompleted + stats.totalWithdrawn + stats.queueSize)
      assert.deepStrictEqual([stats.totalWithdrawn, stats.totalCompleted], [1, 1])
    }))

  it.effect("a schedule that cannot step synchronously retries nothing and says so once; a done one says nothing", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const logger = Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message))
      })
      const run = (schedule: Schedule.Schedule<unknown, Transient>) =>
        Effect.gen(function*() {
          const { process, runs } = flaky(10)
          const batcher = yield* Batcher.make({ name: "async", process, batchTimeout: 0, retry: { schedule } })
          const fiber = yield* Effect.forkChild(
            Effect.forEach([1, 2], (n) => Effect.flip(batcher.submit(n)), { concurrency: "unbounded" })
          )
          yield* TestClock.adjust("1 second")
          const errors = yield* Fiber.join(fiber)
          return { errors, runs: runs.length, retries: (yield* batcher.stats).totalRetries }
        }).pipe(Effect.provideService(Logger.CurrentLoggers, new Set([logger])))

      // Its step awaits a Promise, which the batcher's synchronous step cannot wait for.
      const awaiting = Schedule.spaced("10 millis").pipe(
        Schedule.modifyDelay(({ duration }) => Effect.promise(() => Promise.resolve(duration)))
      )
      const stuck = yield* run(awaiting)
      assert.deepStrictEqual(stuck.errors, [new Transient({ status: 503 }), new Transient({ status: 503 })])
      assert.deepStrictEqual([stuck.runs, stuck.retries], [2, 0], "each batch ran once and was not retried")
      assert.lengthOf(warnings, 1, "once per batcher, though both batches could not step")
      assert.match(warnings[0], /^Batcher "async": the retry schedule could not step synchronously/)

      const done = yield* run(Schedule.recurs(0))
      assert.deepStrictEqual([done.runs, done.retries], [2, 0])
      assert.lengthOf(warnings, 1, "a schedule that is done is no news")
    }))
})

describe("failure options", () => {
  it.effect("invalid ones fail make with BatcherConfigError naming the option", () =>
    Effect.gen(function*() {
      const process = (batch: ReadonlyArray<number>) => Effect.succeed(batch)
      for (
        const [options, option] of [
          [{ retry: { schedule: 5 } }, "retry"],
          [{ retry: { schedule: Schedule.recurs(1), while: 5 } }, "retry.while"],
          [{ onBatchFailure: "split" }, "onBatchFailure"],
          [{ onDeadLetter: "log" }, "onDeadLetter"]
        ] as const
      ) {
        const error = yield* Effect.flip(Batcher.make({ process, ...(options as object) }))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual(error.option, option)
      }
    }))
})

describe("retry (Promise API)", () => {
  it("retries up to `retries` times, `while` choosing which errors", async () => {
    let calls = 0
    const batcher = new DynamicBatcher({
      processFn: async (batch: Array<number>) => {
        calls++
        if (calls < 3) throw Object.assign(new Error("busy"), { status: 503 })
        return batch.map((n) => n + 1)
      },
      batchTimeout: 0,
      retry: { retries: 2, delay: 1, factor: 2, while: (error) => (error as { status?: number }).status === 503 }
    })
    await batcher.start()
    assert.strictEqual(await batcher.submit(1), 2)
    await batcher.stop()
    assert.strictEqual(calls, 3)
    assert.strictEqual(batcher.stats.totalRetries, 2)
  })

  it("rejects an invalid retry with BatcherConfigError naming the field", () => {
    assert.throws(
      () => new DynamicBatcher({ processFn: async (b: Array<number>) => b, retry: { retries: -1, delay: 1 } }),
      /retry\.retries/
    )
  })

  it("gives up after `retries` (0: never runs a batch again)", async () => {
    for (const retries of [0, 1, 3]) {
      let calls = 0
      const batcher = new DynamicBatcher({
        processFn: async (): Promise<Array<number>> => {
          calls++
          throw new Error("down")
        },
        batchTimeout: 0,
        retry: { retries, delay: 1 }
      })
      await batcher.start()
      const error = await batcher.submit(1).catch((e: unknown) => e)
      await batcher.stop()
      assert.strictEqual((error as Error).message, "down")
      assert.strictEqual(calls, 1 + retries)
    }
  })
})
