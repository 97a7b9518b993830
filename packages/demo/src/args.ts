/**
 * The demo's command line: flags for the sizes of each part, and `--help`.
 */
import { Effect } from "effect"
import { parseFlags, UsageError } from "./cli.ts"
import { VOCAB_SIZE } from "./model/tokenizer.ts"

/** Which part of the demo runs. */
export type Part = "inference" | "sqlite" | "all"

/** The demo's settings. */
export interface DemoArgs {
  readonly help: boolean
  readonly part: Part
  readonly texts: number
  readonly tasks: number
  /** An ONNX model file for the inference part; the generated model when absent. */
  readonly model: string | undefined
  readonly rows: number
  readonly producers: number
}

const defaults: DemoArgs = {
  help: false,
  part: "all",
  texts: 20_000,
  tasks: 500,
  model: undefined,
  rows: 100_000,
  producers: 1_000
}

/** The `--help` text. */
export const usage = `Usage: pnpm demo [-- options]

Runs effect-dynamic-batcher on two workloads and compares each with the same
work unbatched: (a) text embedding with a real model on onnxruntime (CPU),
each batched result checked against the same text run alone, (b) bulk writes
into an embedded SQLite database. No network.

Options:
  --part <inference|sqlite|all>  which part to run (default: ${defaults.part})
  --texts <n>                    texts to embed (default: ${defaults.texts})
  --tasks <n>                    concurrent tasks submitting texts (default: ${defaults.tasks})
  --model <path.onnx>            an ONNX model to run instead of the generated one: input
                                 int32/int64 token ids [batch, sequence] below ${VOCAB_SIZE}, 0 padding;
                                 output float32 [batch, d] (default: a model built at start)
  --rows <n>                     rows to write into SQLite (default: ${defaults.rows})
  --producers <n>                concurrent producers submitting rows (default: ${defaults.producers})
  -h, --help                     show this help`

const PARTS: ReadonlyArray<Part> = ["inference", "sqlite", "all"]

const positiveInteger = (
  flag: string,
  value: string | undefined,
  fallback: number
): Effect.Effect<number, UsageError> => {
  if (value === undefined) return Effect.succeed(fallback)
  const n = Number(value)
  return Number.isSafeInteger(n) && n > 0
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ message: `--${flag} must be a positive integer, got "${value}"` }))
}

const part = (value: string | undefined): Effect.Effect<Part, UsageError> => {
  if (value === undefined) return Effect.succeed(defaults.part)
  const found = PARTS.find((p) => p === value)
  return found === undefined
    ? Effect.fail(new UsageError({ message: `--part must be one of ${PARTS.join(", ")}, got "${value}"` }))
    : Effect.succeed(found)
}

/**
 * Reads the demo's settings from `argv` (without the node and script paths),
 * as `parseFlags` does.
 */
export const parseDemoArgs = (argv: ReadonlyArray<string>): Effect.Effect<DemoArgs, UsageError> =>
  Effect.gen(function*() {
    const values = yield* parseFlags(argv, {
      help: { type: "boolean", short: "h" },
      part: { type: "string" },
      texts: { type: "string" },
      model: { type: "string" },
      tasks: { type: "string" },
      rows: { type: "string" },
      producers: { type: "string" }
    })
    return {
      help: values.help ?? false,
      part: yield* part(values.part),
      texts: yield* positiveInteger("texts", values.texts, defaults.texts),
      model: values.model,
      tasks: yield* positiveInteger("tasks", values.tasks, defaults.tasks),
      rows: yield* positiveInteger("rows", values.rows, defaults.rows),
      producers: yield* positiveInteger("producers", values.producers, defaults.producers)
    }
  })
