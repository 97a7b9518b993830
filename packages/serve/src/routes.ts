/**
 * The service's routes: `POST /embed` through the admission control and the
 * batcher to the model, `GET /healthz`, and `GET /metrics` in Prometheus
 * text format.
 */
import { Effect, Layer } from "effect"
import type { Batcher, BatcherError } from "effect-dynamic-batcher"
import type { EmbeddingModel } from "effect-dynamic-batcher-demo/model"
import { Tokenizer } from "effect-dynamic-batcher-demo/model"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import type { Admission } from "./admission.ts"
import { errorResponse } from "./errors.ts"
import { observed } from "./metrics.ts"
import { parseEmbedRequest, readBody } from "./request.ts"

/** What the routes need: the batcher in front of the model, the admission control, the body limit. */
export interface RouteDependencies {
  readonly batcher: Batcher.Batcher<Int32Array, Float32Array, EmbeddingModel.InferenceError>
  readonly admission: Admission
  readonly maxBodyBytes: number
}

/** A failure past admission: the batcher shut down (503), or the model failed (500); never a bad request. */
const serverError = (error: BatcherError | EmbeddingModel.InferenceError): HttpServerResponse.HttpServerResponse =>
  error._tag === "BatcherShutdownError"
    ? HttpServerResponse.jsonUnsafe({ error: "the service is shutting down; retry" }, {
      status: 503,
      headers: { "retry-after": "1", connection: "close" }
    })
    : HttpServerResponse.jsonUnsafe({ error: `the model failed: ${error.message}` }, { status: 500 })

/** `POST /embed`: `{ "text" }` → `{ "embedding" }`, `{ "texts" }` → `{ "embeddings" }`. */
const embed = ({ admission, batcher, maxBodyBytes }: RouteDependencies) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* admission.request(Effect.gen(function*() {
      const parsed = yield* Effect.flatMap(readBody(request, maxBodyBytes), parseEmbedRequest)
      const texts = parsed._tag === "One" ? [parsed.text] : parsed.texts
      const vectors = yield* admission.reserve(texts.length, batcher.submitAll(texts.map(Tokenizer.tokenize)))
      return HttpServerResponse.jsonUnsafe(
        parsed._tag === "One"
          ? { embedding: Array.from(vectors[0]) }
          : { embeddings: vectors.map((v) => Array.from(v)) }
      )
    }))
  }).pipe(
    Effect.catchTag("RequestError", (error) => Effect.succeed(errorResponse(error))),
    Effect.catch((error) => Effect.succeed(serverError(error))),
    observed
  )

/** `GET /healthz`: 200 while serving, 503 once draining; with the requests in flight. */
const healthz = ({ admission }: RouteDependencies) =>
  Effect.sync(() =>
    HttpServerResponse.jsonUnsafe(
      { status: admission.isDraining ? "draining" : "ok", requestsInFlight: admission.requestsInFlight },
      { status: admission.isDraining ? 503 : 200 }
    )
  )

/**
 * The routes of the service, as a layer for `HttpRouter.serve`.
 *
 * **Example**
 * ```ts
 * const app = HttpRouter.serve(routes({ batcher, admission, maxBodyBytes: 1 << 20 }))
 * ```
 */
export const routes = (dependencies: RouteDependencies) =>
  Layer.mergeAll(
    HttpRouter.add("POST", "/embed", embed(dependencies)),
    HttpRouter.add("GET", "/healthz", healthz(dependencies)),
    PrometheusMetrics.layerHttp({ path: "/metrics" })
  )
