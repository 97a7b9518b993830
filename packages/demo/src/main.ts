/**
 * The demo's entry point: reads the command line, runs the chosen parts one
 * after the other and prints each part's report.
 *
 * Run it with `pnpm demo`, or `pnpm demo -- --help` for the options.
 */
import { Cause, Console, Duration, Effect, Exit, Fiber } from "effect"
import type { DemoArgs } from "./args.ts"
import { parseDemoArgs, usage } from "./args.ts"
import { withUsage } from "./cli.ts"
import { formatInferenceReport } from "./inference/report.ts"
import { runInference } from "./inference/run.ts"
import { progressModeFor } from "./progress.ts"
import { formatSqliteReport } from "./sqlite/report.ts"
import { runSqlite } from "./sqlite/run.ts"

/** How long the row-by-row SQLite baseline may run before it is extrapolated. */
const ROW_BY_ROW_BUDGET_MS = 1_500

const runParts = (args: DemoArgs) =>
  Effect.gen(function*() {
    const progress = progressModeFor(process.stdout)
    if (args.part !== "sqlite") {
      const inference = yield* runInference({
        texts: args.texts,
        tasks: args.tasks,
        modelPath: args.model,
        progress
      })
      yield* Console.log(`${formatInferenceReport(inference)}\n`)
    }
    if (args.part !== "inference") {
      const sqlite = yield* runSqlite({
        rows: args.rows,
        producers: args.producers,
        rowByRowBudgetMs: ROW_BY_ROW_BUDGET_MS,
        progress
      })
      yield* Console.log(`${formatSqliteReport(sqlite)}\n`)
    }
  })

const main = Effect.gen(function*() {
  const args = yield* parseDemoArgs(process.argv.slice(2))
  if (args.help) return yield* Console.log(usage)
  const [elapsed] = yield* Effect.timed(runParts(args))
  yield* Console.log(`Done in ${(Duration.toMillis(elapsed) / 1000).toFixed(1)} s.`)
}).pipe(withUsage(usage))

const fiber = Effect.runFork(main)
// Ctrl-C interrupts the run, so that its scopes close and the temp database is removed.
process.once("SIGINT", () => fiber.interruptUnsafe())
const exit = await Effect.runPromise(Fiber.await(fiber))
if (Exit.isFailure(exit)) {
  if (Cause.hasInterruptsOnly(exit.cause)) {
    console.error("\nInterrupted.")
    process.exitCode = 130
  } else {
    console.error(Cause.pretty(exit.cause))
    process.exitCode = 1
  }
}
