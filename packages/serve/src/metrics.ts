/**
 * The service's own metrics, beside the batcher's `batcher_*` ones, all served
 * by `GET /metrics`.
 */
import { Duration, Effect, Metric } from "effect"
import type { HttpServerResponse } from "effect/http"

const requests = Metric.counter("embed_requests", {
  description: "POST /embed requests answered, by HTTP status",
  incremental: true
})

const duration = Metric.histogram("embed_request_duration_ms", {
  description: "Milliseconds from reading a POST /embed request to its response",
  boundaries: Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 18 })
})

const byStatus = new Map<number, Metric.Metric<number, unknown>>()

const requestsWithStatus = (status: number) => {
  let metric = byStatus.get(status)
  if (metric === undefined) {
    metric = Metric.withAttributes(requests, { status: String(status) })
    byStatus.set(status, metric)
  }
  return metric
}

/**
 * Counts the response of `handler` by its status and times it.
 *
 * **Example**
 * ```ts
 * HttpRouter.add("POST", "/embed", observed(embedHandler))
 * ```
 */
export const observed = <E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> =>
  Effect.timed(handler).pipe(
    Effect.tap(([elapsed, response]) =>
      Effect.andThen(
        Metric.update(requestsWithStatus(response.status), 1),
        Metric.update(duration, Duration.toMillis(elapsed))
      )
    ),
    Effect.map(([, response]) => response)
  )
