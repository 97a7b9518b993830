import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer } from "effect"
import { Batcher, BatcherConfigError } from "effect-dynamic-batcher"
import type { Batcher as B } from "effect-dynamic-batcher"

const durationExpected = `a finite, non-negative Duration.Input (e.g. "50 millis", 50, "2 seconds")`

const process = (batch: ReadonlyArray<number>) => Effect.succeed(batch)

const invalid: ReadonlyArray<[string, Partial<B.CommonOptions<number>>, string]> = [
  ["maxBatchSize", { maxBatchSize: 0 }, "an integer >= 1"],
  ["maxBatchSize", { maxBatchSize: 2.5 }, "an integer >= 1"],
  ["minBatchSize", { minBatchSize: -1 }, "an integer >= 1"],
  ["minBatchSize", { minBatchSize: 10, maxBatchSize: 5 }, "an integer <= maxBatchSize (5)"],
  ["maxQueueSize", { maxQueueSize: 0 }, "an integer >= 1"],
  ["prefetchBatches", { prefetchBatches: 0 }, "an integer >= 1"],
  ["targetBatchCost", { targetBatchCost: 0 }, "a finite number > 0"],
  ["targetBatchCost", { targetBatchCost: Number.NaN }, "a finite number > 0"],
  ["defaultCost", { defaultCost: -1 }, "a finite number >= 0"],
  ["batchTimeout", { batchTimeout: -5 }, durationExpected],
  ["batchTimeout", { batchTimeout: Number.NaN }, durationExpected],
  ["batchTimeout", { batchTimeout: "Infinity" }, durationExpected],
  ["batchTimeout", { batchTimeout: "soon" as any }, durationExpected],
  ["shutdownTimeout", { shutdownTimeout: -1 }, durationExpected],
  ["dispatch", { dispatch: "eager" as any }, `"full" or "idle"`],
  ["costEstimator", { costEstimator: 5 as any }, "a function (record) => number"]
]

describe("options", () => {
  for (const [option, options, expected] of invalid) {
    it.effect(`rejects ${option} = ${String(Object.values(options)[0])} with BatcherConfigError`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Batcher.make({ process, ...options }))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual(error.option, option)
        assert.strictEqual(error.expected, expected)
        assert.include(error.message, `Invalid batcher option ${option}: expected ${expected}, got `)
      }))
  }

  it.effect("rejects a missing process", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Batcher.make({} as B.Options<number, number>))
      assert.strictEqual(error.option, "process")
    }))

  it.effect("accepts the defaults and the edge values", () =>
    Effect.gen(function*() {
      yield* Batcher.make({ process })
      yield* Batcher.make({ process, batchTimeout: 0, defaultCost: 0, minBatchSize: 3, maxBatchSize: 3 })
      yield* Batcher.make({ process, batchTimeout: "2 seconds", shutdownTimeout: { seconds: 5 } })
    }))

  it.effect("layer fails with the same BatcherConfigError", () =>
    Effect.gen(function*() {
      class Numbers extends Context.Service<Numbers, B.Batcher<number, number>>()("Numbers") {}
      const exit = yield* Effect.exit(Layer.build(Batcher.layer(Numbers, { process, maxBatchSize: -1 })))
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(
        exit,
        Exit.fail(new BatcherConfigError({ option: "maxBatchSize", expected: "an integer >= 1", actual: -1 }))
      )
    }))
})
