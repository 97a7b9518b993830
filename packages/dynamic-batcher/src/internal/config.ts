/**
 * Reading the tuning knobs through Effect `Config`: one optional variable per
 * knob (`MAX_BATCH_SIZE`, …) under a prefix (`BATCHER`), converted to the
 * option's type and then validated by the same rules as `make`.
 */
import { Config, Option } from "effect"
import { BatcherConfigError } from "../BatcherError.ts"
import type { TuningInput } from "./options.ts"

/** The variable of each knob, below the prefix. */
export const variables = {
  targetBatchCost: "TARGET_BATCH_COST",
  maxBatchSize: "MAX_BATCH_SIZE",
  minBatchSize: "MIN_BATCH_SIZE",
  batchTimeout: "BATCH_TIMEOUT",
  maxQueueSize: "MAX_QUEUE_SIZE",
  prefetchBatches: "PREFETCH_BATCHES",
  defaultCost: "DEFAULT_COST",
  dispatch: "DISPATCH",
  maxConcurrentBatches: "MAX_CONCURRENT_BATCHES",
  maxQueueDelay: "MAX_QUEUE_DELAY",
  priorityAging: "PRIORITY_AGING",
  shutdownTimeout: "SHUTDOWN_TIMEOUT",
  name: "NAME"
} as const satisfies Record<keyof TuningInput, string>

type Knob = keyof typeof variables

const numericKnobs: ReadonlySet<Knob> = new Set([
  "targetBatchCost",
  "maxBatchSize",
  "minBatchSize",
  "maxQueueSize",
  "prefetchBatches",
  "defaultCost",
  "batchTimeout",
  "shutdownTimeout",
  "maxConcurrentBatches",
  "maxQueueDelay",
  "priorityAging"
])

const numberLiteral = /^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/

/**
 * A plain number stays a number (milliseconds for durations), anything else
 * stays the string it was, so that validation shows what was given.
 */
const convert = (knob: Knob, raw: string): unknown =>
  numericKnobs.has(knob) && numberLiteral.test(raw) ? Number(raw) : raw

/** The prefix each config made by `tuningConfig` reads under, to name variables in errors. */
const prefixes = new WeakMap<Config.Config<TuningInput>, string>()

/** A `Config` of the tuning knobs, each read from `${prefix}_${VARIABLE}` when set. */
export const tuningConfig = (prefix: string): Config.Config<TuningInput> => {
  const knobs = Object.keys(variables) as Array<Knob>
  const fields = Object.fromEntries(knobs.map((knob) => [knob, Config.option(Config.String(variables[knob]))]))
  const config = Config.all(fields as Record<Knob, Config.Config<Option.Option<string>>>).pipe(
    Config.map((read) => {
      const input: Record<string, unknown> = {}
      for (const knob of knobs) {
        const value = read[knob]
        if (Option.isSome(value)) input[knob] = convert(knob, value.value)
      }
      return input as TuningInput
    }),
    Config.nested(prefix)
  )
  prefixes.set(config, prefix)
  return config
}

/** Adds the variable a knob was read from to an error about it, when the config is one of ours. */
export const nameVariable = (config: Config.Config<TuningInput>, error: BatcherConfigError): BatcherConfigError => {
  const prefix = prefixes.get(config)
  const variable = variables[error.option as Knob]
  return prefix === undefined || variable === undefined
    ? error
    : new BatcherConfigError({
      option: error.option,
      expected: error.expected,
      actual: error.actual,
      variable: `${prefix}_${variable}`
    })
}
