/**
 * A shutdown that has waited 10 s for records still in `process` says so,
 * once, through Effect's logger: how many records, and what
 * `shutdownTimeout` does about them. The Promise API's `stop()` closes the
 * same scope, so it logs the same warning (through the default logger).
 */
import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Exit, Fiber, Logger, Scope } from "effect"
import { Batcher, BatcherShutdownError } from "effect-dynamic-batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"
import { vi } from "vitest"
import { gated, settle } from "./utils.ts"

/** A logger that keeps every line as "LEVEL message". */
const makeLogCollector = () => {
  const lines: Array<string> = []
  const logger = Logger.make((options) => {
    const message = Array.isArray(options.message) ? options.message.join(" ") : String(options.message)
    lines.push(`${options.logLevel.toUpperCase()} ${message}`)
  })
  return { lines, loggers: new Set([logger]) }
}

describe("a slow shutdown", () => {
  it.effect("logs a warning after 10 s naming the records in process and pointing to shutdownTimeout", () =>
    Effect.gen(function*() {
      const log = makeLogCollector()
      const gate = gated((n: number) => n)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ name: "slow", process: gate.process, maxBatchSize: 2 }).pipe(
        Scope.provide(scope)
      )
      const results = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* settle // 1 and 2 in process, 3 in the open batch
      const closing = yield* Effect.forkChild(
        Scope.close(scope, Exit.void).pipe(Effect.provideService(Logger.CurrentLoggers, log.loggers))
      )
      yield* settle
      yield* TestClock.adjust("9999 millis")
      assert.deepStrictEqual(log.lines, [], "nothing before 10 s")
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(log.lines, [
        "WARN Batcher \"slow\": shutdown has waited 10 s for 2 records still in process, 1 record waiting behind " +
        "them; shutdownTimeout is not set, so it waits as long as process runs: set it to bound the wait"
      ])
      yield* gate.release
      yield* Fiber.join(closing)
      assert.deepStrictEqual(yield* Fiber.join(results), [1, 2, 3], "the shutdown still waited for every result")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(log.lines.length, 1, "once")
    }))

  it.effect("says what shutdownTimeout will do when it is longer than 10 s, and nothing when it is shorter", () =>
    Effect.gen(function*() {
      const run = (shutdownTimeout: Duration.Input) =>
        Effect.gen(function*() {
          const log = makeLogCollector()
          const scope = yield* Scope.make()
          const batcher = yield* Batcher.make({
            process: (_: ReadonlyArray<number>) => Effect.never,
            maxBatchSize: 1,
            shutdownTimeout
          }).pipe(Scope.provide(scope))
          const result = yield* Effect.forkChild(Effect.flip(batcher.submit(1)))
          yield* settle
          const closing = yield* Effect.forkChild(
            Scope.close(scope, Exit.void).pipe(Effect.provideService(Logger.CurrentLoggers, log.loggers))
          )
          yield* settle
          yield* TestClock.adjust("1 minute")
          yield* Fiber.join(closing)
          assert.instanceOf(yield* Fiber.join(result), BatcherShutdownError)
          return log.lines
        })
      assert.deepStrictEqual(yield* run("30 seconds"), [
        "WARN Batcher \"default\": shutdown has waited 10 s for 1 record still in process; shutdownTimeout fails " +
        "them after 30000 ms"
      ])
      assert.deepStrictEqual(yield* run("5 seconds"), [])
    }))

  it("the Promise API's stop() logs it too, through Effect's default logger", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })
    const output = vi.spyOn(console, "log").mockImplementation(() => {})
    try {
      const batcher = new DynamicBatcher({
        processFn: (_: Array<number>) => new Promise<Array<number>>(() => {}),
        maxBatchSize: 1,
        shutdownTimeout: 60_000
      })
      await batcher.start()
      const result = batcher.submit(1).catch((error) => error)
      await Effect.runPromise(settle)
      const stopped = batcher.stop()
      await vi.advanceTimersByTimeAsync(10_000)
      const warnings = output.mock.calls.map((args) => args.join(" ")).filter((line) => line.includes("WARN"))
      assert.strictEqual(warnings.length, 1)
      assert.include(
        warnings[0],
        "shutdown has waited 10 s for 1 record still in process; shutdownTimeout fails them after 60000 ms"
      )
      await vi.advanceTimersByTimeAsync(50_000)
      await stopped
      assert.instanceOf(await result, BatcherShutdownError)
    } finally {
      output.mockRestore()
      vi.useRealTimers()
    }
  })
})
