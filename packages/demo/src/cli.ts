/**
 * What the command-line entry points of the demo, the service and the load
 * driver share: reading flags, and answering a bad command line with its
 * message, the usage and exit code 2.
 */
import { Cause, Console, Data, Effect, Exit } from "effect"
import type { ParseArgsOptionsConfig } from "node:util"
import { parseArgs } from "node:util"

/** The command line could not be understood. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
}> {}

/**
 * Reads `options` from `argv` (without the node and script paths), strictly:
 * an unknown flag or a positional fails with a `UsageError`. Leading `--`
 * separators, as `pnpm demo -- --help` passes them, are skipped.
 *
 * **Example**
 * ```ts
 * const values = yield* parseFlags(["--", "--rows", "42"], { rows: { type: "string" } }) // { rows: "42" }
 * ```
 */
export const parseFlags = <const O extends ParseArgsOptionsConfig>(argv: ReadonlyArray<string>, options: O) =>
  Effect.try({
    try: () => {
      const firstFlag = argv.findIndex((arg) => arg !== "--")
      return parseArgs({
        args: firstFlag === -1 ? [] : argv.slice(firstFlag),
        strict: true,
        allowPositionals: false,
        options
      }).values
    },
    catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
  })

/**
 * Answers a `UsageError` of `effect` with its message and `usage` on stderr,
 * and exit code 2.
 *
 * **Example**
 * ```ts
 * const main = program.pipe(withUsage(usage))
 * ```
 */
export const withUsage =
  (usage: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | void, Exclude<E, UsageError>, R> =>
    Effect.catch(effect, (error) =>
      error instanceof UsageError
        ? Effect.andThen(
          Console.error(`${error.message}\n\n${usage}`),
          Effect.sync(() => {
            process.exitCode = 2
          })
        )
        : Effect.fail(error as Exclude<E, UsageError>))

/**
 * Runs an entry point's `main` to its end; a failure or defect is printed
 * and sets exit code 1.
 *
 * **Example**
 * ```ts
 * await runMain(main)
 * ```
 */
export const runMain = async <A, E>(main: Effect.Effect<A, E>): Promise<void> => {
  const exit = await Effect.runPromiseExit(main)
  if (Exit.isFailure(exit)) {
    console.error(Cause.pretty(exit.cause))
    process.exitCode = 1
  }
}
