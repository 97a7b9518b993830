import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { spawnServer } from "../src/load/server.ts"
import { postEmbed, waitForHealth } from "./helpers.ts"

describe("serve, as a process", () => {
  it.live("SIGTERM with requests in flight: every one completes with its embedding, new ones get 503, exit 0", () =>
    Effect.gen(function*() {
      // Batches wait for their timeout (5 s), so the requests are surely in flight when SIGTERM comes.
      const serve = yield* spawnServer(["--dispatch", "full", "--batch-timeout", "5000", "--max-batch-size", "1000"])
      const texts = Array.from({ length: 20 }, (_, i) => `request ${i} in flight at SIGTERM`)
      const inFlight = yield* Effect.forkChild(
        Effect.forEach(texts, (text) => postEmbed(serve.url, { text }), { concurrency: "unbounded" })
      )
      yield* waitForHealth(serve.url, (body) => body.requestsInFlight === texts.length)
      const stopped = yield* Effect.forkChild(serve.stop)
      yield* waitForHealth(serve.url, (body) => body.status === "draining")
      const refused = yield* postEmbed(serve.url, { text: "after SIGTERM" })
      assert.strictEqual(refused.status, 503)
      assert.strictEqual(refused.headers.get("retry-after"), "1")
      const replies = yield* Fiber.join(inFlight)
      assert.deepStrictEqual(replies.map((reply) => reply.status), texts.map(() => 200))
      for (const reply of replies) assert.strictEqual(reply.body.embedding.length, 256)
      assert.strictEqual(yield* Fiber.join(stopped), 0)
      assert.include(serve.output(), "SIGTERM: draining")
      assert.include(serve.output(), "stopped")
    }))
})
