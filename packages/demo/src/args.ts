/**
 * The demo's command line: flags for the sizes of each part, and `--help`.
 */
import { Data, Effect } from "effect"
import { parseArgs } from "node:util"

/** Which part of the demo runs. */
export type Part = "inference" | "sqlite" | "all"

/** The demo's settings. */
export interface DemoArgs {
  readonly help: boolean
  readonly part: Part
  readonly prompts: number
  readonly tasks: number
  readonly rows: number
  readonly producers: number
}

/** The command line could not be understood. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
}> {}

const defaults: DemoArgs = {
  help: false,
  part: "all",
  prompts: 20_000,
  tasks: 500,
  rows: 100_000,
  producers: 1_000
}

/** The `--help` text. */
export const usage = `Usage: pnpm demo [-- options]

Runs effect-dynamic-batcher on two workloads and compares each with the same
work unbatched: (a) LLM-style inference on a simulated accelerator, (b) bulk
writes into an embedded SQLite database. No network.

Options:
  --part <inference|sqlite|all>  which part to run (default: ${defaults.part})
  --prompts <n>                  prompts to run through the model (default: ${defaults.prompts})
  --tasks <n>                    concurrent tasks submitting prompts (default: ${defaults.tasks})
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
 * Reads the demo's settings from `argv` (without the node and script paths).
 * Leading `--` separators, as `pnpm demo -- --help` passes them, are skipped.
 */
export const parseDemoArgs = (argv: ReadonlyArray<string>): Effect.Effect<DemoArgs, UsageError> =>
  Effect.gen(function*() {
    const firstFlag = argv.findIndex((arg) => arg !== "--")
    const { values } = yield* Effect.try({
      try: () =>
        parseArgs({
          args: firstFlag === -1 ? [] : argv.slice(firstFlag),
          strict: true,
          allowPositionals: false,
          options: {
            help: { type: "boolean", short: "h" },
            part: { type: "string" },
            prompts: { type: "string" },
            tasks: { type: "string" },
            rows: { type: "string" },
            producers: { type: "string" }
          }
        }),
      catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
    })
    return {
      help: values.help ?? false,
      part: yield* part(values.part),
      prompts: yield* positiveInteger("prompts", values.prompts, defaults.prompts),
      tasks: yield* positiveInteger("tasks", values.tasks, defaults.tasks),
      rows: yield* positiveInteger("rows", values.rows, defaults.rows),
      producers: yield* positiveInteger("producers", values.producers, defaults.producers)
    }
  })
