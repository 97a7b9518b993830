/**
 * `pnpm serve`: starts the embedding service and serves until SIGTERM or
 * SIGINT, then drains (requests in flight complete, new ones get 503) and
 * stops.
 */
import { Console, Deferred, Effect, Exit } from "effect"
import { runMain, withUsage } from "effect-dynamic-batcher-demo/cli"
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
}).pipe(withUsage(usage))

await runMain(main)
