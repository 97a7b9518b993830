import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TokenBatcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { recorder } from "./utils.ts"

describe("TokenBatcher", () => {
  it("Prompt estimates floor(length / 4) + 1 tokens", () => {
    assert.strictEqual(new TokenBatcher.Prompt("").estimateTokens(), 1)
    assert.strictEqual(new TokenBatcher.Prompt("abc").estimateTokens(), 1)
    assert.strictEqual(new TokenBatcher.Prompt("abcd").estimateTokens(), 2)
    assert.strictEqual(new TokenBatcher.Prompt("x".repeat(403)).estimateTokens(), 101)
  })

  it.effect("fills batches up to targetBatchTokens, counting each Prompt's tokens", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((p: TokenBatcher.Prompt) => p.text.length)
      const llm = yield* TokenBatcher.make({ process, targetBatchTokens: 10 })
      const prompts = ["x".repeat(20), "x".repeat(12), "x".repeat(16), "x".repeat(40)].map((t) =>
        new TokenBatcher.Prompt(t)
      ) // 6, 4, 5 and 11 tokens
      const fiber = yield* Effect.forkChild(llm.submitAll(prompts))
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [20, 12, 16, 40])
      assert.deepStrictEqual(batches.map((batch) => batch.map((p) => p.estimateTokens())), [[6, 4], [5], [11]])
      assert.strictEqual((yield* llm.stats).totalBatchCost, 26)
    }))

  it.effect("prefers estimateTokens() over estimateCost(), and honours tokenEstimator and defaultTokenEstimate", () =>
    Effect.gen(function*() {
      const both = { estimateTokens: () => 3, estimateCost: () => 100 }
      const costOnly = { estimateCost: () => 5 }
      const plain = {}
      const { process } = recorder((_: object) => 0)
      const counted = yield* TokenBatcher.make({ process, defaultTokenEstimate: 7, batchTimeout: 0 })
      yield* counted.submitAll([both, costOnly, plain])
      assert.strictEqual((yield* counted.stats).totalBatchCost, 3 + 5 + 7)
      const estimated = yield* TokenBatcher.make({ process, tokenEstimator: () => 2, batchTimeout: 0 })
      yield* estimated.submitAll([both, costOnly, plain])
      assert.strictEqual((yield* estimated.stats).totalBatchCost, 6)
    }))
})
