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
import { EMBEDDING_TOLERANCE } from "../model/embedder.ts"
import type { InferenceResult, RunTiming } from "./run.ts"
import { BATCHING } from "./run.ts"

const latency = (timing: RunTiming) =>
  `p50 ${formatDuration(timing.latency.p50)}, p99 ${formatDuration(timing.latency.p99)}, max ${
    formatDuration(timing.latency.max)
  }`

/** The inference part's results, as lines for the terminal. */
export const formatInferenceReport = (result: InferenceResult): string => {
  const { batched, stats, unbatched } = result
  const throughput = (timing: RunTiming) =>
    `${formatDuration(timing.ms)}  ${formatRate(result.texts, timing.ms, "texts")}, ${
      formatRate(result.tokens, timing.ms, "tokens")
    }`
  return [
    `Inference: ${formatCount(result.texts)} texts (${formatCount(result.tokens)} tokens) from ${
      formatCount(result.tasks)
    } concurrent tasks`,
    formatTable([
      ["model", `${result.model}, ${result.dimension}-d output`],
      ["engine", "onnxruntime-node, CPU, 1 thread, one batch at a time"],
      [
        "batching",
        `token budget ${
          formatCount(BATCHING.targetBatchCost)
        }, at most ${BATCHING.maxBatchSize} texts, dispatch "${BATCHING.dispatch}"`
      ],
      ["batched", throughput(batched)],
      ["one per call", throughput(unbatched)],
      ["speed-up", `${formatDecimal(unbatched.ms / batched.ms)}×`],
      ["latency, batched", latency(batched)],
      ["latency, one call", latency(unbatched)],
      [
        "model busy",
        `${formatPercent(stats.utilization)} of the batched run (${formatCount(stats.busyTimeMs)} ms inside batches)`
      ],
      [
        "avg batch",
        `${formatDecimal(stats.avgBatchSize)} texts, ${formatCount(stats.avgBatchCost)} tokens (${
          formatCount(stats.totalBatches)
        } batches)`
      ],
      [
        "verified",
        `${formatCount(result.matched)} of ${
          formatCount(result.texts)
        } batched embeddings equal the text's own run (max |Δ| ${
          result.maxDifference.toExponential(1)
        }, tolerance ${EMBEDDING_TOLERANCE})`
      ]
    ]),
    "  final BatchStats",
    formatBatchStats(stats)
  ].join("\n")
}
