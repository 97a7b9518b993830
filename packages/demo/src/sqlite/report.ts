/**
 * The final report of the SQLite part.
 */
import {
  formatBatchStats,
  formatCount,
  formatDecimal,
  formatDuration,
  formatPercent,
  formatRate,
  formatTable
} from "../format.ts"
import type { SqliteResult } from "./run.ts"
import { MAX_ROWS_PER_TRANSACTION } from "./run.ts"

/** The SQLite part's results, as lines for the terminal. */
export const formatSqliteReport = (result: SqliteResult): string => {
  const { rowByRow, stats } = result
  const sampled = rowByRow.rows < result.rows
  return [
    `SQLite: ${formatCount(result.rows)} rows from ${formatCount(result.producers)} concurrent producers`,
    formatTable([
      ["database", "node:sqlite, a temp file (removed at the end), default journal and synchronous=FULL"],
      [
        "batching",
        `one transaction per batch, one INSERT per row, at most ${formatCount(MAX_ROWS_PER_TRANSACTION)} rows`
      ],
      [
        "batched (measured)",
        `${formatDuration(result.batchedMs)}  ${formatRate(result.rows, result.batchedMs, "rows")}, ${
          formatCount(stats.totalBatches)
        } transactions`
      ],
      [
        sampled ? "row by row (sampled)" : "row by row (measured)",
        sampled
          ? `${formatDuration(rowByRow.extrapolatedMs)}  extrapolated: the first ${
            formatCount(rowByRow.rows)
          } rows, one after the other, each its own transaction, took ${formatDuration(rowByRow.ms)}`
          : `${formatDuration(rowByRow.ms)}  all rows, one after the other, each its own transaction`
      ],
      ["speed-up", `${formatDecimal(rowByRow.extrapolatedMs / result.batchedMs)}×`],
      ["avg transaction", `${formatDecimal(stats.avgBatchSize)} rows`],
      [
        "writer busy",
        `${formatPercent(stats.busyTimeMs / result.batchedMs)} of the batched run (${
          formatCount(stats.busyTimeMs)
        } ms inside transactions)`
      ],
      [
        "row count",
        `SELECT COUNT(*) = ${formatCount(result.rowCount)} of ${formatCount(result.rows)} submitted; ${
          formatCount(result.distinctRowIds)
        } distinct row ids returned (row by row: ${formatCount(rowByRow.rowCount)} of ${formatCount(rowByRow.rows)})`
      ]
    ]),
    "  final BatchStats",
    formatBatchStats(stats)
  ].join("\n")
}
