/**
 * A snapshot of a batcher's counters, as a Schema class.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Count = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * An immutable snapshot of a batcher's counters, taken by `batcher.stats`.
 *
 * Every accepted record is in exactly one state, so at any moment
 * `totalSubmitted = totalCompleted + totalWithdrawn + queueSize + inFlightRecords`.
 *
 * - `totalSubmitted`: records accepted into the queue.
 * - `totalCompleted`: records whose batch ran through `process`, whatever its
 *   outcome (failures are counted here too, and also in `totalFailed`).
 * - `totalFailed`: records whose batch failed, died, was interrupted or
 *   returned the wrong number of results, records whose own `Exit` failed
 *   (`processExits`), and records that expired.
 * - `totalExpired`: records whose deadline passed before they reached
 *   `process` (`DeadlineExceededError`); also counted in `totalCompleted`
 *   and `totalFailed`.
 * - `totalRetries`: re-runs of failed batches, or of failed records with
 *   `processExits` (`retry`); `totalSplits`: failed batches split in two
 *   (`onBatchFailure: "bisect"`). A record that runs again is completed (and
 *   counted as failed, if it fails) only once, when it finally settles.
 * - `totalWithdrawn`: records whose producer was interrupted before the
 *   record was handed to `process`; `process` never saw them.
 * - `totalBatches`, `totalBatchCost`: batches run and the sum of their costs.
 * - `avgBatchSize`, `avgBatchCost`: per batch, 0 before the first batch.
 * - `busyTimeMs`: time with at least one batch inside `process` (so with
 *   `maxConcurrentBatches` above 1, `utilization` still stays within 0…1);
 *   `idleTimeMs`: time with none. Both measured with Effect's `Clock`.
 * - `queueSize`: records accepted and not yet handed to `process` (waiting in
 *   the queue, in the open batch or in a sealed batch).
 * - `inFlightBatches`, `inFlightRecords`: batches, and their records, inside
 *   `process` now.
 * - `effectiveMaxBatchSize`, `effectiveBatchTimeoutMs`: the batch cap and
 *   wait in force now: `maxBatchSize` and `batchTimeout` as configured, or
 *   what adaptive batching (`adaptive`) chose within them.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Batcher } from "effect-dynamic-batcher"
 *
 * declare const batcher: Batcher.Batcher<string, number>
 * const report = Effect.map(batcher.stats, (stats) =>
 *   `${stats.totalBatches} batches, ${(stats.utilization * 100).toFixed(1)}% busy`
 * )
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export class BatchStats extends Schema.Class<BatchStats>("BatchStats")({
  totalSubmitted: Count,
  totalCompleted: Count,
  totalFailed: Count,
  totalWithdrawn: Count,
  totalBatches: Count,
  totalBatchCost: Count,
  avgBatchSize: Count,
  avgBatchCost: Count,
  busyTimeMs: Count,
  idleTimeMs: Count,
  queueSize: Count,
  inFlightBatches: Count,
  inFlightRecords: Count,
  totalExpired: Count,
  totalRetries: Count,
  totalSplits: Count,
  effectiveMaxBatchSize: Count,
  effectiveBatchTimeoutMs: Count
}) {
  /**
   * The fraction of measured time with at least one batch inside `process`:
   * `busyTimeMs / (busyTimeMs + idleTimeMs)`, or 0 before anything was
   * measured.
   *
   * @since 0.1.0
   */
  get utilization(): number {
    const total = this.busyTimeMs + this.idleTimeMs
    return total === 0 ? 0 : this.busyTimeMs / total
  }
}
