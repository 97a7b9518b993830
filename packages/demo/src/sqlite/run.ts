/**
 * Part (b), bulk writes: many concurrent producers submit rows to a batcher
 * that writes each batch into SQLite as one transaction; the same rows
 * inserted row by row, each in its own transaction, are measured for
 * comparison.
 */
import { Clock, Duration, Effect } from "effect"
import type { BatcherConfigError, BatcherError, BatchStats } from "effect-dynamic-batcher"
import { Batcher } from "effect-dynamic-batcher"
import { formatCount } from "../format.ts"
import type { ProgressMode } from "../progress.ts"
import { withProgress } from "../progress.ts"
import type { VerificationError } from "../verification.ts"
import { verify } from "../verification.ts"
import type { EventTable, SqliteError } from "./database.ts"
import { createEventTable, openTempDatabase } from "./database.ts"
import type { Event } from "./events.ts"
import { eventAt } from "./events.ts"

/** The most rows in one transaction. */
export const MAX_ROWS_PER_TRANSACTION = 1_000

/** The size of the SQLite run. */
export interface SqliteOptions {
  readonly rows: number
  /** Concurrent producers; each submits its share of the rows one after the other. */
  readonly producers: number
  /** How long the row-by-row baseline may run before it stops and is extrapolated to all rows. */
  readonly rowByRowBudgetMs: number
  readonly progress: ProgressMode
}

/** The row-by-row baseline: rows inserted one after the other, each in its own transaction. */
export interface RowByRowMeasurement {
  /** How many rows were inserted before all rows were in or the time budget ran out. */
  readonly rows: number
  readonly ms: number
  /** The baseline table's row count, by a query. */
  readonly rowCount: number
  /** The measured time scaled to all rows; the measured time when all rows were inserted. */
  readonly extrapolatedMs: number
}

/** What the SQLite run measured. */
export interface SqliteResult {
  readonly rows: number
  readonly producers: number
  /** Wall time from the first submit to the last committed row. */
  readonly batchedMs: number
  /** The batched table's row count, by a query. */
  readonly rowCount: number
  /** Distinct row ids the producers got back. */
  readonly distinctRowIds: number
  /** The batcher's stats once every row was written. */
  readonly stats: BatchStats
  readonly rowByRow: RowByRowMeasurement
}

/** Producer `producer` of `producers` submits every `producers`-th row from `producer` on, keeping its row id. */
const runProducer = (
  producer: number,
  options: SqliteOptions,
  writer: Batcher.Batcher<Event, number, SqliteError>,
  rowIds: Float64Array
): Effect.Effect<void, SqliteError | BatcherError> =>
  Effect.gen(function*() {
    for (let i = producer; i < options.rows; i += options.producers) {
      rowIds[i] = yield* writer.submit(eventAt(i, options.producers))
    }
  })

/** Inserts the rows one at a time into `table` until all are in or `budgetMs` has passed. */
const measureRowByRow = (
  table: EventTable,
  options: SqliteOptions
): Effect.Effect<RowByRowMeasurement, SqliteError> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    let rows = 0
    let now = start
    while (rows < options.rows && now - start < options.rowByRowBudgetMs) {
      yield* table.insertAlone(eventAt(rows, options.producers))
      rows++
      now = yield* Clock.currentTimeMillis
    }
    const ms = now - start
    return { rows, ms, rowCount: yield* table.count, extrapolatedMs: rows === 0 ? 0 : (ms * options.rows) / rows }
  })

/**
 * Runs the SQLite part in a temp database file: `producers` concurrent
 * producers submit `rows` rows through a batcher that commits one
 * transaction per batch, then the row-by-row baseline runs. Fails with a
 * `VerificationError` unless the row counts and row ids add up.
 */
export const runSqlite = (
  options: SqliteOptions
): Effect.Effect<SqliteResult, SqliteError | BatcherError | BatcherConfigError | VerificationError> =>
  Effect.scoped(Effect.gen(function*() {
    const database = yield* openTempDatabase
    const batchedTable = yield* createEventTable(database, "events_batched")
    const writer = yield* Batcher.make({
      process: batchedTable.insertInTransaction,
      maxBatchSize: MAX_ROWS_PER_TRANSACTION,
      dispatch: "idle"
    })
    const rowIds = new Float64Array(options.rows)
    const producers = Array.from({ length: options.producers }, (_, producer) => producer)
    const [elapsed] = yield* Effect.timed(
      Effect.forEach(producers, (producer) => runProducer(producer, options, writer, rowIds), {
        concurrency: "unbounded",
        discard: true
      }).pipe(withProgress(options.progress, {
        label: "sqlite",
        unit: "rows",
        total: options.rows,
        read: Effect.map(writer.stats, (stats) => ({
          done: stats.totalCompleted,
          detail: `${formatCount(stats.totalBatches)} transactions`
        }))
      }))
    )
    const stats = yield* writer.stats
    const rowCount = yield* batchedTable.count
    const distinctRowIds = new Set(rowIds).size
    yield* verify(rowCount === options.rows, `the table holds ${rowCount} rows, ${options.rows} were submitted`)
    yield* verify(distinctRowIds === options.rows, `${distinctRowIds} distinct row ids for ${options.rows} rows`)
    const rowByRow = yield* measureRowByRow(yield* createEventTable(database, "events_row_by_row"), options)
    yield* verify(
      rowByRow.rowCount === rowByRow.rows,
      `the row-by-row table holds ${rowByRow.rowCount} rows, ${rowByRow.rows} were inserted`
    )
    return {
      rows: options.rows,
      producers: options.producers,
      batchedMs: Duration.toMillis(elapsed),
      rowCount,
      distinctRowIds,
      stats,
      rowByRow
    }
  }))
