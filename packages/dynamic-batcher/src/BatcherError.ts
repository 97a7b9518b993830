/**
 * The typed errors of a batcher.
 *
 * Every error is a `Schema.TaggedError`: it is an `Error` (so it has a stack and
 * a readable `message`), it can be yielded in `Effect.gen`, matched by `_tag`
 * with `Effect.catchTag`, and encoded with its Schema.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"

/**
 * The batcher no longer accepts records: it is shutting down or has stopped,
 * or (with `shutdownTimeout`) it gave up on a record it had accepted.
 *
 * **When**
 *
 * - a `submit` / `offer` after `shutdown` started or after the scope closed;
 * - a producer still suspended on a full queue when shutdown starts;
 * - a record not delivered before `shutdownTimeout` expired.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * const orZero = batcher.submit("x").pipe(
 *   Effect.catchTag("BatcherShutdownError", () => Effect.succeed(0))
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class BatcherShutdownError extends Schema.TaggedError<BatcherShutdownError>()("BatcherShutdownError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `The batcher is shut down: ${this.reason}`
  }
}

/**
 * A record's cost could not be determined: the explicit cost, the
 * `costEstimator` or the record's `estimateCost()` gave a negative, non-finite
 * or non-number value, or threw, or `costs` had the wrong length.
 *
 * Nothing was enqueued by the call that failed; the batcher goes on.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * // fails with InvalidCostError: "cost must be a finite number >= 0, got -1"
 * const bad = batcher.submit("x", { cost: -1 })
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidCostError extends Schema.TaggedError<InvalidCostError>()("InvalidCostError", {
  reason: Schema.String,
  cost: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * `process` returned a number of results different from the number of records
 * in its batch. Every record of that batch fails with this error. `option`
 * names the function that returned them: `"process"`, or `"processFn"` in the
 * Promise API (absent means `"process"`).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * const recovered = batcher.submit("x").pipe(
 *   Effect.catchTag("ResultCountMismatchError", (e) =>
 *     Effect.logError(`expected ${e.expected} results, got ${e.actual}`).pipe(Effect.as(-1))
 *   )
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class ResultCountMismatchError extends Schema.TaggedError<ResultCountMismatchError>()(
  "ResultCountMismatchError",
  {
    expected: Schema.Number,
    actual: Schema.Number,
    option: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `${this.option ?? "process"} must return one result per record in the same order: expected ${
      countOf(this.expected, "result")
    }, got ${this.actual}`
  }
}

/**
 * The options given to `make`, `layer` or `layerConfig` are invalid. `option`
 * names the offending option and `expected` says what it must be; with
 * `layerConfig`, `variable` names the configuration variable it was read from.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * const program = Batcher.make({
 *   process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
 *   maxBatchSize: 0
 * })
 * // fails with BatcherConfigError:
 * // "Invalid batcher option maxBatchSize: expected an integer >= 1, got 0"
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class BatcherConfigError extends Schema.TaggedError<BatcherConfigError>()("BatcherConfigError", {
  option: Schema.String,
  expected: Schema.String,
  actual: Schema.optional(Schema.Unknown),
  /** The configuration variable the value came from, with `layerConfig`. */
  variable: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const source = this.variable === undefined ? "" : ` (from ${this.variable})`
    return `Invalid batcher option ${this.option}${source}: expected ${this.expected}, got ${formatValue(this.actual)}`
  }
}

/**
 * A record was not handed to `process` before its deadline: the per-submit
 * `timeout`, or the batcher's `maxQueueDelay`, counted from the submit call.
 * It fails exactly at its deadline (also while every slot is busy), never
 * reaches `process`, and frees its room in the queue and in its batch. A
 * producer still waiting for room at its deadline fails the same way, with
 * nothing enqueued. With `admission: "predictive"`, a submit the batcher
 * predicts cannot reach `process` in time fails at once, `reason`
 * `"predicted"`.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * const orFallback = batcher.submit("x", { timeout: "200 millis" }).pipe(
 *   Effect.catchTag("DeadlineExceededError", (e) =>
 *     Effect.logWarning(`gave up after ${e.waitedMillis} ms`).pipe(Effect.as(-1))
 *   )
 * )
 * ```
 *
 * @category errors
 * @since 0.2.0
 */
export class DeadlineExceededError extends Schema.TaggedError<DeadlineExceededError>()("DeadlineExceededError", {
  /** How long the record waited, from its submit call (0 when it was turned away at once). */
  waitedMillis: Schema.Number,
  /** Its deadline, from its submit call. */
  timeoutMillis: Schema.Number,
  /**
   * `"expired"`: the deadline passed while the record waited;
   * `"predicted"`: with `admission: "predictive"`, the batcher saw at submit
   * that the records ahead would keep it from `process` past its deadline,
   * and turned it away at once (nothing was enqueued).
   * @default "expired"
   */
  reason: Schema.Literals(["expired", "predicted"]).pipe(Schema.withConstructorDefault(Effect.succeed("expired")))
}) {
  override get message(): string {
    return this.reason === "predicted"
      ? `The record was turned away at submit: predicted to wait more than its deadline of ${this.timeoutMillis} ms for process (the records ahead of it)`
      : `The record waited ${this.waitedMillis} ms without reaching process: its deadline was ${this.timeoutMillis} ms`
  }
}

/**
 * A per-submit option, or the record's key, is invalid: `priority` not an
 * integer, `timeout` negative or not a duration, or a `groupBy` that threw or
 * returned something other than a string or a finite number. `option` names
 * it. Nothing was enqueued by the call that failed; the batcher goes on.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * // fails with InvalidSubmitError: "Invalid submit option priority: expected an integer, got 1.5"
 * const bad = batcher.submit("x", { priority: 1.5 })
 * ```
 *
 * @category errors
 * @since 0.2.0
 */
export class InvalidSubmitError extends Schema.TaggedError<InvalidSubmitError>()("InvalidSubmitError", {
  option: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid submit option ${this.option}: ${this.reason}`
  }
}

/**
 * The errors a `submit` can fail with besides the `process` function's own `E`.
 *
 * @category errors
 * @since 0.1.0
 */
export type BatcherError =
  | BatcherShutdownError
  | InvalidCostError
  | ResultCountMismatchError
  | DeadlineExceededError
  | InvalidSubmitError

/** @internal `"1 result"`, `"3 results"`. */
export const countOf = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`

/** @internal */
export const formatValue = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value)
  if (value === undefined) return "undefined"
  if (value === null) return "null"
  if (typeof value === "function") return "a function"
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
