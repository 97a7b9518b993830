/**
 * Latency percentiles.
 */

/** The median, 99th percentile and maximum of a set of latencies, in milliseconds. */
export interface LatencySummary {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * Summarizes `latenciesMs` by the nearest-rank method: the p-th percentile is
 * the smallest value that at least p% of the values do not exceed. All zeros
 * for no values.
 */
export const summarizeLatencies = (latenciesMs: ArrayLike<number>): LatencySummary => {
  const sorted = Float64Array.from(latenciesMs).sort()
  const at = (p: number) => sorted.length === 0 ? 0 : sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]
  return { p50: at(50), p99: at(99), max: at(100) }
}
