/**
 * Part (a), inference on a real model: many concurrent tasks submit texts to a
 * batcher in front of an onnxruntime embedding model; then every text runs
 * alone, one engine call each, which times the unbatched model and gives the
 * reference every batched embedding is checked against.
 */
import { Duration, Effect } from "effect"
import type { BatcherConfigError, BatcherError, BatchStats } from "effect-dynamic-batcher"
import { Batcher } from "effect-dynamic-batcher"
import { formatCount, formatPercent } from "../format.ts"
import type { LatencySummary } from "../latency.ts"
import { summarizeLatencies } from "../latency.ts"
import type { EmbeddingModel as Model, InferenceError, ModelLoadError } from "../model/embedder.ts"
import { open } from "../model/embedder.ts"
import { tokenize } from "../model/tokenizer.ts"
import type { ProgressMode } from "../progress.ts"
import { withProgress } from "../progress.ts"
import type { VerificationError } from "../verification.ts"
import { verify } from "../verification.ts"
import { compareEmbeddings } from "./compare.ts"
import { generateTexts } from "./texts.ts"

/** How the batcher in front of the model batches: a token budget, and work-conserving dispatch. */
export const BATCHING = { targetBatchCost: 4_096, maxBatchSize: 64, dispatch: "idle" } as const

/** The size of the inference run. */
export interface InferenceOptions {
  readonly texts: number
  /** Concurrent tasks; each submits its share of the texts one after the other. */
  readonly tasks: number
  /** An ONNX model file to run instead of the generated one. */
  readonly modelPath: string | undefined
  readonly progress: ProgressMode
}

/** One way of running every text: its wall time and the latency of each text. */
export interface RunTiming {
  readonly ms: number
  readonly latency: LatencySummary
}

/** What the inference run measured. */
export interface InferenceResult {
  readonly model: string
  readonly dimension: number
  readonly texts: number
  readonly tasks: number
  readonly tokens: number
  /** Through the batcher, from the first submit to the last embedding. */
  readonly batched: RunTiming
  /** Every text alone, one engine call each, one after the other. */
  readonly unbatched: RunTiming
  /** The batcher's stats once every text completed. */
  readonly stats: BatchStats
  /** Batched embeddings within `EMBEDDING_TOLERANCE` of the same text's unbatched one. */
  readonly matched: number
  /** The largest difference between a batched embedding and its unbatched one. */
  readonly maxDifference: number
}

/** Task `task` of `tasks` submits every `tasks`-th text from `task` on, recording its embedding and latency. */
const runTask = (
  batcher: Batcher.Batcher<Int32Array, Float32Array, InferenceError>,
  task: number,
  tasks: number,
  tokens: ReadonlyArray<Int32Array>,
  embeddings: Array<Float32Array | undefined>,
  latenciesMs: Float64Array
): Effect.Effect<void, BatcherError | InferenceError> =>
  Effect.gen(function*() {
    for (let i = task; i < tokens.length; i += tasks) {
      const [elapsed, embedding] = yield* Effect.timed(batcher.submit(tokens[i]))
      latenciesMs[i] = Duration.toMillis(elapsed)
      embeddings[i] = embedding
    }
  })

/** Runs every text through a batcher in front of `model`, from `tasks` concurrent tasks. */
const runBatched = (model: Model, tokens: ReadonlyArray<Int32Array>, options: InferenceOptions) =>
  Effect.gen(function*() {
    const batcher = yield* Batcher.make({
      ...BATCHING,
      process: (batch: ReadonlyArray<Int32Array>) => model.embed(batch),
      costEstimator: (ids) => ids.length,
      name: "demo-inference"
    })
    const embeddings = new Array<Float32Array | undefined>(tokens.length)
    const latenciesMs = new Float64Array(tokens.length)
    const tasks = Array.from({ length: options.tasks }, (_, task) => task)
    const [elapsed] = yield* Effect.timed(
      Effect.forEach(tasks, (task) => runTask(batcher, task, options.tasks, tokens, embeddings, latenciesMs), {
        concurrency: "unbounded",
        discard: true
      }).pipe(withProgress(options.progress, {
        label: "inference, batched",
        unit: "texts",
        total: tokens.length,
        read: Effect.map(batcher.stats, (stats) => ({
          done: stats.totalCompleted,
          detail: `${formatCount(stats.totalBatches)} batches, ${formatPercent(stats.utilization)} busy`
        }))
      }))
    )
    const timing: RunTiming = { ms: Duration.toMillis(elapsed), latency: summarizeLatencies(latenciesMs) }
    return { timing, embeddings, stats: yield* batcher.stats }
  }).pipe(Effect.scoped)

/** Runs every text alone, one engine call each, one after the other: the unbatched timing and the reference. */
const runUnbatched = (model: Model, tokens: ReadonlyArray<Int32Array>, progress: ProgressMode) =>
  Effect.gen(function*() {
    const reference = new Array<Float32Array>(tokens.length)
    const latenciesMs = new Float64Array(tokens.length)
    let done = 0
    const [elapsed] = yield* Effect.timed(
      Effect.forEach(tokens, (ids, i) =>
        Effect.map(Effect.timed(model.embed([ids])), ([took, [embedding]]) => {
          latenciesMs[i] = Duration.toMillis(took)
          reference[i] = embedding
          done++
        }), { discard: true }).pipe(withProgress(progress, {
          label: "inference, one per call",
          unit: "texts",
          total: tokens.length,
          read: Effect.sync(() => ({ done, detail: "" }))
        }))
    )
    const timing: RunTiming = { ms: Duration.toMillis(elapsed), latency: summarizeLatencies(latenciesMs) }
    return { timing, reference }
  })

/**
 * Runs the inference part: loads the model (generated, or `modelPath`),
 * embeds every text through the batcher, then every text alone. Fails with a
 * `VerificationError` unless every batched embedding matches its unbatched one.
 */
export const runInference = (
  options: InferenceOptions
): Effect.Effect<
  InferenceResult,
  BatcherError | BatcherConfigError | InferenceError | ModelLoadError | VerificationError
> =>
  Effect.gen(function*() {
    const model = yield* open(options.modelPath)
    const tokens = generateTexts(options.texts).map(tokenize)
    // One call of each shape first, so that neither run pays the engine's first-call set-up.
    yield* model.embed(tokens.slice(0, BATCHING.maxBatchSize))
    yield* model.embed(tokens.slice(0, 1))
    const batched = yield* runBatched(model, tokens, options)
    const unbatched = yield* runUnbatched(model, tokens, options.progress)
    const { matched, maxDifference } = compareEmbeddings(batched.embeddings, unbatched.reference)
    yield* verify(
      matched === tokens.length,
      `only ${matched} of ${tokens.length} batched embeddings match the unbatched run (largest difference ${maxDifference})`
    )
    return {
      model: model.description,
      dimension: model.dimension,
      texts: tokens.length,
      tasks: options.tasks,
      tokens: tokens.reduce((sum, ids) => sum + ids.length, 0),
      batched: batched.timing,
      unbatched: unbatched.timing,
      stats: batched.stats,
      matched,
      maxDifference
    }
  }).pipe(Effect.scoped)
