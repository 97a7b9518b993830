/**
 * Dynamic batching for Effect: many concurrent producers `submit` records, the
 * batcher assembles cost-budgeted batches and runs them through one
 * `process` effect, then hands every producer its own result.
 *
 * ```
 * producers ─submit─▶ queue ─▶ aggregation loop ─▶ sealed batches ─▶ processing loop ─▶ process(batch)
 *     ▲                              (cost, size, timeout)           (one at a time)          │
 *     └──────────────────────── each record's own result (a Deferred) ◀──────────────────────┘
 * ```
 *
 * A batcher lives in a `Scope`: `make` starts its two fibers, and closing the
 * scope (or `shutdown`) stops intake, processes every accepted record without
 * waiting for timeouts, and returns once every result was delivered.
 *
 * @since 0.1.0
 */
import type { Cause, Config, Deferred, Duration, Exit, Schedule, Scope, Stream } from "effect"
import { Context, Effect, Layer } from "effect"
import type { BatcherConfigError, BatcherError } from "./BatcherError.ts"
import type { BatchStats } from "./BatchStats.ts"
import * as internal from "./internal/batcher.ts"
import { nameVariable, tuningConfig } from "./internal/config.ts"
import type { DispatchPolicy } from "./internal/options.ts"

/**
 * When a batch goes to `process`: `"full"` (when full, on timeout, or on
 * shutdown) or `"idle"` (also whenever the processor is free and the batch
 * holds at least `minBatchSize` records). See `Options.dispatch`.
 *
 * @category models
 * @since 0.1.0
 */
export type { DispatchPolicy }

/**
 * The batcher's errors, also exported at the top level of the package.
 *
 * @category errors
 * @since 0.1.0
 */
export {
  BatcherConfigError,
  type BatcherError,
  BatcherShutdownError,
  DeadlineExceededError,
  InvalidCostError,
  InvalidSubmitError,
  ResultCountMismatchError
} from "./BatcherError.ts"

/**
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: TypeId = internal.TypeId

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = "~effect-dynamic-batcher/Batcher"

/**
 * Whether `u` is a `Batcher`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBatcher = (u: unknown): u is Batcher<unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

/**
 * A running batcher: submit records, read its stats, shut it down.
 *
 * Every accepted record's result is delivered exactly once: its own value, or
 * its batch's failure (`E`, a defect, an interruption, or
 * `ResultCountMismatchError`). A producer interrupted before its record
 * reached `process` withdraws it.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * const program = Effect.gen(function*() {
 *   const batcher = yield* Batcher.make({
 *     process: (batch: ReadonlyArray<string>) => Effect.succeed(batch.map((s) => s.length))
 *   })
 *   const lengths = yield* Effect.forEach(["a", "bb", "ccc"], (s) => batcher.submit(s), {
 *     concurrency: "unbounded"
 *   })
 *   console.log(lengths) // [1, 2, 3]
 * }).pipe(Effect.scoped)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Batcher<in out Rec, in out Res, in out E = never> {
  readonly [TypeId]: TypeId
  /**
   * Enqueues `record` (suspending while the queue is full) and returns its
   * result. Interrupting the caller before the record reached `process`
   * withdraws it.
   */
  submit(record: Rec, options?: SubmitOptions): Effect.Effect<Res, E | BatcherError>
  /**
   * Enqueues `record` (suspending while the queue is full) and returns, as
   * soon as it is accepted, a `Deferred` that will hold its result.
   */
  offer(record: Rec, options?: SubmitOptions): Effect.Effect<Deferred.Deferred<Res, E | BatcherError>, BatcherError>
  /**
   * Enqueues every record, in order, and returns their results in the same
   * order. All costs are checked before anything is enqueued. Fails with the
   * first failure among the records; interrupting the caller withdraws the
   * records not yet in `process`.
   */
  submitAll(records: Iterable<Rec>, options?: SubmitAllOptions): Effect.Effect<Array<Res>, E | BatcherError>
  /**
   * Enqueues every record, in order, and returns their `Deferred`s once all
   * are accepted. All costs are checked before anything is enqueued.
   */
  offerAll(
    records: Iterable<Rec>,
    options?: SubmitAllOptions
  ): Effect.Effect<Array<Deferred.Deferred<Res, E | BatcherError>>, BatcherError>
  /** An immutable snapshot of the counters. */
  readonly stats: Effect.Effect<BatchStats>
  /**
   * A live view for dashboards: the current stats, then a fresh snapshot
   * after every batch; it ends once the batcher has stopped. A slow consumer
   * skips intermediate snapshots rather than slowing the batcher.
   */
  readonly statsChanges: Stream.Stream<BatchStats>
  /** True until shutdown starts. */
  readonly isRunning: Effect.Effect<boolean>
  /**
   * Changes knobs while the batcher runs. The patch is validated together
   * with the current values, and an invalid one changes nothing. It takes
   * effect from the next aggregation step (a lower cap applies to the open
   * batch at once) and never loses, duplicates or reorders a record: raising
   * `maxQueueSize` admits waiting producers at once, lowering it drops no
   * accepted record.
   */
  reconfigure(patch: Reconfiguration): Effect.Effect<void, BatcherConfigError>
  /** The knobs in force now (durations in milliseconds). */
  readonly tuning: Effect.Effect<CurrentTuning>
  /**
   * Stops intake at once, processes every accepted record without waiting for
   * timeouts, and returns once every result was delivered (or, with
   * `shutdownTimeout`, once that expired). Idempotent. Called from inside
   * `process`, it starts the shutdown and returns at once.
   */
  readonly shutdown: Effect.Effect<void>
}

/**
 * Per-record options of `submit` and `offer`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubmitOptions extends Scheduling {
  /** The record's cost; when given, no estimator is called. A finite number >= 0. */
  readonly cost?: number | undefined
}

/**
 * How the records of one call are scheduled: their priority and deadline.
 *
 * @category models
 * @since 0.2.0
 */
export interface Scheduling {
  /**
   * An integer; a batch fills from the highest priority first, FIFO within a
   * priority. With `priorityAging`, a record that waited that long ranks
   * above every priority.
   * @default 0
   */
  readonly priority?: number | undefined
  /**
   * How long the record may wait for `process`, from this call: past it, it
   * fails with `DeadlineExceededError` and never reaches `process`. It can
   * only shorten the batcher's `maxQueueDelay`.
   * @default none (or `maxQueueDelay`)
   */
  readonly timeout?: Duration.Input | undefined
}

/**
 * What `process` learns about the batch it runs.
 *
 * @category models
 * @since 0.2.0
 */
export interface BatchInfo {
  /** The batch's key (`groupBy`); undefined without it. */
  readonly key: string | number | undefined
  /** How many records it holds. */
  readonly size: number
  /** Their total cost. */
  readonly cost: number
  /** Which run of these records this is: 1 for the first, 2 for the first retry (`retry`), … */
  readonly attempt: number
  /** How many times the records were bisected to get here (`onBatchFailure: "bisect"`): 0 for a batch as sealed. */
  readonly split: number
}

/**
 * Options of `submitAll` and `offerAll`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubmitAllOptions extends Scheduling {
  /** One cost per record, in order; its length must match the records'. */
  readonly costs?: ReadonlyArray<number> | undefined
}

/**
 * A record that knows its own cost. Used when no explicit cost and no
 * `costEstimator` are given.
 *
 * @category models
 * @since 0.1.0
 */
export interface CostEstimator {
  estimateCost(): number
}

/**
 * How the batcher configures itself: `process` (one result per record) or
 * `processExits` (one `Exit` per record), exactly one of the two, and knobs
 * that are all optional and default to the original `DynamicBatcher`'s values.
 *
 * @category models
 * @since 0.1.0
 */
export type Options<Rec, Res, E = never, R = never> =
  & CommonOptions<Rec, E>
  & (ProcessOptions<Rec, Res, E, R> | ProcessExitsOptions<Rec, Res, E, R>)

/**
 * `process`: a batch gets one result per record, or fails as a whole.
 *
 * @category models
 * @since 0.3.0
 */
export interface ProcessOptions<Rec, Res, E = never, R = never> {
  /**
   * Runs one batch. Must return exactly one result per record, in the same
   * order. Its failure `E` fails every record of the batch with `E`.
   */
  readonly process: (batch: ReadonlyArray<Rec>, info: BatchInfo) => Effect.Effect<ReadonlyArray<Res>, E, R>
  readonly processExits?: undefined
}

/**
 * `processExits`: each record of a batch gets its own outcome.
 *
 * @category models
 * @since 0.3.0
 */
export interface ProcessExitsOptions<Rec, Res, E = never, R = never> {
  readonly process?: undefined
  /**
   * Runs one batch and returns one `Exit` per record, in order: each record
   * gets its own success, failure or defect (an embeddings API's per-input
   * errors, a bulk insert's rejected row). A failure of the whole effect
   * still reaches every record; a wrong count is `ResultCountMismatchError`.
   */
  readonly processExits: (
    batch: ReadonlyArray<Rec>,
    info: BatchInfo
  ) => Effect.Effect<ReadonlyArray<Exit.Exit<Res, E>>, E, R>
}

/**
 * The target of adaptive batching (`Options.adaptive`).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const embedMany: (texts: ReadonlyArray<string>) => Effect.Effect<Array<number>>
 * const embedder = Batcher.make({
 *   process: embedMany,
 *   maxBatchSize: 512,
 *   adaptive: { targetLatency: "50 millis", percentile: 0.99 }
 * })
 * ```
 *
 * @category models
 * @since 0.4.0
 */
export interface AdaptiveOptions {
  /** The latency the `percentile` of records should stay under, from acceptance to result. A finite duration > 0. */
  readonly targetLatency: Duration.Input
  /** Which percentile of the latency the target bounds, in (0, 1). @default 0.99 */
  readonly percentile?: number | undefined
}

/**
 * When a failed batch (or record, with `processExits`) runs again.
 *
 * @category models
 * @since 0.3.0
 */
export interface RetryPolicy<E> {
  /**
   * Gives the delay before each re-run and decides when to stop, fed with
   * the failure `E`: `Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 3 }))`.
   * Its steps must be synchronous, as the built-in schedules' are: the batcher
   * decides a retry while it settles the batch, so a step that waits for
   * async work (a `Schedule.modifyDelay` or `Schedule.tap` that sleeps or
   * awaits a Promise) cannot finish; the failure is then not retried, and
   * the batcher logs a warning once.
   */
  readonly schedule: Schedule.Schedule<unknown, E>
  /**
   * Which failures are worth a retry (a 429 or a 503, not a 400).
   * Defects and interruptions are never retried; a `while` that throws
   * counts as "no" and is logged.
   * @default every failure `E`
   */
  readonly while?: ((error: E) => boolean) | undefined
}

/**
 * The options of `make` other than `process` / `processExits`.
 *
 * @category models
 * @since 0.3.0
 */
export interface CommonOptions<Rec, E = never> {
  /**
   * Estimates a record's cost when no explicit cost is given. Falls back to
   * the record's `estimateCost()`, then to `defaultCost`.
   */
  readonly costEstimator?: ((record: Rec) => number) | undefined
  /**
   * Batches per key: records with different keys never share a batch. Each
   * key has its own open batch under the same caps (its `batchTimeout`
   * counts from its own first record), FIFO within a key; `maxQueueSize`
   * bounds all keys together; ready batches of different keys go to a free
   * slot oldest first. A key with nothing queued holds no state. A
   * `groupBy` that throws or returns anything but a string or a finite
   * number fails that submit with `InvalidSubmitError`.
   * @default none: one key
   */
  readonly groupBy?: ((record: Rec) => string | number) | undefined
  /**
   * The cost budget of a batch: a batch never exceeds it, except a single
   * record that alone costs more, which goes alone.
   * @default 32_000 (minimum: > 0)
   */
  readonly targetBatchCost?: number | undefined
  /**
   * The most records in one batch.
   * @default 256 (minimum: 1)
   */
  readonly maxBatchSize?: number | undefined
  /**
   * With `dispatch: "idle"`, the fewest records that go to an idle processor
   * before the timeout. Ignored on timeout and on shutdown.
   * @default 1 (minimum: 1, at most `maxBatchSize`)
   */
  readonly minBatchSize?: number | undefined
  /**
   * How long a batch waits for more records after its first one was taken.
   * 0 means: take what is queued now, never wait.
   * @default "50 millis" (minimum: 0)
   */
  readonly batchTimeout?: Duration.Input | undefined
  /**
   * The most accepted records waiting to be batched; producers suspend while
   * the queue is full. With `groupBy`, the records in the keys' open batches
   * beyond one batch's worth (`maxBatchSize`) count too, so that many keys
   * cannot hold more between them.
   * @default 5_000 (minimum: 1)
   */
  readonly maxQueueSize?: number | undefined
  /**
   * The most sealed batches waiting for the processor.
   * @default 2 (minimum: 1)
   */
  readonly prefetchBatches?: number | undefined
  /**
   * The cost of a record when nothing else gives one.
   * @default 1 (minimum: 0)
   */
  readonly defaultCost?: number | undefined
  /**
   * When a batch goes to `process`:
   * - `"full"` (the original's policy): when it is full, when `batchTimeout`
   *   has passed since its first record, or on shutdown;
   * - `"idle"` (work-conserving, for accelerators): also whenever the
   *   processor is free and the batch holds at least `minBatchSize` records.
   * @default "full"
   */
  readonly dispatch?: DispatchPolicy | undefined
  /**
   * How many batches may be inside `process` at once (several GPUs, an API's
   * concurrency). Batches start in the order they were sealed; each one's
   * results go out as soon as it finishes. With `"idle"` dispatch, "the
   * processor is free" means a slot is free.
   * @default 1 (minimum: 1)
   */
  readonly maxConcurrentBatches?: number | undefined
  /**
   * The longest a record may wait for `process`, from its submit: past it,
   * it fails with `DeadlineExceededError` at that moment and never reaches
   * `process`. A per-submit `timeout` may only shorten it.
   * @default none
   */
  readonly maxQueueDelay?: Duration.Input | undefined
  /**
   * With priorities: a record that has waited this long ranks above every
   * priority, in arrival order, so low priorities never starve.
   * @default none
   */
  readonly priorityAging?: Duration.Input | undefined
  /**
   * How long shutdown may wait for the accepted work. When it expires,
   * `process` is interrupted and every record not yet delivered fails with
   * `BatcherShutdownError`.
   * @default none: wait for all work
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /**
   * Names the batcher in its metrics (attribute `batcher`) and spans
   * (attribute `batcher.name`).
   * @default "default"
   */
  readonly name?: string | undefined
  /**
   * Adaptive batching: the batcher tunes its batch cap (between
   * `minBatchSize` and `maxBatchSize`) and its wait (up to `batchTimeout`)
   * online, to keep the `percentile` of the records' latency (acceptance to
   * result) under `targetLatency` with batches as large as that allows. It
   * learns how long `process` takes for n records, `fixed + perRecord·n`,
   * from the batches it runs; under overload (full batches with a full batch
   * waiting behind them) it grows the cap for throughput. `stats` shows the
   * cap and wait in force (`effectiveMaxBatchSize`, `effectiveBatchTimeoutMs`);
   * `reconfigure` and `tuning` work on the bounds.
   * @default none: the knobs as given
   */
  readonly adaptive?: AdaptiveOptions | undefined
  /**
   * `"predictive"`: a submit with a deadline (`timeout`, `maxQueueDelay`)
   * that the learnt batch time says cannot reach `process` in time, given
   * the records ahead of it, fails at once with `DeadlineExceededError`
   * (`reason: "predicted"`) instead of waiting to expire. Until a few
   * batches have run nothing is predicted.
   * @default none: every record waits until its deadline
   */
  readonly admission?: "predictive" | undefined
  /**
   * Runs a batch that failed as a whole with a retryable `E` again, with the
   * same records in the same order, after the schedule's delay (the wait
   * holds no slot). With `processExits`, the records whose own `Exit` failed
   * retryably run again together, as a batch of their own, ahead of newer
   * records. A record whose deadline passes while it waits fails with
   * `DeadlineExceededError` (its last failure in the cause); a withdrawn one
   * is dropped; shutdown waits for the retries (`shutdownTimeout` bounds it).
   * `info.attempt` tells `process` which run it is. The schedule must step
   * synchronously (see `RetryPolicy.schedule`).
   * @default none: nothing is retried
   */
  readonly retry?: RetryPolicy<E> | undefined
  /**
   * What a batch that finally failed as a whole (after its retries) does:
   * `"fail"` fails every record with it; `"bisect"` splits it in two halves
   * that run again separately (in order, each taking a slot like any batch),
   * recursively, until failing records stand alone and fail alone: a poison
   * record costs its neighbours only time, and at most 2·⌈log2 n⌉ extra
   * `process` calls in a batch of n (each of which `retry` may repeat).
   * `info.split` gives the depth.
   * @default "fail"
   */
  readonly onBatchFailure?: "fail" | "bisect" | undefined
  /**
   * Called once for every record that finally fails (after retries and
   * bisection; expired records too), before its producer sees the failure,
   * one record at a time per batch. Its own failure or defect is logged and
   * changes nothing for the producer.
   * @default none
   */
  readonly onDeadLetter?:
    | ((record: Rec, cause: Cause.Cause<E | BatcherError>, info: BatchInfo) => Effect.Effect<void>)
    | undefined
}

/**
 * Starts a batcher in the current `Scope`: its aggregation and processing
 * fibers run until the scope closes, which shuts the batcher down gracefully.
 *
 * Fails with `BatcherConfigError` when an option is invalid.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const embed = yield* Batcher.make({
 *     process: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => [t.length])),
 *     maxBatchSize: 64,
 *     batchTimeout: "10 millis"
 *   })
 *   return yield* embed.submit("hello")
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: <Rec, Res, E = never, R = never>(
  options: Options<Rec, Res, E, R>
) => Effect.Effect<Batcher<Rec, Res, E>, BatcherConfigError, Scope.Scope | R> = internal.make

/**
 * A `Layer` that provides a batcher under `key` for the lifetime of the layer;
 * building it starts the batcher, releasing it shuts it down gracefully.
 *
 * **Example**
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * class Embedder extends Context.Service<Embedder, Batcher.Batcher<string, ReadonlyArray<number>>>()("Embedder") {}
 *
 * const EmbedderLive = Batcher.layer(Embedder, {
 *   process: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => [t.length]))
 * })
 *
 * const program = Batcher.submit(Embedder, "hello").pipe(Effect.provide(EmbedderLive))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Self, Rec, Res, E, R = never>(
  key: Context.Key<Self, Batcher<Rec, Res, E>>,
  options: Options<Rec, Res, E, R>
): Layer.Layer<Self, BatcherConfigError, R> => Layer.effect(key, make(options))

/**
 * The tuning knobs of a batcher, every one optional: the options of `make`
 * other than its functions and failure policy (`process` / `processExits`,
 * `costEstimator`, `groupBy`, `retry`, `onBatchFailure`, `onDeadLetter`).
 * What `config` reads.
 *
 * @category models
 * @since 0.1.0
 */
export type Tuning = Omit<
  CommonOptions<unknown, unknown>,
  "costEstimator" | "groupBy" | "retry" | "onBatchFailure" | "onDeadLetter" | "adaptive" | "admission"
>

/**
 * The knobs `reconfigure` can change while a batcher runs.
 *
 * @category models
 * @since 0.2.0
 */
export type Reconfiguration = Pick<
  Tuning,
  | "maxBatchSize"
  | "minBatchSize"
  | "targetBatchCost"
  | "batchTimeout"
  | "dispatch"
  | "maxConcurrentBatches"
  | "maxQueueSize"
  | "prefetchBatches"
  | "maxQueueDelay"
  | "priorityAging"
>

/**
 * The reconfigurable knobs in force, as `batcher.tuning` reads them:
 * durations in milliseconds, `maxQueueDelay` and `priorityAging` undefined
 * when unset.
 *
 * @category models
 * @since 0.2.0
 */
export interface CurrentTuning extends Reconfiguration {
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly dispatch: DispatchPolicy
  readonly maxConcurrentBatches: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly maxQueueDelay: number | undefined
  readonly priorityAging: number | undefined
}

/**
 * A `Config` that reads the tuning knobs from configuration variables under
 * `prefix` (default `"BATCHER"`): `BATCHER_TARGET_BATCH_COST`,
 * `BATCHER_MAX_BATCH_SIZE`, `BATCHER_MIN_BATCH_SIZE`, `BATCHER_BATCH_TIMEOUT`
 * (a number of milliseconds or a duration such as `"50 millis"`),
 * `BATCHER_MAX_QUEUE_SIZE`, `BATCHER_PREFETCH_BATCHES`,
 * `BATCHER_DEFAULT_COST`, `BATCHER_DISPATCH` (`full` or `idle`),
 * `BATCHER_MAX_CONCURRENT_BATCHES`, `BATCHER_MAX_QUEUE_DELAY`,
 * `BATCHER_PRIORITY_AGING`, `BATCHER_SHUTDOWN_TIMEOUT` and `BATCHER_NAME`. A variable that is not set
 * leaves the knob at its default. Values are validated by `layerConfig`,
 * whose `BatcherConfigError` then names the variable.
 *
 * **Example**
 *
 * ```ts
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * // reads EMBEDDER_MAX_BATCH_SIZE, EMBEDDER_BATCH_TIMEOUT, …
 * const embedderConfig = Batcher.config("EMBEDDER")
 * ```
 *
 * @category config
 * @since 0.1.0
 */
export const config = (prefix = "BATCHER"): Config.Config<Tuning> => tuningConfig(prefix)

/**
 * The options of `layerConfig`: everything `make` takes that `Config` does
 * not read (`process` or `processExits`, exactly one, and the functions and
 * failure policy), and the `Config` of the tuning knobs.
 *
 * @category models
 * @since 0.3.0
 */
export type LayerConfigOptions<Rec, Res, E = never, R = never> =
  & Pick<
    CommonOptions<Rec, E>,
    "costEstimator" | "groupBy" | "retry" | "onBatchFailure" | "onDeadLetter" | "adaptive" | "admission"
  >
  & (ProcessOptions<Rec, Res, E, R> | ProcessExitsOptions<Rec, Res, E, R>)
  & {
    /**
     * Where the tuning knobs come from.
     * @default `Batcher.config()`: the `BATCHER_*` variables
     */
    readonly config?: Config.Config<Tuning> | undefined
  }

/**
 * Like `layer`, with the tuning knobs read through Effect `Config` (by default
 * `Batcher.config()`, the `BATCHER_*` variables) and everything else given in
 * code: `process` or `processExits` (exactly one), `retry`,
 * `onBatchFailure`, `onDeadLetter`, `adaptive`, `admission`, `costEstimator` and `groupBy`. Use it to
 * tune a deployed batcher from its environment without a rebuild.
 *
 * Fails with `BatcherConfigError` when an option is invalid (naming the
 * variable when the value was read from one, as in
 * `maxBatchSize (from BATCHER_MAX_BATCH_SIZE)`), or with
 * `Config.ConfigError` when the configuration cannot be read.
 *
 * **Example**
 *
 * ```ts
 * import { Context, Effect, Exit, Schedule } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * class Embedder extends Context.Service<Embedder, Batcher.Batcher<string, number>>()("Embedder") {}
 *
 * // BATCHER_MAX_BATCH_SIZE=64 BATCHER_BATCH_TIMEOUT="5 millis" node app.js
 * const EmbedderLive = Batcher.layerConfig(Embedder, {
 *   processExits: (texts: ReadonlyArray<string>) => Effect.succeed(texts.map((t) => Exit.succeed(t.length))),
 *   retry: { schedule: Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 3 })) }
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = <Self, Rec, Res, E, R = never>(
  key: Context.Key<Self, Batcher<Rec, Res, E>>,
  options: LayerConfigOptions<Rec, Res, E, R>
): Layer.Layer<Self, BatcherConfigError | Config.ConfigError, R> => {
  const source = options.config ?? config()
  // Picked one by one: a knob given here by mistake must not override the one read from Config.
  const { adaptive, admission, costEstimator, groupBy, onBatchFailure, onDeadLetter, process, processExits, retry } =
    options
  const given = {
    adaptive,
    admission,
    costEstimator,
    groupBy,
    onBatchFailure,
    onDeadLetter,
    process,
    processExits,
    retry
  } as
    & CommonOptions<Rec, E>
    & (ProcessOptions<Rec, Res, E, R> | ProcessExitsOptions<Rec, Res, E, R>)
  return Layer.effect(
    key,
    Effect.flatMap(source, (tuning) =>
      // `make` checks that exactly one of process and processExits is given, as for `layer`.
      Effect.mapError(make({ ...tuning, ...given }), (error) => nameVariable(source, error)))
  )
}

/**
 * Submits `record` to the batcher provided under `key` and returns its result.
 *
 * **Example**
 *
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * class Doubler extends Context.Service<Doubler, Batcher.Batcher<number, number>>()("Doubler") {}
 *
 * const six = Batcher.submit(Doubler, 3) // Effect<number, BatcherError, Doubler>
 * ```
 *
 * @category accessors
 * @since 0.1.0
 */
export const submit = <Self, Rec, Res, E>(
  key: Context.Key<Self, Batcher<Rec, Res, E>>,
  record: Rec,
  options?: SubmitOptions
): Effect.Effect<Res, E | BatcherError, Self> => Effect.flatMap(key, (batcher) => batcher.submit(record, options))
