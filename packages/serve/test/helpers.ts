/**
 * Test helpers: a service on an ephemeral loopback port, a model whose calls
 * wait for a gate, and small HTTP helpers over `fetch`.
 */
import { Effect } from "effect"
import type { Latch } from "effect"
import { EmbeddingModel } from "effect-dynamic-batcher-demo/model"
import type { ServeOptions } from "../src/options.ts"
import { defaults } from "../src/options.ts"
import { start } from "../src/service.ts"

/** The service's options for a test: any free port on loopback. */
export const testOptions = (options: Partial<ServeOptions> = {}): ServeOptions => ({ ...defaults, port: 0, ...options })

/** The generated model, loaded once per test scope. */
export const generatedModel = EmbeddingModel.generate()

/** `model`, but every call waits until `gate` opens: requests stay in flight as long as a test wants. */
export const gated = (model: EmbeddingModel.EmbeddingModel, gate: Latch.Latch): EmbeddingModel.EmbeddingModel => ({
  ...model,
  embed: (batch) => Effect.andThen(gate.await, model.embed(batch))
})

/** Starts the service in the test's scope, with a gated model when `gate` is given. */
export const startService = (options: Partial<ServeOptions> = {}, gate?: Latch.Latch) =>
  Effect.gen(function*() {
    const model = yield* generatedModel
    return yield* start(testOptions(options), { model: gate === undefined ? model : gated(model, gate) })
  })

/** A response read whole: status, headers and JSON body. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

/** Sends one HTTP request and reads its whole response. */
export const send = (url: string, init: RequestInit = {}): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // Not JSON (the Prometheus text): kept as text.
    }
    return { status: response.status, headers: response.headers, body }
  })

/** `POST /embed` with `body` as JSON (or as given when a string). */
export const postEmbed = (url: string, body: unknown): Effect.Effect<Reply> =>
  send(`${url}/embed`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

/** Polls `GET /healthz` until `holds(body)`; the test's timeout bounds it. */
export const waitForHealth = (url: string, holds: (body: any) => boolean) =>
  Effect.gen(function*() {
    while (true) {
      const reply = yield* send(`${url}/healthz`)
      if (holds(reply.body)) return reply
      yield* Effect.sleep("20 millis")
    }
  })
