/**
 * What a batcher counts and reports: the plain counters behind `BatchStats`,
 * and their export as Effect `Metric`s. Metrics are updated per batch and per
 * aggregation step, never per record: the queue-wait and latency histograms
 * observe each batch's oldest record (batches are FIFO, so its first), the
 * longest wait and latency in the batch. Observing every record cost 10-20%
 * of the steady-state throughput; this costs one observation per batch.
 */
import { Context, Fiber, Metric, Tracer } from "effect"
import { BatchStats } from "../BatchStats.ts"
import type { Tuning } from "./options.ts"
import { defaults } from "./options.ts"
import { keepShape } from "./shapes.ts"

/** The running totals of a batcher; `BatchStats` is a snapshot of these. */
export class Counters {
  submitted = 0
  completed = 0
  failed = 0
  withdrawn = 0
  /** Records whose deadline passed before `process` (also counted as completed and failed). */
  expired = 0
  batches = 0
  batchedRecords = 0
  batchCost = 0
  busyMs = 0
  idleMs = 0
  /** Accepted and not yet handed to `process`. */
  pending = 0
  /** Inside a running `process` call. */
  inFlight = 0
  /** Batches inside `process` now. */
  inFlightBatches = 0
  /** Re-runs of failed batches or records (`retry`). */
  retries = 0
  /** Failed batches split in two (`onBatchFailure: "bisect"`). */
  splits = 0
}

/** An immutable `BatchStats` of the counters as they are now, under the knobs in force. */
export const snapshotOf = (counters: Counters, inForce: Tuning): BatchStats => {
  const batches = counters.batches
  return new BatchStats({
    totalSubmitted: counters.submitted,
    totalCompleted: counters.completed,
    totalFailed: counters.failed,
    totalWithdrawn: counters.withdrawn,
    totalBatches: batches,
    totalBatchCost: counters.batchCost,
    avgBatchSize: batches === 0 ? 0 : counters.batchedRecords / batches,
    avgBatchCost: batches === 0 ? 0 : counters.batchCost / batches,
    busyTimeMs: counters.busyMs,
    idleTimeMs: counters.idleMs,
    queueSize: counters.pending,
    inFlightBatches: counters.inFlightBatches,
    inFlightRecords: counters.inFlight,
    totalExpired: counters.expired,
    totalRetries: counters.retries,
    totalSplits: counters.splits,
    effectiveMaxBatchSize: inForce.maxBatchSize,
    effectiveBatchTimeoutMs: inForce.batchTimeoutMs
  })
}

const millisBoundaries = Metric.exponentialBoundaries({ start: 0.125, factor: 2, count: 20 })
const sizeBoundaries = Metric.exponentialBoundaries({ start: 1, factor: 2, count: 14 })
const costBoundaries = Metric.exponentialBoundaries({ start: 1, factor: 4, count: 16 })

/**
 * The batcher's metrics, all named `batcher_*` and carrying the attribute
 * `batcher` = the batcher's `name`.
 */
export const makeMetrics = (name: string) => {
  const attributes = { batcher: name }
  const counter = (id: string, description: string) =>
    Metric.counter(id, { description, attributes, incremental: true })
  const histogram = (id: string, description: string, boundaries: ReadonlyArray<number>) =>
    Metric.histogram(id, { description, attributes, boundaries })
  const gauge = (id: string, description: string) => Metric.gauge(id, { description, attributes })
  return {
    submitted: counter("batcher_records_submitted", "Records accepted into the queue"),
    completed: counter("batcher_records_completed", "Records whose batch ran through process, whatever the outcome"),
    failed: counter("batcher_records_failed", "Records whose batch failed, died, was interrupted or miscounted"),
    withdrawn: counter("batcher_records_withdrawn", "Records withdrawn by an interrupted producer before process"),
    batches: counter("batcher_batches", "Batches handed to process"),
    batchSize: histogram("batcher_batch_size", "Records per batch", sizeBoundaries),
    batchCost: histogram("batcher_batch_cost", "Cost per batch", costBoundaries),
    queueWaitMs: histogram(
      "batcher_queue_wait_ms",
      "Milliseconds from acceptance to process of each batch's oldest (first) record: the longest wait in the batch",
      millisBoundaries
    ),
    processDurationMs: histogram(
      "batcher_process_duration_ms",
      "Milliseconds inside process, per batch",
      millisBoundaries
    ),
    latencyMs: histogram(
      "batcher_latency_ms",
      "Milliseconds from acceptance to result of each batch's oldest (first) record: the longest latency in the batch",
      millisBoundaries
    ),
    queueSize: gauge("batcher_queue_size", "Records accepted and not yet handed to process"),
    inFlight: gauge("batcher_in_flight", "Records inside the running process call"),
    cap: gauge(
      "batcher_effective_max_batch_size",
      "The most records a batch may hold now (adaptive batching moves it)"
    ),
    waitMs: gauge("batcher_effective_batch_timeout_ms", "How long a batch may wait for more records now, in ms")
  }
}

/** Reports a batcher's counters and batches to its metrics. */
export class Telemetry {
  private readonly metrics: ReturnType<typeof makeMetrics>
  private readonly context: Context.Context<never>
  private reportedSubmitted = 0
  private reportedWithdrawn = 0
  /** The gauges' last values, set only when they change (undefined until first set). */
  private reportedQueueSize: number | undefined = undefined
  private reportedInFlight: number | undefined = undefined

  /** The batcher's `name`, for its metrics and for warnings that name it. */
  readonly name: string

  constructor(name: string, context: Context.Context<never>) {
    this.name = name
    this.metrics = makeMetrics(name)
    this.context = context
  }

  /** Brings the counters that grow per record, and the gauges, up to date. */
  sync(counters: Counters): void {
    const { context, metrics } = this
    if (counters.submitted !== this.reportedSubmitted) {
      metrics.submitted.updateUnsafe(counters.submitted - this.reportedSubmitted, context)
      this.reportedSubmitted = counters.submitted
    }
    if (counters.withdrawn !== this.reportedWithdrawn) {
      metrics.withdrawn.updateUnsafe(counters.withdrawn - this.reportedWithdrawn, context)
      this.reportedWithdrawn = counters.withdrawn
    }
    if (counters.pending !== this.reportedQueueSize) {
      metrics.queueSize.updateUnsafe(counters.pending, context)
      this.reportedQueueSize = counters.pending
    }
    if (counters.inFlight !== this.reportedInFlight) {
      metrics.inFlight.updateUnsafe(counters.inFlight, context)
      this.reportedInFlight = counters.inFlight
    }
  }

  /**
   * A batch of `size` records and `cost`, the oldest accepted at `acceptedAt`,
   * was handed to `process` at `now`; `syncGauges` brings the counters and
   * gauges up to date too.
   */
  batchStarted(
    size: number,
    cost: number,
    now: number,
    acceptedAt: number,
    counters: Counters,
    syncGauges: boolean
  ): void {
    const { context, metrics } = this
    metrics.batches.updateUnsafe(1, context)
    metrics.batchSize.updateUnsafe(size, context)
    metrics.batchCost.updateUnsafe(cost, context)
    metrics.queueWaitMs.updateUnsafe(now - acceptedAt, context)
    if (syncGauges) this.sync(counters)
  }

  /**
   * `process` returned at `now` after `durationMs` on a batch of `size` records
   * whose oldest was accepted at `acceptedAt`; `failed` when its records failed.
   */
  batchFinished(
    size: number,
    durationMs: number,
    failed: boolean,
    now: number,
    acceptedAt: number,
    counters: Counters
  ): void {
    const { context, metrics } = this
    metrics.processDurationMs.updateUnsafe(durationMs, context)
    this.recordsSettled(size, failed)
    metrics.latencyMs.updateUnsafe(now - acceptedAt, context)
    this.sync(counters)
  }

  /** The batch cap and wait in force changed (adaptive batching, `reconfigure`). */
  tuned(cap: number, waitMs: number): void {
    this.metrics.cap.updateUnsafe(cap, this.context)
    this.metrics.waitMs.updateUnsafe(waitMs, this.context)
  }

  /** `count` records got their result (failed ones also count as failed). */
  recordsSettled(count: number, failed: boolean): void {
    this.metrics.completed.updateUnsafe(count, this.context)
    if (failed) this.metrics.failed.updateUnsafe(count, this.context)
  }
}

/**
 * Reads the span of the fiber running now: a producer's span, to link from its
 * batch's span. Producers forked together share one context, so the answer for
 * the last context is kept until the current synchronous run of submits ends
 * (the next microtask): a context lookup per submit was about 5% of a burst,
 * and the batcher holds on to no producer's context after that.
 */
export class ParentSpanReader {
  private context: Context.Context<never> | undefined = undefined
  private span: Tracer.AnySpan | undefined = undefined
  private readonly forget = () => {
    this.context = undefined
    this.span = undefined
  }

  read(): Tracer.AnySpan | undefined {
    const fiber = Fiber.getCurrent()
    if (fiber === undefined) return undefined
    if (fiber.context !== this.context) {
      if (this.context === undefined) queueMicrotask(this.forget)
      this.context = fiber.context
      this.span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    }
    return this.span
  }
}

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new Counters())
keepShape(new ParentSpanReader())
keepShape(new Telemetry(defaults.name, Context.empty()))
