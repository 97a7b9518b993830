/**
 * Validation of batcher options: every numeric knob is checked with a Schema,
 * and a failure names the option and what it must be.
 */
import { Duration, Effect, Schema } from "effect"
import type { Tuning as Knobs } from "../Batcher.ts"
import { BatcherConfigError } from "../BatcherError.ts"

/** How a batch is dispatched to `process`; see `Batcher.Options.dispatch`. */
export type DispatchPolicy = "full" | "idle"

/** The tuning knobs of a batcher, as the user may give them (documented on `Batcher.Options`). */
export type TuningInput = Knobs

/** The knobs after validation, with defaults applied and durations in milliseconds. */
export interface Tuning {
  readonly targetBatchCost: number
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
  name: "default"
} as const

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
  { option: "defaultCost", schema: NonNegativeFinite, expected: "a finite number >= 0" },
  { option: "dispatch", schema: Dispatch, expected: `"full" or "idle"` },
  { option: "name", schema: Schema.NonEmptyString, expected: "a non-empty string" }
]

const millisOf = (input: unknown): number => {
  // Duration reads NaN as zero, so a plain number is taken as given.
  if (typeof input === "number") return input
  const duration = Duration.fromInput(input as Duration.Input)
  return duration._tag === "Some" ? Duration.toMillis(duration.value) : Number.NaN
}

const durationMillis = (
  option: "batchTimeout" | "shutdownTimeout",
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
  let shutdownTimeoutMs: number | undefined
  if (input.shutdownTimeout !== undefined) {
    const millis = durationMillis("shutdownTimeout", input.shutdownTimeout)
    if (typeof millis !== "number") return millis
    shutdownTimeoutMs = millis
  }
  return {
    targetBatchCost: input.targetBatchCost ?? defaults.targetBatchCost,
    maxBatchSize,
    minBatchSize,
    batchTimeoutMs,
    maxQueueSize: input.maxQueueSize ?? defaults.maxQueueSize,
    prefetchBatches: input.prefetchBatches ?? defaults.prefetchBatches,
    defaultCost: input.defaultCost ?? defaults.defaultCost,
    dispatch: input.dispatch ?? defaults.dispatch,
    name: input.name ?? defaults.name,
    shutdownTimeoutMs
  }
}

/** {@link validateTuningUnsafe} as an Effect that fails with `BatcherConfigError`. */
export const validateTuning = (input: TuningInput): Effect.Effect<Tuning, BatcherConfigError> =>
  Effect.suspend(() => {
    const tuning = validateTuningUnsafe(input)
    return tuning instanceof BatcherConfigError ? Effect.fail(tuning) : Effect.succeed(tuning)
  })
