/** Medians and spreads over runs. */
import type { Metrics } from "./spec.ts"

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Per metric: median, min and max over the runs. */
export const summarize = (runs: ReadonlyArray<Metrics>): { median: Metrics; min: Metrics; max: Metrics } => {
  const med: Metrics = {}
  const min: Metrics = {}
  const max: Metrics = {}
  const names = new Set(runs.flatMap((run) => Object.keys(run)))
  for (const name of names) {
    const values = runs.map((run) => run[name]).filter((v): v is number => typeof v === "number")
    med[name] = median(values)
    min[name] = Math.min(...values)
    max[name] = Math.max(...values)
  }
  return { median: med, min, max }
}
