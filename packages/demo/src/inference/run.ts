/**
 * Part (a), LLM-style inference: many concurrent tasks submit prompts to the
 * `Model` batcher in front of the simulated accelerator; the same work run
 * unbatched is computed from the cost model and measured on a sample.
 */
import { Duration, Effect } from "effect"
import type { BatcherConfigError, BatcherError, BatchStats } from "effect-dynamic-batcher"
import { Batcher } from "effect-dynamic-batcher"
import { formatCount, formatPercent } from "../format.ts"
import type { LatencySummary } from "../latency.ts"
import { summarizeLatencies } from "../latency.ts"
import type { ProgressMode } from "../progress.ts"
import { withProgress } from "../progress.ts"
import type { VerificationError } from "../verification.ts"
import { verify } from "../verification.ts"
import type { AcceleratorProfile } from "./accelerator.ts"
import { runBatch, totalTokens, unbatchedTimeMs } from "./accelerator.ts"
import { Model, modelLayer } from "./model.ts"
import type { Completion, Prompt } from "./prompts.ts"
import { generatePrompts } from "./prompts.ts"

/** The size of the inference run. */
export interface InferenceOptions {
  readonly prompts: number
  /** Concurrent tasks; each submits its share of the prompts one after the other. */
  readonly tasks: number
  readonly accelerator: AcceleratorProfile
  /** How many prompts, spread over all of them, to run unbatched for real. */
  readonly unbatchedSample: number
  readonly progress: ProgressMode
}

/** The unbatched time of the same work: computed from the cost model, and measured on a sample. */
export interface UnbatchedEstimate {
  /** Every prompt alone, by the cost model: one launch per prompt. Not run. */
  readonly computedMs: number
  /** How many prompts were run one at a time on the accelerator. */
  readonly sampleSize: number
  readonly sampleMs: number
  /** The sample's measured time, scaled by the cost model from the sample to all prompts. */
  readonly extrapolatedMs: number
}

/** What the inference run measured. */
export interface InferenceResult {
  readonly prompts: number
  readonly tasks: number
  readonly tokens: number
  readonly accelerator: AcceleratorProfile
  /** Wall time from the first submit to the last completion. */
  readonly batchedMs: number
  /** Per prompt, from its submit to its completion. */
  readonly latency: LatencySummary
  /** Prompts that got back a completion of their own. */
  readonly completed: number
  /** The batcher's stats once every prompt completed. */
  readonly stats: BatchStats
  readonly unbatched: UnbatchedEstimate
}

/** Task `task` of `tasks` submits every `tasks`-th prompt from `task` on, recording completion and latency. */
const runTask = (
  task: number,
  tasks: number,
  prompts: ReadonlyArray<Prompt>,
  completions: Array<Completion | undefined>,
  latenciesMs: Float64Array
): Effect.Effect<void, BatcherError, Model> =>
  Effect.gen(function*() {
    for (let i = task; i < prompts.length; i += tasks) {
      const [elapsed, completion] = yield* Effect.timed(Batcher.submit(Model, prompts[i]))
      latenciesMs[i] = Duration.toMillis(elapsed)
      completions[i] = completion
    }
  })

/** Runs `sampleSize` prompts, spread evenly over `prompts`, one at a time, and scales their time to all. */
const measureUnbatched = (
  prompts: ReadonlyArray<Prompt>,
  accelerator: AcceleratorProfile,
  sampleSize: number
): Effect.Effect<UnbatchedEstimate> =>
  Effect.gen(function*() {
    const size = Math.min(sampleSize, prompts.length)
    const sample = Array.from({ length: size }, (_, j) => prompts[Math.floor((j * prompts.length) / size)])
    const [elapsed] = yield* Effect.timed(
      Effect.forEach(sample, (prompt) => runBatch(accelerator)([prompt]), { discard: true })
    )
    const computedMs = unbatchedTimeMs(accelerator, prompts)
    const sampleMs = Duration.toMillis(elapsed)
    return {
      computedMs,
      sampleSize: size,
      sampleMs,
      extrapolatedMs: size === 0 ? 0 : (sampleMs * computedMs) / unbatchedTimeMs(accelerator, sample)
    }
  })

/**
 * Runs the inference part: `tasks` concurrent tasks submit `prompts` prompts
 * through the `Model` batcher, then a sample runs unbatched. Fails with a
 * `VerificationError` unless every prompt got its own completion.
 */
export const runInference = (
  options: InferenceOptions
): Effect.Effect<InferenceResult, BatcherError | BatcherConfigError | VerificationError> =>
  Effect.gen(function*() {
    const prompts = generatePrompts(options.prompts)
    const completions = new Array<Completion | undefined>(prompts.length)
    const latenciesMs = new Float64Array(prompts.length)
    const model = yield* Model
    const tasks = Array.from({ length: options.tasks }, (_, task) => task)
    const [elapsed] = yield* Effect.timed(
      Effect.forEach(tasks, (task) => runTask(task, options.tasks, prompts, completions, latenciesMs), {
        concurrency: "unbounded",
        discard: true
      }).pipe(withProgress(options.progress, {
        label: "inference",
        unit: "prompts",
        total: prompts.length,
        read: Effect.map(model.stats, (stats) => ({
          done: stats.totalCompleted,
          detail: `${formatCount(stats.totalBatches)} batches, ${formatPercent(stats.utilization)} busy`
        }))
      }))
    )
    const stats = yield* model.stats
    const completed = prompts.filter((prompt, i) => completions[i]?.promptId === prompt.id).length
    yield* verify(completed === prompts.length, `only ${completed} of ${prompts.length} prompts got their completion`)
    return {
      prompts: prompts.length,
      tasks: options.tasks,
      tokens: totalTokens(prompts),
      accelerator: options.accelerator,
      batchedMs: Duration.toMillis(elapsed),
      latency: summarizeLatencies(latenciesMs),
      completed,
      stats,
      unbatched: yield* measureUnbatched(prompts, options.accelerator, options.unbatchedSample)
    }
  }).pipe(Effect.provide(modelLayer(options.accelerator)))
