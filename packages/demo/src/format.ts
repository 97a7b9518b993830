/**
 * Number, duration and `BatchStats` formatting for the demo's reports.
 */
import type { BatchStats } from "effect-dynamic-batcher"

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })
const oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })

/** `n` rounded to an integer, with thousands separators: `20,000`. */
export const formatCount = (n: number): string => grouped.format(n)

/** `n` with one decimal and thousands separators: `1,234.5`. */
export const formatDecimal = (n: number): string => oneDecimal.format(n)

/** A duration in milliseconds, as `840 ms` below a second and `4.21 s` above. */
export const formatDuration = (ms: number): string =>
  ms < 1000 ? `${ms < 10 ? ms.toFixed(2) : formatCount(ms)} ms` : `${(ms / 1000).toFixed(2)} s`

/** A fraction as a percentage with one decimal: `0.973` → `97.3%`. */
export const formatPercent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`

/** How many `unit` per second `count` of them in `ms` milliseconds make: `4,512 prompts/s`. */
export const formatRate = (count: number, ms: number, unit: string): string =>
  `${formatCount(ms > 0 ? (count * 1000) / ms : 0)} ${unit}/s`

/** Label/value rows, the labels padded to one column, each row indented by `indent`. */
export const formatTable = (rows: ReadonlyArray<readonly [label: string, value: string]>, indent = "  "): string => {
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join("\n")
}

/** Every counter of a batcher's final `BatchStats`, one per row, plus its utilization. */
export const formatBatchStats = (stats: BatchStats): string =>
  formatTable([
    ["totalSubmitted", formatCount(stats.totalSubmitted)],
    ["totalCompleted", formatCount(stats.totalCompleted)],
    ["totalFailed", formatCount(stats.totalFailed)],
    ["totalWithdrawn", formatCount(stats.totalWithdrawn)],
    ["totalBatches", formatCount(stats.totalBatches)],
    ["totalBatchCost", formatCount(stats.totalBatchCost)],
    ["avgBatchSize", formatDecimal(stats.avgBatchSize)],
    ["avgBatchCost", formatDecimal(stats.avgBatchCost)],
    ["busyTimeMs", formatCount(stats.busyTimeMs)],
    ["idleTimeMs", formatCount(stats.idleTimeMs)],
    ["queueSize", formatCount(stats.queueSize)],
    ["utilization", formatPercent(stats.utilization)]
  ], "    ")
