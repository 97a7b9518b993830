/**
 * `pnpm serve`: starts the embedding service and serves until SIGTERM or
 * SIGINT, then drains (requests in flight complete, new ones get 503) and
 * stops.
 */
import { Cause, Console, Deferred, Effect, Exit } from "effect"
import { parseServeArgs, usage } from "./options.ts"
import { start } from "./service.ts"

const main = Effect.gen(function*() {
  const options = yield* parseServeArgs(process.argv.slice(2))
  if (options.help) return yield* Console.log(usage)
  const stop = yield* Deferred.make<string>()
  const onSignal = (signal: string) => () => Deferred.doneUnsafe(stop, Exit.succeed(signal))
  process.once("SIGTERM", onSignal("SIGTERM"))
  process.once("SIGINT", onSignal("SIGINT"))
  yield* Effect.scoped(Effect.gen(function*() {
    const service = yield* start(options)
    // The load driver and the tests read this line for the port.
    yield* Console.log(`listening on ${service.url}`)
    const signal = yield* Deferred.await(stop)
    yield* Console.log(`${signal}: draining`)
    yield* service.drain
  }))
  yield* Console.log("stopped")
}).pipe(
  Effect.catchTag("UsageError", (error) =>
    Effect.andThen(
      Console.error(`${error.message}\n\n${usage}`),
      Effect.sync(() => {
        process.exitCode = 2
      })
    ))
)

const exit = await Effect.runPromiseExit(main)
if (Exit.isFailure(exit)) {
  console.error(Cause.pretty(exit.cause))
  process.exitCode = 1
}
