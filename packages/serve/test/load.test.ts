import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmbeddingModel, Tokenizer } from "effect-dynamic-batcher-demo/model"
import { ResponseCheck } from "../src/load/check.ts"
import { runLoad } from "../src/load/run.ts"

describe("load", () => {
  it("a response counts as correct only with status 200 and its own text's embedding", () => {
    const check = new ResponseCheck([Float32Array.of(0.6, 0.8), Float32Array.of(1, 0)])
    check.record(0, 200, JSON.stringify({ embedding: [0.6, 0.8] }))
    check.record(1, 200, JSON.stringify({ embedding: [0.6, 0.8] }))
    check.record(1, 503, JSON.stringify({ error: "draining" }))
    check.record(1, 200, "{")
    check.record(1, 200, JSON.stringify({ embeddings: [[1, 0]] }))
    assert.strictEqual(check.correct, 1)
    assert.strictEqual(check.wrong, 4)
    assert.include(check.firstProblem, "text #1: the embedding differs")
  })

  it.live("a short run against a real service: every response checked and correct, a clean stop", () =>
    Effect.gen(function*() {
      const texts = ["a first text", "a second, longer text with more words in it", "third"]
      const model = yield* EmbeddingModel.generate()
      const reference = yield* Effect.forEach(
        texts,
        (text) => Effect.map(model.embed([Tokenizer.tokenize(text)]), ([embedding]) => embedding)
      )
      const result = yield* runLoad({ label: "test", args: [] }, {
        connections: 4,
        durationSeconds: 1,
        texts,
        reference
      })
      assert.isAbove(result.correct, 0)
      assert.strictEqual(result.wrong, 0, result.firstProblem)
      assert.strictEqual(result.errors, 0)
      assert.strictEqual(result.exitCode, 0)
      assert.isAtLeast(result.avgBatchSize, 1)
    }))
})
