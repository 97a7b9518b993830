/**
 * One load run: a fresh service process with the given flags, driven by
 * autocannon over loopback for a bounded time, every response checked, then
 * stopped with SIGTERM.
 */
import autocannon from "autocannon"
import { Effect } from "effect"
import { ResponseCheck } from "./check.ts"
import type { ServerStartError } from "./server.ts"
import { spawnServer } from "./server.ts"

/** A service configuration to load. */
export interface LoadConfig {
  readonly label: string
  /** `pnpm serve` flags. */
  readonly args: ReadonlyArray<string>
}

/** How hard and how long to drive it, and what to send. */
export interface LoadPlan {
  readonly connections: number
  readonly durationSeconds: number
  /** The texts sent, one per request, in turn. */
  readonly texts: ReadonlyArray<string>
  /** Their embeddings, each run alone: what every response must hold. */
  readonly reference: ReadonlyArray<Float32Array>
}

/** What one run measured. */
export interface LoadResult {
  readonly config: LoadConfig
  readonly durationSeconds: number
  readonly requestsPerSecond: number
  readonly latencyP50Ms: number
  readonly latencyP99Ms: number
  readonly correct: number
  readonly wrong: number
  readonly firstProblem: string | undefined
  /** Connection errors and timeouts: requests that got no response. */
  readonly errors: number
  /** The batcher's average batch size, from `/metrics`. */
  readonly avgBatchSize: number
  /** The service's exit code after SIGTERM: 0 when it drained cleanly. */
  readonly exitCode: number | null
}

/** `sum / count` of a Prometheus histogram in `metrics`, 0 when absent. */
const histogramMean = (metrics: string, name: string): number => {
  const read = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(metrics)?.[1] ?? 0)
  const count = read("count")
  return count === 0 ? 0 : read("sum") / count
}

/**
 * Runs `config` under `plan`.
 *
 * **Example**
 * ```ts
 * const result = yield* runLoad({ label: "batched", args: [] }, plan)
 * result.wrong // 0: every response held its text's embedding
 * ```
 */
export const runLoad = (config: LoadConfig, plan: LoadPlan): Effect.Effect<LoadResult, ServerStartError> =>
  Effect.gen(function*() {
    const server = yield* spawnServer(config.args)
    const check = new ResponseCheck(plan.reference)
    const bodies = plan.texts.map((text) => JSON.stringify({ text }))
    let next = 0
    const result = yield* Effect.promise(() =>
      autocannon({
        url: server.url,
        connections: plan.connections,
        duration: plan.durationSeconds,
        requests: [{
          method: "POST",
          path: "/embed",
          headers: { "content-type": "application/json" },
          // Each connection sends the next text in turn and remembers which, to check its response.
          setupRequest: (request, context) => {
            const index = next++ % bodies.length
            ;(context as { index: number }).index = index
            return { ...request, body: bodies[index] }
          },
          onResponse: (status, body, context) => check.record((context as { index: number }).index, status, body)
        }]
      })
    )
    const metrics = yield* Effect.promise(() => fetch(`${server.url}/metrics`).then((response) => response.text()))
    const exitCode = yield* server.stop
    return {
      config,
      durationSeconds: result.duration,
      requestsPerSecond: (check.correct + check.wrong) / result.duration,
      latencyP50Ms: result.latency.p50,
      latencyP99Ms: result.latency.p99,
      correct: check.correct,
      wrong: check.wrong,
      firstProblem: check.firstProblem,
      errors: result.errors + result.timeouts,
      avgBatchSize: histogramMean(metrics, "batcher_batch_size"),
      exitCode
    }
  }).pipe(Effect.scoped)
