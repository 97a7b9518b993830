import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Latch } from "effect"
import { EmbeddingModel, Tokenizer } from "effect-dynamic-batcher-demo/model"
import { generatedModel, postEmbed, send, startService, waitForHealth } from "./helpers.ts"

/** Asserts that `embedding` (as JSON numbers) equals the model's own embedding of `text`, run alone. */
const assertEmbeds = (model: EmbeddingModel.EmbeddingModel, text: string, embedding: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const [expected] = yield* model.embed([Tokenizer.tokenize(text)])
    assert.isAtMost(
      EmbeddingModel.maxAbsDifference(Float32Array.from(embedding), expected),
      EmbeddingModel.EMBEDDING_TOLERANCE
    )
  })

describe("serve", () => {
  it.live("POST /embed answers one text and many, each with its own embedding; /healthz and /metrics", () =>
    Effect.gen(function*() {
      const model = yield* generatedModel
      const service = yield* startService()
      const one = yield* postEmbed(service.url, { text: "hello world" })
      assert.strictEqual(one.status, 200)
      assert.strictEqual(one.body.embedding.length, model.dimension)
      yield* assertEmbeds(model, "hello world", one.body.embedding)

      const texts = Array.from({ length: 40 }, (_, i) => `text number ${i} ${"word ".repeat(i)}`)
      const many = yield* postEmbed(service.url, { texts })
      assert.strictEqual(many.status, 200)
      assert.strictEqual(many.body.embeddings.length, texts.length)
      for (const [i, text] of texts.entries()) yield* assertEmbeds(model, text, many.body.embeddings[i])
      const none = yield* postEmbed(service.url, { texts: [] })
      assert.deepStrictEqual([none.status, none.body], [200, { embeddings: [] }])

      // Concurrent requests share batches and still get their own embeddings.
      const concurrent = yield* Effect.forEach(texts, (text) => postEmbed(service.url, { text }), {
        concurrency: "unbounded"
      })
      for (const [i, reply] of concurrent.entries()) yield* assertEmbeds(model, texts[i], reply.body.embedding)

      const health = yield* send(`${service.url}/healthz`)
      assert.deepStrictEqual([health.status, health.body], [200, { status: "ok", requestsInFlight: 0 }])
      const metrics = yield* send(`${service.url}/metrics`)
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.headers.get("content-type"), "text/plain")
      assert.match(metrics.body, /^batcher_records_completed\{batcher="embed"\} \d+$/m)
      assert.match(metrics.body, /^embed_requests\{status="200"\} \d+$/m)
      const unknown = yield* send(`${service.url}/nope`)
      assert.strictEqual(unknown.status, 404)
    }))

  it.live("bad JSON and missing or wrong fields are 400 with a message saying what is wrong", () =>
    Effect.gen(function*() {
      const service = yield* startService()
      const cases: ReadonlyArray<readonly [body: unknown, message: string]> = [
        ["{not json", "not valid JSON"],
        ["", "not valid JSON"],
        [[1, 2], "got an array"],
        ["null", "got null"],
        [{}, "both are missing"],
        [{ txt: "typo" }, "both are missing"],
        [{ text: 42 }, `"text" must be a string, got number`],
        [{ texts: "one" }, `"texts" must be an array of strings, got string`],
        [{ texts: ["a", null] }, `"texts"[1] must be a string, got null`],
        [{ text: "a", texts: ["b"] }, "not both"]
      ]
      for (const [body, message] of cases) {
        const reply = yield* postEmbed(service.url, body)
        assert.strictEqual(reply.status, 400, JSON.stringify(body))
        assert.include(reply.body.error, message)
      }
      const after = yield* postEmbed(service.url, { text: "still serving" })
      assert.strictEqual(after.status, 200)
    }))

  it.live("a body over --max-body-bytes is 413, declared or streamed, and the service goes on", () =>
    Effect.gen(function*() {
      const service = yield* startService({ maxBodyBytes: 1000 })
      const big = JSON.stringify({ text: "word ".repeat(500) })
      const declared = yield* postEmbed(service.url, big)
      assert.strictEqual(declared.status, 413)
      assert.include(declared.body.error, "larger than 1000 bytes")
      // Without a Content-Length the limit is found while reading.
      const streamed = yield* send(`${service.url}/embed`, {
        method: "POST",
        body: new Blob([big]).stream(),
        duplex: "half"
      } as RequestInit)
      assert.strictEqual(streamed.status, 413)
      const small = yield* postEmbed(service.url, { text: "small" })
      assert.strictEqual(small.status, 200)
    }))

  it.live("with --max-waiting, texts beyond it are 429 with Retry-After instead of waiting; more than it can ever hold is 413", () =>
    Effect.gen(function*() {
      const gate = yield* Latch.make(false)
      const service = yield* startService({ maxWaiting: 3 }, gate)
      const held = yield* Effect.forkChild(postEmbed(service.url, { texts: ["a", "b", "c"] }))
      yield* waitForHealth(service.url, (body) => body.requestsInFlight === 1)
      const full = yield* postEmbed(service.url, { text: "d" })
      assert.strictEqual(full.status, 429)
      assert.strictEqual(full.headers.get("retry-after"), "1")
      assert.include(full.body.error, "queue is full")
      const never = yield* postEmbed(service.url, { texts: ["a", "b", "c", "d"] })
      assert.strictEqual(never.status, 413)
      yield* gate.open
      const first = yield* Fiber.join(held)
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.body.embeddings.length, 3)
      const again = yield* postEmbed(service.url, { text: "d" })
      assert.strictEqual(again.status, 200)
    }))

  it.live("a drain lets requests in flight complete, answers new ones 503 with Retry-After, then the server stops", () =>
    Effect.gen(function*() {
      const model = yield* generatedModel
      const gate = yield* Latch.make(false)
      const url = yield* Effect.gen(function*() {
        const service = yield* startService({}, gate)
        const texts = Array.from({ length: 12 }, (_, i) => `in flight ${i}`)
        const inFlight = yield* Effect.forkChild(
          Effect.forEach(texts, (text) => postEmbed(service.url, { text }), { concurrency: "unbounded" })
        )
        yield* waitForHealth(service.url, (body) => body.requestsInFlight === texts.length)
        const drain = yield* Effect.forkChild(service.drain)
        const refused = yield* postEmbed(service.url, { text: "too late" })
        assert.strictEqual(refused.status, 503)
        assert.strictEqual(refused.headers.get("retry-after"), "1")
        const health = yield* send(`${service.url}/healthz`)
        assert.deepStrictEqual([health.status, health.body.status], [503, "draining"])
        assert.isUndefined(drain.pollUnsafe(), "the drain waits for the requests in flight")
        yield* gate.open
        const replies = yield* Fiber.join(inFlight)
        assert.deepStrictEqual(replies.map((r) => r.status), texts.map(() => 200))
        for (const [i, reply] of replies.entries()) yield* assertEmbeds(model, texts[i], reply.body.embedding)
        yield* Fiber.join(drain)
        return service.url
      }).pipe(Effect.scoped)
      const afterStop = yield* Effect.exit(Effect.promise(() => fetch(`${url}/healthz`)))
      assert.isTrue(afterStop._tag === "Failure", "the server no longer listens")
    }))
})
