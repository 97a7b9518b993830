import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher, InvalidCostError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { recorder } from "./utils.ts"

class Doc {
  readonly text: string
  estimateCost(): number {
    return this.text.length
  }
  constructor(text: string) {
    this.text = text
  }
}

const textOf = (doc: Doc) => doc.text

describe("cost", () => {
  it.effect("explicit cost > costEstimator > record.estimateCost() > defaultCost", () =>
    Effect.gen(function*() {
      let estimatorCalls = 0
      const { process } = recorder(textOf)
      const withEstimator = yield* Batcher.make({
        process,
        costEstimator: (doc: Doc) => {
          estimatorCalls++
          return doc.text.length * 100
        }
      })
      const withoutEstimator = yield* Batcher.make({ process, defaultCost: 7 })
      const plain = yield* Batcher.make({ process: recorder((s: string) => s).process, defaultCost: 7 })
      const fibers = yield* Effect.forkChild(Effect.all([
        withEstimator.submit(new Doc("abc"), { cost: 5 }),
        withEstimator.submit(new Doc("abc")),
        withoutEstimator.submit(new Doc("abcd")),
        plain.submit("abcd")
      ], { concurrency: "unbounded" }))
      yield* TestClock.adjust("50 millis")
      yield* Fiber.join(fibers)
      assert.strictEqual(estimatorCalls, 1, "the estimator is not called when a cost is given")
      assert.strictEqual((yield* withEstimator.stats).totalBatchCost, 5 + 300)
      assert.strictEqual((yield* withoutEstimator.stats).totalBatchCost, 4)
      assert.strictEqual((yield* plain.stats).totalBatchCost, 7)
    }))

  const invalid: ReadonlyArray<[string, unknown]> = [
    ["a negative number", -1],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a string", "12"],
    ["undefined from an estimator", undefined]
  ]
  for (const [label, cost] of invalid) {
    it.effect(`an estimator returning ${label} fails that submit with InvalidCostError; the batcher goes on`, () =>
      Effect.gen(function*() {
        const { batches, process } = recorder((n: number) => n)
        const batcher = yield* Batcher.make({
          process,
          costEstimator: (n: number) => (n === 1 ? cost : 1) as number,
          batchTimeout: 0
        })
        const error = yield* Effect.flip(batcher.submit(1))
        assert.instanceOf(error, InvalidCostError)
        assert.include(error.message, "costEstimator must be a finite number >= 0")
        assert.strictEqual(yield* batcher.submit(2), 2)
        assert.deepStrictEqual(batches, [[2]])
        assert.strictEqual((yield* batcher.stats).totalSubmitted, 1)
      }))
  }

  it.effect("an explicit invalid cost fails with InvalidCostError naming the value", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: recorder((n: number) => n).process })
      const error = yield* Effect.flip(batcher.submit(1, { cost: -3 }))
      assert.instanceOf(error, InvalidCostError)
      assert.strictEqual(error.message, "cost must be a finite number >= 0, got -3")
    }))

  it.effect("an estimator that throws fails that submit with InvalidCostError", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: recorder((n: number) => n).process,
        costEstimator: () => {
          throw new Error("tokenizer offline")
        }
      })
      const error = yield* Effect.flip(batcher.submit(1))
      assert.instanceOf(error, InvalidCostError)
      assert.include(error.message, "costEstimator threw: tokenizer offline")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
    }))

  it.effect("a record whose estimateCost() throws fails with InvalidCostError", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: recorder((d: { estimateCost(): number }) => d).process })
      const error = yield* Effect.flip(batcher.submit({
        estimateCost: () => {
          throw new Error("no")
        }
      }))
      assert.include(error.message, "record.estimateCost() threw: no")
    }))

  it.effect("submitAll and offerAll check every cost before enqueuing anything", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: recorder((n: number) => n).process })
      const bad = yield* Effect.flip(batcher.submitAll([1, 2, 3], { costs: [1, -1, 1] }))
      assert.instanceOf(bad, InvalidCostError)
      const short = yield* Effect.flip(batcher.offerAll([1, 2, 3], { costs: [1, 1] }))
      assert.instanceOf(short, InvalidCostError)
      assert.include(short.message, "got 2 costs for 3 records")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 0, "nothing was enqueued")
    }))
})
