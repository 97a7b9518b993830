/**
 * The batcher for code without Effect: a `DynamicBatcher` class with the
 * original Python API (`start`, `submit`, `enqueue`, `submitBatch`, `stats`,
 * `isRunning`, `stop`) over Promises. It runs the same engine and loops as
 * `Batcher`; producers never enter the Effect runtime, so a submit costs one
 * Promise.
 *
 * ```ts
 * import { DynamicBatcher } from "effect-dynamic-batcher/promise"
 *
 * await using batcher = new DynamicBatcher({
 *   processFn: async (texts: Array<string>) => texts.map((t) => t.length),
 *   maxBatchSize: 64,
 *   batchTimeout: 5 // milliseconds, or a duration string such as "5 millis"
 * })
 * await batcher.start()
 * const length = await batcher.submit("hello") // 5
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Exit, Schedule, Schema, Scope } from "effect"
import { constVoid } from "effect/Function"
import type {
  AdaptiveOptions,
  BatchInfo,
  CurrentTuning,
  Options,
  Reconfiguration,
  RetryPolicy,
  Scheduling
} from "./Batcher.ts"
import type { BatcherShutdownError } from "./BatcherError.ts"
import { BatcherConfigError } from "./BatcherError.ts"
import type { BatchStats } from "./BatchStats.ts"
import type { BatcherImpl } from "./internal/batcher.ts"
import * as internal from "./internal/batcher.ts"
import type { EstimateMethod } from "./internal/cost.ts"
import { costMethods, tokenMethods } from "./internal/cost.ts"
import type { Engine } from "./internal/engine.ts"
import { inertEngine, shutdownError } from "./internal/engine.ts"
import { Entry, EntryGroup } from "./internal/entry.ts"
import { resultsMismatch } from "./internal/executor.ts"
import { checkRecordFunctions, knobsOf, learningOf, millisOf, validateTuningUnsafe } from "./internal/options.ts"
import type { DispatchPolicy, Tuning } from "./internal/options.ts"
import { policyOf } from "./internal/recovery.ts"
import { keepShape } from "./internal/shapes.ts"
import { Counters, snapshotOf } from "./internal/telemetry.ts"

/**
 * The library's errors and stats model, for code that imports only this entry.
 *
 * @category errors
 * @since 0.1.0
 */
export {
  BatcherConfigError,
  BatcherShutdownError,
  DeadlineExceededError,
  InvalidCostError,
  InvalidSubmitError,
  ResultCountMismatchError
} from "./BatcherError.ts"
export { BatchStats } from "./BatchStats.ts"

/**
 * `start` was called on a batcher that is already running.
 *
 * @category errors
 * @since 0.1.0
 */
export class BatcherAlreadyRunningError extends Schema.TaggedError<BatcherAlreadyRunningError>()(
  "BatcherAlreadyRunningError",
  {}
) {
  override get message(): string {
    return "The batcher is already running: stop it before starting it again"
  }
}

/**
 * The options of a `DynamicBatcher`: the same knobs, defaults and limits as
 * `Batcher.Options`, with `processFn` returning a Promise (or an array), or
 * `processSettledFn` returning one `PromiseSettledResult` per record
 * (exactly one of the two).
 *
 * @category models
 * @since 0.1.0
 */
export type DynamicBatcherOptions<Rec, Res> =
  & DynamicBatcherKnobs<Rec>
  & (
    | {
      /**
       * Processes one batch; must return one result per record, in order. A
       * rejection (or a throw) rejects every record of the batch with that error.
       * `info` gives the batch's key (`groupBy`), size, cost, attempt and split.
       */
      readonly processFn: (batch: Array<Rec>, info: BatchInfo) => PromiseLike<ReadonlyArray<Res>> | ReadonlyArray<Res>
      readonly processSettledFn?: undefined
    }
    | {
      readonly processFn?: undefined
      /**
       * Processes one batch and returns one outcome per record, in order, in
       * the shape of `Promise.allSettled`: each record resolves or rejects on
       * its own. A rejection (or a throw) of the whole call rejects every record.
       */
      readonly processSettledFn: (
        batch: Array<Rec>,
        info: BatchInfo
      ) => PromiseLike<ReadonlyArray<PromiseSettledResult<Res>>> | ReadonlyArray<PromiseSettledResult<Res>>
    }
  )

/**
 * When a failed batch (or record, with `processSettledFn`) runs again: up to
 * `retries` times, after `delay` milliseconds, multiplied by `factor` each
 * time, at most `maxDelay`; only failures `while` accepts (default: all).
 *
 * @category models
 * @since 0.3.0
 */
export interface PromiseRetry {
  /** How many re-runs at most (an integer >= 0). */
  readonly retries: number
  /** Milliseconds (or a duration string) before the first re-run. */
  readonly delay: number | Duration.Input
  /** Each delay is the previous one times this. @default 1 */
  readonly factor?: number | undefined
  /** The longest delay (ms or a duration string). @default none */
  readonly maxDelay?: number | Duration.Input | undefined
  /** Which errors are worth a retry; one that throws counts as "no". @default every error */
  readonly while?: ((error: unknown) => boolean) | undefined
}

/**
 * The knobs of a `DynamicBatcher`, every one optional.
 *
 * @category models
 * @since 0.3.0
 */
export interface DynamicBatcherKnobs<Rec> {
  /** Re-runs failed batches (see `Batcher.Options.retry`). @default none */
  readonly retry?: PromiseRetry | undefined
  /** `"bisect"` isolates poison records (see `Batcher.Options.onBatchFailure`). @default "fail" */
  readonly onBatchFailure?: "fail" | "bisect" | undefined
  /**
   * Called once for every record that finally fails, before its Promise
   * rejects; what it throws or rejects with is logged and changes nothing.
   * @default none
   */
  readonly onDeadLetter?: ((record: Rec, error: unknown, info: BatchInfo) => PromiseLike<void> | void) | undefined
  /**
   * Adaptive batching: the cap and wait tuned to keep the `percentile`
   * (default 0.99) of latency under `targetLatency` (ms or a duration
   * string); see `Batcher.Options.adaptive`. @default none
   */
  readonly adaptive?: AdaptiveOptions | undefined
  /**
   * `"predictive"`: a submit the learnt batch time says cannot reach
   * `processFn` by its deadline rejects at once with `DeadlineExceededError`
   * (`reason: "predicted"`); see `Batcher.Options.admission`. @default none
   */
  readonly admission?: "predictive" | undefined
  /** Estimates a record's cost when no `estimatedCost` is given. */
  readonly costEstimator?: ((record: Rec) => number) | undefined
  /** Batches per key: records with different keys never share a batch. @default none */
  readonly groupBy?: ((record: Rec) => string | number) | undefined
  /** How many batches may be inside `processFn` at once. @default 1 */
  readonly maxConcurrentBatches?: number | undefined
  /** The longest a record may wait for `processFn` (ms or a duration string). @default none */
  readonly maxQueueDelay?: number | Duration.Input | undefined
  /** How long a record waits before it ranks above every priority (ms or a duration string). @default none */
  readonly priorityAging?: number | Duration.Input | undefined
  /** @default 32_000 */
  readonly targetBatchCost?: number | undefined
  /** @default 256 */
  readonly maxBatchSize?: number | undefined
  /** @default 1 */
  readonly minBatchSize?: number | undefined
  /** Milliseconds, or a duration string such as `"50 millis"`. @default 50 */
  readonly batchTimeout?: number | Duration.Input | undefined
  /** @default 5_000 */
  readonly maxQueueSize?: number | undefined
  /** @default 2 */
  readonly prefetchBatches?: number | undefined
  /** @default 1 */
  readonly defaultCost?: number | undefined
  /** @default "full" */
  readonly dispatch?: DispatchPolicy | undefined
  /** How long `stop` may wait for the accepted work. @default none */
  readonly shutdownTimeout?: number | Duration.Input | undefined
  /** Names the batcher in its metrics and spans. @default "default" */
  readonly name?: string | undefined
}

/**
 * How one call's records are scheduled in the Promise API: `priority` (an
 * integer, higher first) and `timeout` (milliseconds or a duration string;
 * past it the record rejects with `DeadlineExceededError`).
 *
 * @category models
 * @since 0.2.0
 */
export interface PromiseScheduling {
  readonly priority?: number | undefined
  readonly timeout?: number | Duration.Input | undefined
}

/**
 * The options of `submit` and `enqueue`.
 *
 * @category models
 * @since 0.2.0
 */
export interface PromiseSubmitOptions extends PromiseScheduling {
  /** The record's cost; when given, no estimator is called. */
  readonly estimatedCost?: number | undefined
}

/**
 * The options of `submitBatch`.
 *
 * @category models
 * @since 0.2.0
 */
export interface PromiseSubmitBatchOptions extends PromiseScheduling {
  /** One cost per record, in order. */
  readonly estimatedCosts?: ReadonlyArray<number> | undefined
}

/**
 * Batches records from many concurrent producers and runs them through one
 * async `processFn`, as the original Python `DynamicBatcher` does.
 *
 * - `start()` starts the loops (rejects with `BatcherAlreadyRunningError`
 *   when running); `stop()` stops intake, processes every accepted record and
 *   resolves once all results are delivered; `await using` stops it too.
 * - `submit` resolves with the record's result; `enqueue` resolves once the
 *   record is accepted (waiting while the queue is full) with its `result`
 *   Promise; `submitBatch` does that for many records.
 * - Submitting when not running rejects with `BatcherShutdownError`; an
 *   invalid cost with `InvalidCostError`.
 *
 * The `result` Promises of `enqueue` and `submitBatch` are marked handled: a
 * failure you never await does not crash the process as an unhandled
 * rejection.
 *
 * **Example**
 *
 * ```ts
 * import { DynamicBatcher } from "effect-dynamic-batcher/promise"
 *
 * const batcher = new DynamicBatcher({ processFn: async (xs: Array<number>) => xs.map((x) => x * 2) })
 * await batcher.start()
 * const results = await Promise.all(await batcher.submitBatch([1, 2, 3])) // [2, 4, 6]
 * await batcher.stop()
 * console.log(batcher.stats.totalCompleted) // 3
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export class DynamicBatcher<Rec, Res> implements AsyncDisposable {
  private options: Options<Rec, Res, unknown>
  private readonly estimateMethods: ReadonlyArray<EstimateMethod>
  private running: Running<Rec, Res> | undefined
  /** The last run's stats, once one has stopped. */
  private lastStats: BatchStats | undefined = undefined
  /** Whether `stop` was called since the last `start`: a submit then says so. */
  private stopped = false

  /** Validates the options at once: throws `BatcherConfigError` when one is invalid. */
  constructor(options: DynamicBatcherOptions<Rec, Res>, estimateMethods: ReadonlyArray<EstimateMethod> = costMethods) {
    const { onDeadLetter, processFn, processSettledFn, retry, ...knobs } = options ?? {}
    const fn = processFn ?? processSettledFn
    if (typeof fn !== "function" || (processFn !== undefined && processSettledFn !== undefined)) {
      throw new BatcherConfigError({
        option: processFn === undefined && processSettledFn !== undefined ? "processSettledFn" : "processFn",
        expected: "exactly one of processFn (one result per record) and processSettledFn " +
          "(one PromiseSettledResult per record), a function (batch, info) => Promise",
        actual: fn
      })
    }
    const learning = learningOf(knobs)
    if (learning instanceof BatcherConfigError) throw learning
    const checked = checkRecordFunctions(knobs) ?? validateTuningUnsafe(knobs)
    if (checked instanceof BatcherConfigError) throw checked
    const failures = {
      retry: retry === undefined ? undefined : retryPolicy(retry),
      onDeadLetter: onDeadLetter === undefined ? undefined : deadLetterOf(onDeadLetter)
    }
    this.options = processFn !== undefined
      ? { ...knobs, ...failures, process: (batch, info) => runProcessFn(processFn, batch, info) }
      : {
        ...knobs,
        ...failures,
        processExits: (batch, info) => Effect.map(runProcessFn(processSettledFn!, batch, info), exitsOf)
      }
    const policy = policyOf(this.options)
    if (policy instanceof BatcherConfigError) throw policy
    this.estimateMethods = estimateMethods
  }

  /**
   * Changes knobs (see `Batcher.reconfigure`): validated together with the
   * current values, an invalid patch throws `BatcherConfigError` and changes
   * nothing. When not running, the patch applies to the next `start`.
   */
  reconfigure(patch: Reconfiguration): void {
    const running = this.running
    if (running !== undefined) {
      const exit = Effect.runSyncExit(running.batcher.reconfigure(patch))
      if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
      return
    }
    const checked = validateTuningUnsafe({ ...this.options, ...patch })
    if (checked instanceof BatcherConfigError) throw checked
    this.options = { ...this.options, ...patch }
  }

  /** The knobs in force (durations in milliseconds). */
  get tuning(): CurrentTuning {
    if (this.running !== undefined) return knobsOf(this.running.engine.configured)
    return knobsOf(validateTuningUnsafe(this.options) as Tuning)
  }

  /** Whether the loops are running and accepting records. */
  get isRunning(): boolean {
    return this.running !== undefined && this.running.engine.accepting
  }

  /** A snapshot of the counters (the last run's, once stopped). */
  get stats(): BatchStats {
    if (this.running !== undefined) return this.running.engine.snapshot()
    return this.lastStats ?? snapshotOf(new Counters(), validateTuningUnsafe(this.options) as Tuning)
  }

  /** Starts the loops. Rejects with `BatcherAlreadyRunningError` when already running. */
  start(): Promise<void> {
    if (this.running !== undefined) return Promise.reject(new BatcherAlreadyRunningError())
    // Starting is synchronous (it only validates and forks the loops), so the
    // batcher is running, or start has failed, before this call returns.
    const scope = Scope.makeUnsafe()
    const started = Effect.runSyncExit(Scope.provide(internal.make(this.options, this.estimateMethods), scope))
    if (Exit.isFailure(started)) return Promise.reject(Cause.squash(started.cause))
    this.running = { batcher: started.value, engine: started.value.engine, scope }
    this.stopped = false
    return Promise.resolve()
  }

  /**
   * Stops intake at once, processes every accepted record, and resolves once
   * every result was delivered. Resolves at once when not running.
   */
  stop(): Promise<void> {
    const running = this.running
    if (running === undefined) return Promise.resolve()
    this.stopped = true
    running.engine.beginShutdown()
    return Effect.runPromise(Scope.close(running.scope, Exit.void)).then(() => {
      if (this.running === running) {
        this.lastStats = running.engine.snapshot()
        this.running = undefined
      }
    })
  }

  /** `await using batcher = new DynamicBatcher(…)` stops it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }

  /**
   * Submits one record and resolves with its result. Waits while the queue is
   * full. `estimatedCost` skips the estimators.
   */
  submit(record: Rec, options?: PromiseSubmitOptions): Promise<Res> {
    const running = this.running
    if (running === undefined || !running.engine.accepting) return Promise.reject(this.notRunning())
    const batcher = running.batcher
    const cost = batcher.costOf.of(record, options?.estimatedCost)
    if (typeof cost !== "number") return Promise.reject(cost)
    const engine = running.engine
    let invalid: unknown
    const result = new Promise<Res>((resolve, reject) => {
      const entry = new PromiseEntry<Rec, Res>(record, cost, resolve, reject)
      if (options !== undefined || engine.tuning.maxQueueDelayMs !== undefined || batcher.groupBy !== undefined) {
        invalid = batcher.prepare(entry, options === undefined ? undefined : schedulingOptions(options))
        if (invalid !== undefined) return
      }
      if (!engine.acceptOne(entry)) {
        engine.enqueue(new EntryGroup([entry], cost), { onAdmitted: constVoid, onRejected: reject })
      }
    })
    return invalid === undefined ? result : Promise.reject(invalid)
  }

  /**
   * Submits one record and resolves, once it is accepted, with the Promise of
   * its result (the seed's Future). Waits while the queue is full.
   */
  async enqueue(record: Rec, options?: PromiseSubmitOptions): Promise<{ readonly result: Promise<Res> }> {
    const [result] = await this.submitBatch([record], {
      estimatedCosts: options?.estimatedCost === undefined ? undefined : [options.estimatedCost],
      priority: options?.priority,
      timeout: options?.timeout
    })
    return { result }
  }

  /**
   * Submits records in order and resolves, once all are accepted, with the
   * Promise of each result. All costs are checked before anything is enqueued;
   * `estimatedCosts` must have one entry per record.
   */
  submitBatch(records: Iterable<Rec>, options?: PromiseSubmitBatchOptions): Promise<Array<Promise<Res>>> {
    const running = this.running
    if (running === undefined || !running.engine.accepting) return Promise.reject(this.notRunning())
    const list = internal.listOf(records)
    const results = new Array<Promise<Res>>(list.length)
    const scheduling = options === undefined ? undefined : {
      costs: options.estimatedCosts,
      ...schedulingOptions(options)
    }
    const entries = running.batcher.entriesOf(list, scheduling, (record, cost, index) => {
      let entry!: PromiseEntry<Rec, Res>
      const result = new Promise<Res>((resolve, reject) => {
        entry = new PromiseEntry<Rec, Res>(record, cost, resolve, reject)
      })
      entry.handledResult = result
      results[index] = result
      return entry
    })
    if (!(entries instanceof EntryGroup)) return Promise.reject(entries)
    return new Promise((resolve, reject) => {
      const waiter = running.engine.enqueue(entries, { onAdmitted: () => resolve(results), onRejected: reject })
      if (waiter === undefined) resolve(results)
    })
  }

  /** Why a submit is refused: never started, stopping, or stopped. */
  private notRunning(): BatcherShutdownError {
    if (this.running !== undefined) return shutdownError("the batcher is stopping and accepts no more records")
    return shutdownError(
      this.stopped
        ? "the batcher was stopped: call start() to run it again"
        : "the batcher is not running: call start() first"
    )
  }
}

/**
 * The token-budgeted `Prompt` record (`new Prompt(text).estimateTokens()` is
 * `floor(text.length / 4) + 1`), as `TokenBatcher` expects it.
 *
 * @category models
 * @since 0.2.0
 */
export { Prompt } from "./TokenBatcher.ts"

/**
 * The options of a `TokenBatcher`: those of `DynamicBatcher`, with the token
 * names of the original: `inferenceFn` (or `processFn`), `tokenEstimator`,
 * `targetBatchTokens`, `defaultTokenEstimate`.
 *
 * @category models
 * @since 0.2.0
 */
export type TokenBatcherOptions<Rec, Res> =
  & DynamicBatcherKnobs<Rec>
  & {
    /** The token budget of a batch: alias of `targetBatchCost`. @default 32_000 */
    readonly targetBatchTokens?: number | undefined
    /** Counts a record's tokens: alias of `costEstimator`. */
    readonly tokenEstimator?: ((record: Rec) => number) | undefined
    /** The tokens of a record when nothing else counts them: alias of `defaultCost`. @default 1 */
    readonly defaultTokenEstimate?: number | undefined
  }
  & (
    | {
      readonly inferenceFn: NonNullable<DynamicBatcherOptions<Rec, Res>["processFn"]>
      readonly processFn?: undefined
    }
    | {
      readonly processFn: NonNullable<DynamicBatcherOptions<Rec, Res>["processFn"]>
      readonly inferenceFn?: undefined
    }
  )

/**
 * A `DynamicBatcher` whose cost is tokens, as the original's `TokenBatcher`:
 * a record's tokens come from `estimatedTokens`, else `tokenEstimator`, else
 * its `estimateTokens()`, else its `estimateCost()`, else
 * `defaultTokenEstimate`.
 *
 * **Example**
 *
 * ```ts
 * import { Prompt, TokenBatcher } from "effect-dynamic-batcher/promise"
 *
 * await using llm = new TokenBatcher({
 *   inferenceFn: async (prompts: Array<Prompt>) => prompts.map((p) => p.text.toUpperCase()),
 *   targetBatchTokens: 8_192
 * })
 * await llm.start()
 * const answer = await llm.submit(new Prompt("hello"), { estimatedTokens: 2 })
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export class TokenBatcher<Rec, Res> extends DynamicBatcher<Rec, Res> {
  /** Validates the options at once: throws `BatcherConfigError` when one is invalid. */
  constructor(options: TokenBatcherOptions<Rec, Res>) {
    const { defaultTokenEstimate, inferenceFn, processFn, targetBatchTokens, tokenEstimator, ...rest } = options
    const fn = inferenceFn ?? processFn
    if (typeof fn !== "function") {
      throw new BatcherConfigError({
        option: "inferenceFn",
        expected: "a function (batch, info) => Promise of one result per record (inferenceFn or processFn)",
        actual: fn
      })
    }
    super({
      ...rest,
      processFn: fn,
      targetBatchCost: targetBatchTokens ?? rest.targetBatchCost,
      costEstimator: tokenEstimator ?? rest.costEstimator,
      defaultCost: defaultTokenEstimate ?? rest.defaultCost
    }, tokenMethods)
  }

  /** Submits one record with its token count, if known, and resolves with its result. */
  override submit(
    record: Rec,
    options?: PromiseSubmitOptions & { readonly estimatedTokens?: number | undefined }
  ): Promise<Res> {
    return super.submit(record, tokenOptions(options))
  }

  /** Like `submit`, resolving once accepted with the Promise of its result. */
  override enqueue(
    record: Rec,
    options?: PromiseSubmitOptions & { readonly estimatedTokens?: number | undefined }
  ): Promise<{ readonly result: Promise<Res> }> {
    return super.enqueue(record, tokenOptions(options))
  }
}

const tokenOptions = (
  options: (PromiseSubmitOptions & { readonly estimatedTokens?: number | undefined }) | undefined
): PromiseSubmitOptions | undefined =>
  options?.estimatedTokens === undefined ? options : { ...options, estimatedCost: options.estimatedTokens }

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

interface Running<Rec, Res> {
  readonly batcher: BatcherImpl<Rec, Res, unknown>
  readonly engine: Engine<Rec, Res, any>
  readonly scope: Scope.Closeable
}

/** The record of a Promise producer: its result settles the Promise. */
class PromiseEntry<Rec, Res> extends Entry<Rec, Res, unknown> {
  declare private readonly resolve: (value: Res) => void
  declare private readonly reject: (reason: unknown) => void
  /**
   * The Promise of a `submitBatch` record, marked handled if it fails (its
   * producer may never await it); undefined for a `submit`, whose caller
   * awaits it. Marked only then: a handler per record is a Promise more.
   */
  declare handledResult: Promise<Res> | undefined
  constructor(record: Rec, cost: number, resolve: (value: Res) => void, reject: (reason: unknown) => void) {
    super(record, cost)
    this.resolve = resolve
    this.reject = reject
    this.handledResult = undefined
  }
  deliver(exit: Exit.Exit<Res, unknown>): void {
    if (Exit.isSuccess(exit)) return this.resolve(exit.value)
    this.reject(Cause.squash(exit.cause))
    // Before the unhandled-rejection check, which runs once the microtasks are done.
    this.handledResult?.catch(constVoid)
  }
  override succeed(value: Res): void {
    this.resolve(value)
  }
}

/** The scheduling options of a Promise call, as the Effect front takes them (`timeout`: milliseconds or a duration). */
const schedulingOptions = (options: PromiseScheduling): Scheduling => ({
  priority: options.priority,
  timeout: options.timeout
})

/** The `processFn` of a `DynamicBatcher`. */
type ProcessFn<Rec, Res> = (batch: Array<Rec>, info: BatchInfo) => PromiseLike<ReadonlyArray<Res>> | ReadonlyArray<Res>

/**
 * Runs the user's `processFn` as an Effect; a throw or a rejection fails the
 * batch with that error. Its results are checked here, so that the errors name
 * `processFn` (the engine's own checks name `process`).
 */
const runProcessFn = <Rec, Res>(
  processFn: ProcessFn<Rec, Res>,
  batch: ReadonlyArray<Rec>,
  info: BatchInfo
): Effect.Effect<ReadonlyArray<Res>, unknown> =>
  Effect.callback<ReadonlyArray<Res>, unknown>((resume) => {
    let returned: PromiseLike<ReadonlyArray<Res>> | ReadonlyArray<Res>
    try {
      returned = processFn(batch as Array<Rec>, info)
    } catch (error) {
      return resume(Effect.fail(error))
    }
    Promise.resolve(returned).then(
      (results) => resume(checkResults(results, batch.length)),
      (error) => resume(Effect.fail(error))
    )
  })

/**
 * `Promise.allSettled`'s shape as one `Exit` per record (anything else there
 * is that record's defect, or, when not an array, the count check's).
 */
const exitsOf = <Res>(settled: ReadonlyArray<PromiseSettledResult<Res>>): ReadonlyArray<Exit.Exit<Res, unknown>> =>
  Array.isArray(settled)
    ? settled.map((result: PromiseSettledResult<Res> | undefined) =>
      result?.status === "fulfilled"
        ? Exit.succeed(result.value)
        : result?.status === "rejected"
        ? Exit.fail(result.reason)
        : Exit.die(
          new TypeError(`processSettledFn must return a PromiseSettledResult per record, got ${typeof result}`)
        )
    )
    : settled as unknown as ReadonlyArray<Exit.Exit<Res, unknown>>

/** The Promise API's retry in milliseconds, as the schedule of `Batcher.Options.retry`. */
const retryPolicy = (retry: PromiseRetry): RetryPolicy<unknown> => {
  const invalid = (option: string, expected: string, actual: unknown) =>
    new BatcherConfigError({ option: `retry.${option}`, expected, actual })
  if (typeof retry !== "object" || retry === null) {
    throw new BatcherConfigError({
      option: "retry",
      expected: "{ retries, delay, factor?, maxDelay?, while? }",
      actual: retry
    })
  }
  if (!Number.isSafeInteger(retry.retries) || retry.retries < 0) {
    throw invalid("retries", "an integer >= 0", retry.retries)
  }
  const delay = millisOf(retry.delay)
  if (!(delay >= 0) || !Number.isFinite(delay)) {
    throw invalid("delay", "a finite number of milliseconds >= 0", retry.delay)
  }
  const factor = retry.factor ?? 1
  if (!(factor >= 1) || !Number.isFinite(factor)) throw invalid("factor", "a finite number >= 1", retry.factor)
  const maxDelay = retry.maxDelay === undefined ? Number.POSITIVE_INFINITY : millisOf(retry.maxDelay)
  if (!(maxDelay >= 0)) throw invalid("maxDelay", "a number of milliseconds >= 0", retry.maxDelay)
  const schedule = Schedule.exponential(delay, factor).pipe(
    Schedule.upTo({ times: retry.retries }),
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Math.min(Duration.toMillis(duration), maxDelay)))
  )
  return { schedule, while: retry.while }
}

/** The Promise API's `onDeadLetter`, its error the failure `Cause.squash` gives (what the record rejects with). */
const deadLetterOf = <Rec>(
  onDeadLetter: NonNullable<DynamicBatcherKnobs<Rec>["onDeadLetter"]>
) =>
(record: Rec, cause: Cause.Cause<unknown>, info: BatchInfo): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    let returned: PromiseLike<void> | void
    try {
      returned = onDeadLetter(record, Cause.squash(cause), info)
    } catch (error) {
      return resume(Effect.die(error))
    }
    Promise.resolve(returned).then(() => resume(Effect.void), (error) => resume(Effect.die(error)))
  })

const checkResults = <Res>(results: ReadonlyArray<Res>, size: number): Effect.Effect<ReadonlyArray<Res>, unknown> =>
  resultsMismatch(results, size, "processFn") ?? Effect.succeed(results)

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new DynamicBatcher<unknown, unknown>({ processFn: () => Promise.resolve([]) }))
keepShape<Running<unknown, unknown>>({ batcher: internal.inertBatcher, engine: inertEngine, scope: Scope.makeUnsafe() })
keepShape(new PromiseEntry<unknown, unknown>(undefined, 0, constVoid, constVoid))
