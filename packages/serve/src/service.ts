/**
 * The embedding service as one scoped value: the model, the batcher in front
 * of it, the admission control and the HTTP server, started in the current
 * scope and stopped when it closes (server first, then the batcher).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import type { BatcherConfigError } from "effect-dynamic-batcher"
import { Batcher } from "effect-dynamic-batcher"
import { EmbeddingModel } from "effect-dynamic-batcher-demo/model"
import { HttpRouter, HttpServer } from "effect/http"
import type { HttpServerError } from "effect/http"
import { createServer } from "node:http"
import { Admission } from "./admission.ts"
import type { ServeOptions } from "./options.ts"
import { routes } from "./routes.ts"

/** A started service. */
export interface RunningService {
  /** Where it listens: `http://127.0.0.1:8080`. */
  readonly url: string
  readonly port: number
  /**
   * Starts a drain and waits for it: new requests get 503 with `Retry-After`
   * from now on, requests in flight complete (for at most `--drain-timeout`).
   * Close the service's scope afterwards to stop the server and the batcher.
   */
  readonly drain: Effect.Effect<void>
}

/** What `start` can be given instead of loading the model named by the options. */
export interface StartOverrides {
  /** A model to serve, in place of the generated one or `--model`. */
  readonly model?: EmbeddingModel.EmbeddingModel
}

/**
 * Starts the service in the current scope: loads the model (or takes
 * `overrides.model`), starts the batcher, listens on `options.host:port`.
 *
 * **Example**
 * ```ts
 * const service = yield* start({ ...defaults, port: 0 })
 * yield* Console.log(`listening on ${service.url}`)
 * yield* service.drain // on SIGTERM
 * ```
 */
export const start = (
  options: ServeOptions,
  overrides: StartOverrides = {}
): Effect.Effect<
  RunningService,
  EmbeddingModel.ModelLoadError | BatcherConfigError | HttpServerError.ServeError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const model = overrides.model ?? (yield* EmbeddingModel.open(options.model))
    // Registered before the server, so that closing the scope stops the server first.
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<Int32Array>) => model.embed(batch),
      costEstimator: (tokens) => tokens.length,
      targetBatchCost: options.maxBatchTokens,
      maxBatchSize: options.maxBatchSize,
      batchTimeout: Duration.millis(options.batchTimeoutMs),
      dispatch: options.dispatch,
      name: "embed"
    })
    const admission = new Admission(options.maxWaiting)
    const app = HttpRouter.serve(routes({ batcher, admission, maxBodyBytes: options.maxBodyBytes }), {
      disableLogger: true,
      disableListenLog: true
    })
    const server = NodeHttpServer.layer(() => createServer({ requestTimeout: 30_000 }), {
      port: options.port,
      host: options.host,
      // The drain already waited for requests in flight; closing the sockets is all that is left.
      gracefulShutdownTimeout: Duration.seconds(5)
    })
    const context = yield* Layer.build(Layer.provideMerge(app, server))
    const address = Context.get(context, HttpServer.HttpServer).address
    const drain = Effect.suspend(() => {
      admission.startDrain()
      return admission.awaitIdle.pipe(Effect.timeoutOrElse({
        duration: Duration.millis(options.drainTimeoutMs),
        orElse: () =>
          Effect.logWarning(`drain: ${admission.requestsInFlight} requests still in flight after --drain-timeout`)
      }))
    })
    return {
      url: HttpServer.formatAddress(address),
      port: address._tag === "UnixPathAddress" ? 0 : address.port,
      drain
    }
  })
