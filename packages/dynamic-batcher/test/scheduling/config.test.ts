/**
 * The new options through `make` and through Effect `Config`:
 * `maxConcurrentBatches`, `maxQueueDelay`, `priorityAging` (validated like
 * the others) and `groupBy`, and the variables
 * `BATCHER_MAX_CONCURRENT_BATCHES`, `BATCHER_MAX_QUEUE_DELAY`,
 * `BATCHER_PRIORITY_AGING`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { Batcher, BatcherConfigError } from "effect-dynamic-batcher"
import type { Batcher as B } from "effect-dynamic-batcher"

const process = (batch: ReadonlyArray<number>) => Effect.succeed(batch)

const invalid: ReadonlyArray<[string, Record<string, unknown>]> = [
  ["maxConcurrentBatches", { maxConcurrentBatches: 0 }],
  ["maxConcurrentBatches", { maxConcurrentBatches: -1 }],
  ["maxConcurrentBatches", { maxConcurrentBatches: 1.5 }],
  ["maxConcurrentBatches", { maxConcurrentBatches: Number.NaN }],
  ["maxConcurrentBatches", { maxConcurrentBatches: "2" }],
  ["maxQueueDelay", { maxQueueDelay: -1 }],
  ["maxQueueDelay", { maxQueueDelay: Number.NaN }],
  ["maxQueueDelay", { maxQueueDelay: "soon" }],
  ["priorityAging", { priorityAging: -1 }],
  ["priorityAging", { priorityAging: "soon" }],
  ["groupBy", { groupBy: "tenant" }]
]

class Numbers extends Context.Service<Numbers, B.Batcher<number, number>>()("Numbers") {}

const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromEnv({ env }))

/** The tuning of a batcher built by `layerConfig` from `env`. */
const tuningFrom = (env: Record<string, string>, config?: ReturnType<typeof Batcher.config>) =>
  Effect.gen(function*() {
    const batcher = yield* Numbers
    return yield* batcher.tuning
  }).pipe(Effect.provide(Batcher.layerConfig(Numbers, { process, config }).pipe(Layer.provide(withEnv(env)))))

describe("scheduling options", () => {
  for (const [option, options] of invalid) {
    it.effect(`make rejects ${option} = ${String(Object.values(options)[0])} with BatcherConfigError`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Batcher.make({ process, ...(options as Partial<B.CommonOptions<number>>) }))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual((error as BatcherConfigError).option, option)
        assert.include((error as BatcherConfigError).message, `Invalid batcher option ${option}: expected `)
      }))
  }

  it.effect("maxConcurrentBatches must be an integer >= 1", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Batcher.make({ process, maxConcurrentBatches: 0 }))
      assert.strictEqual(error.expected, "an integer >= 1")
    }))

  it.effect("accepts the edge values", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process,
        maxConcurrentBatches: 1,
        maxQueueDelay: 1,
        priorityAging: "1 millis",
        groupBy: (n: number) => n % 2
      })
      const tuning = yield* batcher.tuning
      assert.strictEqual(tuning.maxQueueDelay, 1)
      assert.strictEqual(tuning.priorityAging, 1)
      yield* Batcher.make({ process, maxConcurrentBatches: 64, maxQueueDelay: "2 seconds", priorityAging: "1 hour" })
    }))

  it.effect("layerConfig reads BATCHER_MAX_CONCURRENT_BATCHES, BATCHER_MAX_QUEUE_DELAY, BATCHER_PRIORITY_AGING", () =>
    Effect.gen(function*() {
      const tuning = yield* tuningFrom({
        BATCHER_MAX_CONCURRENT_BATCHES: "4",
        BATCHER_MAX_QUEUE_DELAY: "250 millis",
        BATCHER_PRIORITY_AGING: "2 seconds"
      })
      assert.strictEqual(tuning.maxConcurrentBatches, 4)
      assert.strictEqual(tuning.maxQueueDelay, 250)
      assert.strictEqual(tuning.priorityAging, 2000)
    }))

  it.effect("a plain number in BATCHER_MAX_QUEUE_DELAY and BATCHER_PRIORITY_AGING is milliseconds", () =>
    Effect.gen(function*() {
      const tuning = yield* tuningFrom({ BATCHER_MAX_QUEUE_DELAY: "75", BATCHER_PRIORITY_AGING: "120" })
      assert.strictEqual(tuning.maxQueueDelay, 75)
      assert.strictEqual(tuning.priorityAging, 120)
      assert.strictEqual(tuning.maxConcurrentBatches, 1, "unset: the default")
    }))

  it.effect("unset variables leave maxQueueDelay and priorityAging off", () =>
    Effect.gen(function*() {
      const tuning = yield* tuningFrom({})
      assert.isUndefined(tuning.maxQueueDelay)
      assert.isUndefined(tuning.priorityAging)
    }))

  const badVariables: ReadonlyArray<[string, string, string]> = [
    ["BATCHER_MAX_CONCURRENT_BATCHES", "lots", "maxConcurrentBatches"],
    ["BATCHER_MAX_CONCURRENT_BATCHES", "0", "maxConcurrentBatches"],
    ["BATCHER_MAX_QUEUE_DELAY", "-5", "maxQueueDelay"],
    ["BATCHER_MAX_QUEUE_DELAY", "whenever", "maxQueueDelay"],
    ["BATCHER_PRIORITY_AGING", "soon", "priorityAging"]
  ]
  for (const [variable, value, option] of badVariables) {
    it.effect(`names ${variable} when its value ${JSON.stringify(value)} is invalid`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(tuningFrom({ [variable]: value }))
        assert.instanceOf(error, BatcherConfigError)
        assert.strictEqual((error as BatcherConfigError).option, option)
        assert.strictEqual((error as BatcherConfigError).variable, variable)
        assert.include((error as BatcherConfigError).message, `Invalid batcher option ${option} (from ${variable})`)
      }))
  }

  it.effect("Batcher.config(prefix) reads the new variables under another prefix", () =>
    Effect.gen(function*() {
      const tuning = yield* tuningFrom(
        { EMBEDDER_MAX_CONCURRENT_BATCHES: "3", BATCHER_MAX_CONCURRENT_BATCHES: "9" },
        Batcher.config("EMBEDDER")
      )
      assert.strictEqual(tuning.maxConcurrentBatches, 3)
    }))
})
