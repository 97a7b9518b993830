import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Context, Data, Effect, Exit, Fiber, Layer, Schedule } from "effect"
import { Batcher, BatcherConfigError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { recorder } from "./utils.ts"

class Lengths extends Context.Service<Lengths, Batcher.Batcher<string, number>>()("Lengths") {}

class Rejected extends Data.TaggedError("Rejected")<{ readonly text: string }> {}

class Checked extends Context.Service<Checked, Batcher.Batcher<string, number, Rejected>>()("Checked") {}

const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))

describe("layerConfig", () => {
  it.effect("reads the knobs from BATCHER_* variables", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((text: string) => text.length)
      const live = Batcher.layerConfig(Lengths, { process }).pipe(
        Layer.provide(withEnv({ BATCHER_MAX_BATCH_SIZE: "2", BATCHER_BATCH_TIMEOUT: "5 millis", BATCHER_NAME: "env" }))
      )
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.forEach(["a", "bb", "ccc"], (text) => Batcher.submit(Lengths, text), {
          concurrency: "unbounded"
        }).pipe(Effect.forkChild)
        yield* TestClock.adjust("5 millis")
        return yield* Fiber.join(fiber)
      })
      assert.deepStrictEqual(yield* program.pipe(Effect.provide(live)), [1, 2, 3])
      assert.deepStrictEqual(batches, [["a", "bb"], ["ccc"]], "maxBatchSize 2, then the 5 ms timeout")
    }))

  it.effect("reads a plain number of milliseconds as a duration", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((text: string) => text.length)
      const live = Batcher.layerConfig(Lengths, { process }).pipe(
        Layer.provide(withEnv({ BATCHER_BATCH_TIMEOUT: "7" }))
      )
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Batcher.submit(Lengths, "x"))
        yield* TestClock.adjust("6 millis")
        assert.deepStrictEqual(batches, [])
        yield* TestClock.adjust("1 millis")
        return yield* Fiber.join(fiber)
      })
      assert.strictEqual(yield* program.pipe(Effect.provide(live)), 1)
    }))

  it.effect("names the variable and what was expected when a value is invalid", () =>
    Effect.gen(function*() {
      const live = Batcher.layerConfig(Lengths, { process: recorder((t: string) => t.length).process }).pipe(
        Layer.provide(withEnv({ BATCHER_MAX_BATCH_SIZE: "lots" }))
      )
      const exit = yield* Effect.exit(Layer.build(live))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Layer.build(live))
      assert.instanceOf(error, BatcherConfigError)
      assert.strictEqual(
        error.message,
        `Invalid batcher option maxBatchSize (from BATCHER_MAX_BATCH_SIZE): expected an integer >= 1, got "lots"`
      )
    }))

  it.effect("reads under another prefix with Batcher.config(prefix)", () =>
    Effect.gen(function*() {
      const live = Batcher.layerConfig(Lengths, {
        process: recorder((t: string) => t.length).process,
        config: Batcher.config("EMBEDDER")
      }).pipe(Layer.provide(withEnv({ EMBEDDER_DISPATCH: "eager" })))
      const error = yield* Effect.flip(Layer.build(live))
      assert.strictEqual((error as BatcherConfigError).variable, "EMBEDDER_DISPATCH")
    }))

  it.effect("accepts any Config of the knobs", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((text: string) => text.length)
      const live = Batcher.layerConfig(Lengths, {
        process,
        config: Config.succeed({ maxBatchSize: 1, batchTimeout: 0 })
      })
      const results = yield* Effect.forEach(["a", "bb"], (text) => Batcher.submit(Lengths, text), {
        concurrency: "unbounded"
      }).pipe(Effect.provide(live))
      assert.deepStrictEqual(results, [1, 2])
      assert.deepStrictEqual(batches, [["a"], ["bb"]])
    }))

  it.effect("takes processExits: each record gets its own outcome", () =>
    Effect.gen(function*() {
      const batches: Array<ReadonlyArray<string>> = []
      const live = Batcher.layerConfig(Checked, {
        processExits: (texts: ReadonlyArray<string>) =>
          Effect.sync(() => {
            batches.push([...texts])
            return texts.map((text) => text === "" ? Exit.fail(new Rejected({ text })) : Exit.succeed(text.length))
          })
      }).pipe(Layer.provide(withEnv({ BATCHER_MAX_BATCH_SIZE: "3" })))
      const exits = yield* Effect.forEach(["a", "", "ccc"], (text) => Effect.exit(Batcher.submit(Checked, text)), {
        concurrency: "unbounded"
      }).pipe(Effect.provide(live))
      assert.deepStrictEqual(batches, [["a", "", "ccc"]], "one batch, full at BATCHER_MAX_BATCH_SIZE")
      assert.deepStrictEqual(exits, [Exit.succeed(1), Exit.fail(new Rejected({ text: "" })), Exit.succeed(3)])
    }))

  it.effect("takes retry: a failed batch runs again after the schedule's delay", () =>
    Effect.gen(function*() {
      let runs = 0
      const live = Batcher.layerConfig(Checked, {
        process: (texts: ReadonlyArray<string>) =>
          Effect.suspend(() =>
            ++runs === 1 ? Effect.fail(new Rejected({ text: texts[0] })) : Effect.succeed(texts.map((t) => t.length))
          ),
        retry: { schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 1 })) }
      }).pipe(Layer.provide(withEnv({ BATCHER_BATCH_TIMEOUT: "0" })))
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Batcher.submit(Checked, "hello"))
        yield* TestClock.adjust("99 millis")
        assert.strictEqual(runs, 1, "the retry waits for its delay")
        yield* TestClock.adjust("1 millis")
        return yield* Fiber.join(fiber)
      })
      assert.strictEqual(yield* program.pipe(Effect.provide(live)), 5)
      assert.strictEqual(runs, 2)
    }))

  it.effect("fails with BatcherConfigError unless exactly one of process and processExits is given", () =>
    Effect.gen(function*() {
      const process = (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => t.length))
      const processExits = (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => Exit.succeed(t.length)))
      // @ts-expect-error: process and processExits exclude each other
      const both = Batcher.layerConfig(Lengths, { process, processExits })
      const neither = Batcher.layerConfig(Lengths, {} as Batcher.LayerConfigOptions<string, number>)
      for (const live of [both, neither]) {
        const error = yield* Effect.flip(Layer.build(live.pipe(Layer.provide(withEnv({})))))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual((error as BatcherConfigError).option, "process")
        assert.isUndefined((error as BatcherConfigError).variable, "not read from a variable")
      }
    }))
})
