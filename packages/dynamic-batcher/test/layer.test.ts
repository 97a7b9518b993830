import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"

class Tokenizer extends Context.Service<Tokenizer, Batcher.Batcher<string, number>>()("Tokenizer") {}

describe("layer", () => {
  it.effect("provides a batcher under its key; Batcher.submit reaches it; releasing the layer drains it", () =>
    Effect.gen(function*() {
      const seen: Array<ReadonlyArray<string>> = []
      const TokenizerLive = Batcher.layer(Tokenizer, {
        process: (texts: ReadonlyArray<string>) =>
          Effect.sync(() => {
            seen.push(texts)
            return texts.map((text) => text.split(" ").length)
          }),
        batchTimeout: "1 hour"
      })
      const program = Effect.gen(function*() {
        const counts = yield* Effect.forEach(
          ["one", "two words", "three more words"],
          (text) => Batcher.submit(Tokenizer, text),
          { concurrency: "unbounded" }
        ).pipe(Effect.forkChild)
        yield* TestClock.adjust("1 second")
        return counts
      })
      const counts = yield* program.pipe(Effect.provide(TokenizerLive))
      assert.deepStrictEqual(yield* Fiber.join(counts), [1, 2, 3], "the layer's release flushed the open batch")
      assert.deepStrictEqual(seen, [["one", "two words", "three more words"]])
    }))
})
