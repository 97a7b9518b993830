/**
 * Admission control: counts the requests and texts in flight, refuses texts
 * beyond `--max-waiting` (429) and every request once a drain began (503), and
 * tells a drain when the last request in flight has finished.
 *
 * The counts change synchronously, in the request's own fiber, so a check and
 * its admission can never be split by another request.
 */
import { Effect } from "effect"
import { RequestError } from "./errors.ts"

/** How long a refused client should wait before it retries, in seconds (the `Retry-After` header). */
export const RETRY_AFTER_SECONDS = 1

/**
 * The admission state of one service: `request` wraps a whole request (503
 * once draining), `reserve` its texts (429 beyond `maxWaiting`).
 *
 * **Example**
 * ```ts
 * const admission = new Admission(1_000)
 * const handler = admission.request(Effect.gen(function*() {
 *   const texts = yield* readTexts
 *   return yield* admission.reserve(texts.length, batcher.submitAll(texts))
 * }))
 * ```
 */
export class Admission {
  /** Texts reserved and not yet answered. */
  private texts = 0
  /** Requests admitted and not yet answered. */
  private requests = 0
  private draining = false
  private readonly idleWaiters = new Set<() => void>()

  /** The most texts in flight at once; unbounded when undefined. */
  readonly maxWaiting: number | undefined

  constructor(maxWaiting: number | undefined) {
    this.maxWaiting = maxWaiting
  }

  /** Whether a drain began: new requests are refused. */
  get isDraining(): boolean {
    return this.draining
  }

  /** Requests admitted and not yet answered. */
  get requestsInFlight(): number {
    return this.requests
  }

  /** Runs `effect` as an admitted request, or fails with a 503 `RequestError` once a drain began. */
  request<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | RequestError, R> {
    return Effect.suspend((): Effect.Effect<A, E | RequestError, R> => {
      if (this.draining) {
        return Effect.fail(
          new RequestError({
            status: 503,
            message: "the service is shutting down; retry on another instance",
            retryAfterSeconds: RETRY_AFTER_SECONDS
          })
        )
      }
      this.requests++
      return Effect.ensuring(effect, Effect.sync(() => this.releaseRequest()))
    })
  }

  /**
   * Runs `effect` with `texts` texts reserved, or fails with a `RequestError`:
   * 429 when they would pass `maxWaiting`, 413 when they never could.
   */
  reserve<A, E, R>(texts: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | RequestError, R> {
    return Effect.suspend((): Effect.Effect<A, E | RequestError, R> => {
      const refusal = this.refusal(texts)
      if (refusal !== undefined) return Effect.fail(refusal)
      this.texts += texts
      return Effect.ensuring(
        effect,
        Effect.sync(() => {
          this.texts -= texts
        })
      )
    })
  }

  /** Starts a drain: every later request is refused with 503. Idempotent. */
  startDrain(): void {
    this.draining = true
  }

  /** Waits until no admitted request is in flight. */
  readonly awaitIdle: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.requests === 0) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.idleWaiters.add(waiter)
    return Effect.sync(() => this.idleWaiters.delete(waiter))
  })

  private refusal(texts: number): RequestError | undefined {
    if (this.maxWaiting === undefined) return undefined
    if (texts > this.maxWaiting) {
      return new RequestError({
        status: 413,
        message: `a request may hold at most ${this.maxWaiting} texts (--max-waiting), got ${texts}`
      })
    }
    if (this.texts + texts > this.maxWaiting) {
      return new RequestError({
        status: 429,
        message: `the queue is full: ${this.texts} texts waiting, at most ${this.maxWaiting}`,
        retryAfterSeconds: RETRY_AFTER_SECONDS
      })
    }
    return undefined
  }

  private releaseRequest(): void {
    this.requests--
    if (this.requests === 0) {
      for (const waiter of this.idleWaiters) waiter()
      this.idleWaiters.clear()
    }
  }
}
