/**
 * The final report of the inference part.
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
import { TOKEN_BUDGET } from "./model.ts"
import type { InferenceResult } from "./run.ts"

/** The inference part's results, as lines for the terminal. */
export const formatInferenceReport = (result: InferenceResult): string => {
  const { accelerator, stats, unbatched } = result
  const speedUp = (unbatchedMs: number) => `${formatDecimal(unbatchedMs / result.batchedMs)}×`
  return [
    `Inference: ${formatCount(result.prompts)} prompts (${formatCount(result.tokens)} tokens) from ${
      formatCount(result.tasks)
    } concurrent tasks`,
    formatTable([
      [
        "accelerator",
        `simulated: ${accelerator.launchMs} ms per launch + ${
          accelerator.perTokenMs * 1000
        } µs per token, one batch at a time`
      ],
      ["batching", `token budget ${formatCount(TOKEN_BUDGET)} per batch, dispatch "idle"`],
      [
        "batched (measured)",
        `${formatDuration(result.batchedMs)}  ${formatRate(result.prompts, result.batchedMs, "prompts")}, ${
          formatRate(result.tokens, result.batchedMs, "tokens")
        }`
      ],
      [
        "unbatched (computed)",
        `${formatDuration(unbatched.computedMs)}  from the cost model, not run: ${
          formatCount(result.prompts)
        } launches + ${formatCount(result.tokens)} tokens`
      ],
      [
        "unbatched (sampled)",
        `${formatDuration(unbatched.extrapolatedMs)}  ${
          formatCount(unbatched.sampleSize)
        } prompts run one at a time took ${formatDuration(unbatched.sampleMs)}, scaled to all prompts by the cost model`
      ],
      ["speed-up", `${speedUp(unbatched.computedMs)} vs computed, ${speedUp(unbatched.extrapolatedMs)} vs sampled`],
      [
        "accelerator busy",
        `${formatPercent(stats.busyTimeMs / result.batchedMs)} of the batched run (${
          formatCount(stats.busyTimeMs)
        } ms inside batches)`
      ],
      [
        "avg batch",
        `${formatDecimal(stats.avgBatchSize)} prompts, ${formatCount(stats.avgBatchCost)} tokens (${
          formatCount(stats.totalBatches)
        } batches)`
      ],
      [
        "latency",
        `p50 ${formatDuration(result.latency.p50)}, p99 ${formatDuration(result.latency.p99)}, max ${
          formatDuration(result.latency.max)
        }`
      ],
      ["completions", `${formatCount(result.completed)} of ${formatCount(result.prompts)} came back to their prompt`]
    ]),
    "  final BatchStats",
    formatBatchStats(stats)
  ].join("\n")
}
