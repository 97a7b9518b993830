/**
 * Validation of batcher options: every numeric knob is checked with a Schema,
 * and a failure names the option and what it must be.
 */
import { Duration, Effect, Schema } from "effect"
import type { CurrentTuning, Reconfiguration, Tuning as Knobs } from "../Batcher.ts"
import { BatcherConfigError } from "../BatcherError.ts"

/** How a batch is dispatched to `process`; see `Batcher.Options.dispatch`. */
export type DispatchPolicy = "full" | "idle"

/** The tuning knobs of a batcher, as the user may give them (documented on `Batcher.Options`). */
export type TuningInput = Knobs

/** The knobs after validation, with defaults applied and durations in milliseconds. */
export interface Tuning {
  readonly targetBatchCost: number
  readonly maxConcurrentBatches: number
  /** The longest a record may wait for `process`, in milliseconds; undefined: no limit. */
  readonly maxQueueDelayMs: number | undefined
  /** How long a record waits before it ranks above every priority level; infinite without aging. */
  readonly priorityAgingMs: number
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly batchTimeoutMs: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly defaultCost: number
  readonly dispatch: DispatchPolicy
  readonly shutdownTimeoutMs: number | undefined
  readonly name: string
}

/** The seed's defaults (flyte's `DynamicBatcher`), plus ours for `dispatch`. */
export const defaults = {
  targetBatchCost: 32_000,
  maxBatchSize: 256,
  minBatchSize: 1,
  batchTimeout: "50 millis",
  maxQueueSize: 5_000,
  prefetchBatches: 2,
  defaultCost: 1,
  dispatch: "full",
  maxConcurrentBatches: 1,
  name: "default"
} as const

/** The knobs `reconfigure` can change while the batcher runs. */
export type Reconfigurable = Reconfiguration

/** The names of the knobs `reconfigure` can change, to reject any other. */
export const reconfigurableKnobs: ReadonlyArray<keyof Reconfigurable> = [
  "maxBatchSize",
  "minBatchSize",
  "targetBatchCost",
  "batchTimeout",
  "dispatch",
  "maxConcurrentBatches",
  "maxQueueSize",
  "prefetchBatches",
  "maxQueueDelay",
  "priorityAging"
]

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const PositiveFinite = Schema.Finite.check(Schema.isGreaterThan(0))
const NonNegativeFinite = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Dispatch = Schema.Literals(["full", "idle"])

interface Rule {
  readonly option: keyof TuningInput
  readonly schema: Schema.Schema<any>
  readonly expected: string
}

const rules: ReadonlyArray<Rule> = [
  { option: "targetBatchCost", schema: PositiveFinite, expected: "a finite number > 0" },
  { option: "maxBatchSize", schema: PositiveInt, expected: "an integer >= 1" },
  { option: "minBatchSize", schema: PositiveInt, expected: "an integer >= 1" },
  { option: "maxQueueSize", schema: PositiveInt, expected: "an integer >= 1" },
  { option: "prefetchBatches", schema: PositiveInt, expected: "an integer >= 1" },
  { option: "maxConcurrentBatches", schema: PositiveInt, expected: "an integer >= 1" },
  { option: "defaultCost", schema: NonNegativeFinite, expected: "a finite number >= 0" },
  { option: "dispatch", schema: Dispatch, expected: `"full" or "idle"` },
  { option: "name", schema: Schema.NonEmptyString, expected: "a non-empty string" }
]

/** A `Duration.Input` in milliseconds, NaN when it is not one (a plain number is milliseconds). */
export const millisOf = (input: unknown): number => {
  // Duration reads NaN as zero, so a plain number is taken as given.
  if (typeof input === "number") return input
  try {
    const duration = Duration.fromInput(input as Duration.Input)
    return duration._tag === "Some" ? Duration.toMillis(duration.value) : Number.NaN
  } catch {
    return Number.NaN
  }
}

const durationMillis = (
  option: "batchTimeout" | "shutdownTimeout" | "maxQueueDelay" | "priorityAging",
  input: unknown
): number | BatcherConfigError => {
  const millis = millisOf(input)
  return Number.isFinite(millis) && millis >= 0
    ? millis
    : new BatcherConfigError({
      option,
      expected: `a finite, non-negative Duration.Input (e.g. "50 millis", 50, "2 seconds")`,
      actual: input
    })
}

/**
 * The first of the record functions (`costEstimator`, `groupBy`) that is
 * given but is not a function, as a `BatcherConfigError`.
 */
export const checkRecordFunctions = (
  options: { readonly costEstimator?: unknown; readonly groupBy?: unknown }
): BatcherConfigError | undefined => {
  for (
    const [option, expected] of [
      ["costEstimator", "a function (record) => number"],
      ["groupBy", "a function (record) => string | number"]
    ] as const
  ) {
    const value = options[option]
    if (value !== undefined && typeof value !== "function") {
      return new BatcherConfigError({ option, expected, actual: value })
    }
  }
  return undefined
}

/** Adaptive batching's target, checked: milliseconds and the percentile. */
export interface AdaptiveTarget {
  readonly targetMs: number
  readonly percentile: number
}

/**
 * The `adaptive` and `admission` options, checked: the adaptive target
 * (undefined without it) and whether admission is predictive, or the first
 * reason they are invalid.
 */
export const learningOf = (
  options: { readonly adaptive?: unknown; readonly admission?: unknown }
): { readonly adaptive: AdaptiveTarget | undefined; readonly predictive: boolean } | BatcherConfigError => {
  const { adaptive, admission } = options
  if (admission !== undefined && admission !== "predictive") {
    return new BatcherConfigError({ option: "admission", expected: `"predictive" or undefined`, actual: admission })
  }
  const predictive = admission === "predictive"
  if (adaptive === undefined) return { adaptive: undefined, predictive }
  if (typeof adaptive !== "object" || adaptive === null) {
    return new BatcherConfigError({
      option: "adaptive",
      expected: "an object { targetLatency, percentile? }",
      actual: adaptive
    })
  }
  const { percentile = 0.99, targetLatency } = adaptive as { targetLatency?: unknown; percentile?: unknown }
  const targetMs = millisOf(targetLatency)
  if (!(Number.isFinite(targetMs) && targetMs > 0)) {
    return new BatcherConfigError({
      option: "adaptive.targetLatency",
      expected: `a finite Duration.Input > 0 (e.g. "50 millis", 50)`,
      actual: targetLatency
    })
  }
  if (typeof percentile !== "number" || !(percentile > 0 && percentile < 1)) {
    return new BatcherConfigError({
      option: "adaptive.percentile",
      expected: "a number between 0 and 1, both excluded (0.99 for p99)",
      actual: percentile
    })
  }
  return { adaptive: { targetMs, percentile }, predictive }
}

/**
 * Validates the knobs and applies the defaults, synchronously: the error
 * names the first invalid option.
 */
export const validateTuningUnsafe = (input: TuningInput): Tuning | BatcherConfigError => {
  for (const rule of rules) {
    const value = input[rule.option]
    if (value !== undefined && !Schema.is(rule.schema)(value)) {
      return new BatcherConfigError({ option: rule.option, expected: rule.expected, actual: value })
    }
  }
  const maxBatchSize = input.maxBatchSize ?? defaults.maxBatchSize
  const minBatchSize = input.minBatchSize ?? defaults.minBatchSize
  if (minBatchSize > maxBatchSize) {
    return new BatcherConfigError({
      option: "minBatchSize",
      expected: `an integer <= maxBatchSize (${maxBatchSize})`,
      actual: minBatchSize
    })
  }
  const batchTimeoutMs = durationMillis("batchTimeout", input.batchTimeout ?? defaults.batchTimeout)
  if (typeof batchTimeoutMs !== "number") return batchTimeoutMs
  const shutdownTimeoutMs = optionalMillis("shutdownTimeout", input.shutdownTimeout)
  if (shutdownTimeoutMs instanceof BatcherConfigError) return shutdownTimeoutMs
  const maxQueueDelayMs = optionalMillis("maxQueueDelay", input.maxQueueDelay)
  if (maxQueueDelayMs instanceof BatcherConfigError) return maxQueueDelayMs
  const priorityAgingMs = optionalMillis("priorityAging", input.priorityAging)
  if (priorityAgingMs instanceof BatcherConfigError) return priorityAgingMs
  return {
    targetBatchCost: input.targetBatchCost ?? defaults.targetBatchCost,
    maxBatchSize,
    minBatchSize,
    batchTimeoutMs,
    maxQueueSize: input.maxQueueSize ?? defaults.maxQueueSize,
    prefetchBatches: input.prefetchBatches ?? defaults.prefetchBatches,
    defaultCost: input.defaultCost ?? defaults.defaultCost,
    dispatch: input.dispatch ?? defaults.dispatch,
    maxConcurrentBatches: input.maxConcurrentBatches ?? defaults.maxConcurrentBatches,
    maxQueueDelayMs,
    priorityAgingMs: priorityAgingMs ?? Number.POSITIVE_INFINITY,
    name: input.name ?? defaults.name,
    shutdownTimeoutMs
  }
}

const optionalMillis = (
  option: "shutdownTimeout" | "maxQueueDelay" | "priorityAging",
  input: unknown
): number | undefined | BatcherConfigError => input === undefined ? undefined : durationMillis(option, input)

/** The knobs as `tuning` reports them: the option names, durations in milliseconds. */
export const knobsOf = (tuning: Tuning): CurrentTuning => ({
  maxBatchSize: tuning.maxBatchSize,
  minBatchSize: tuning.minBatchSize,
  targetBatchCost: tuning.targetBatchCost,
  batchTimeout: tuning.batchTimeoutMs,
  dispatch: tuning.dispatch,
  maxConcurrentBatches: tuning.maxConcurrentBatches,
  maxQueueSize: tuning.maxQueueSize,
  prefetchBatches: tuning.prefetchBatches,
  maxQueueDelay: tuning.maxQueueDelayMs,
  priorityAging: tuning.priorityAgingMs === Number.POSITIVE_INFINITY ? undefined : tuning.priorityAgingMs
})

/**
 * The tuning after `patch`, validated together with the current values (so
 * `minBatchSize` is checked against the `maxBatchSize` in force), or the
 * first reason it is invalid. Knobs other than the reconfigurable ones are
 * rejected.
 */
export const reconfigured = (current: Tuning, patch: Reconfigurable): Tuning | BatcherConfigError => {
  if (typeof patch !== "object" || patch === null) {
    return new BatcherConfigError({ option: "reconfigure", expected: "an object of knobs", actual: patch })
  }
  const given: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(patch)) {
    // An undefined knob keeps its value; only the two optional durations can be cleared.
    if (value !== undefined || key === "maxQueueDelay" || key === "priorityAging") given[key] = value
    if (!(reconfigurableKnobs as ReadonlyArray<string>).includes(key)) {
      return new BatcherConfigError({
        option: key,
        expected: `one of the knobs reconfigure can change (${reconfigurableKnobs.join(", ")})`,
        actual: (patch as Record<string, unknown>)[key]
      })
    }
  }
  const merged: TuningInput = {
    ...knobsOf(current),
    defaultCost: current.defaultCost,
    name: current.name,
    shutdownTimeout: current.shutdownTimeoutMs,
    ...given
  }
  return validateTuningUnsafe(merged)
}

/** {@link validateTuningUnsafe} as an Effect that fails with `BatcherConfigError`. */
export const validateTuning = (input: TuningInput): Effect.Effect<Tuning, BatcherConfigError> =>
  Effect.suspend(() => {
    const tuning = validateTuningUnsafe(input)
    return tuning instanceof BatcherConfigError ? Effect.fail(tuning) : Effect.succeed(tuning)
  })
