/**
 * Small helpers shared by the reliability tests (property, faults, leaks)
 * and the Promise API's deadline tests.
 * Nothing here sleeps on the real clock.
 */
import { vi } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber } from "effect"
import type { BatchStats } from "effect-dynamic-batcher"

/** Yields to the scheduler until `done()` holds; dies after `max` turns (a hang, not a flake). */
export const waitUntil = (label: string, done: () => boolean, max = 10_000): Effect.Effect<void> =>
  Effect.suspend(() => {
    let turns = 0
    const step: Effect.Effect<void> = Effect.suspend(() => {
      if (done()) return Effect.void
      if (++turns > max) return Effect.die(new Error(`waitUntil(${label}): still false after ${max} scheduler turns`))
      return Effect.andThen(Effect.yieldNow, step)
    })
    return step
  })

/** Lets every runnable fiber run for a while (a fixed number of scheduler turns). */
export const settle = (turns = 50): Effect.Effect<void> =>
  Effect.suspend(() => {
    let effect: Effect.Effect<void> = Effect.void
    for (let i = 0; i < turns; i++) effect = Effect.andThen(effect, Effect.yieldNow)
    return effect
  })

/** True once the fiber has exited. */
export const isDone = (fiber: Fiber.Fiber<unknown, unknown>): boolean => fiber.pollUnsafe() !== undefined

/** The exit of a fiber that must already be done. */
export const exitOf = <A, E>(fiber: Fiber.Fiber<A, E>): Exit.Exit<A, E> => {
  const exit = fiber.pollUnsafe()
  if (exit === undefined) throw new Error("the fiber is still running")
  return exit
}

/** A gate that `process` can wait on: closed until `open`. */
export interface Gate {
  readonly wait: Effect.Effect<void>
  readonly open: Effect.Effect<void>
}

export const makeGate = (): Gate => {
  const deferred = Deferred.makeUnsafe<void>()
  return { wait: Deferred.await(deferred), open: Effect.asVoid(Deferred.succeed(deferred, undefined)) }
}

/** The typed error of a failed exit, if any. */
export const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findError(exit.cause)
  return found._tag === "Success" ? found.success : undefined
}

/** The defect of a failed exit, if any. */
export const defectOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findDefect(exit.cause)
  return found._tag === "Success" ? found.success : undefined
}

/** The `_tag` of the typed error of a failed exit, if any. */
export const errorTag = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  const error = errorOf(exit) as { _tag?: unknown } | undefined
  return typeof error?._tag === "string" ? error._tag : undefined
}

/**
 * The accounting identity of `BatchStats` with nothing in flight:
 * submitted = completed + withdrawn + queueSize, and failed <= completed.
 */
export const statsProblems = (stats: BatchStats, inFlight = 0): Array<string> => {
  const problems: Array<string> = []
  const sum = stats.totalCompleted + stats.totalWithdrawn + stats.queueSize + inFlight
  if (stats.totalSubmitted !== sum) {
    problems.push(
      `submitted ${stats.totalSubmitted} != completed ${stats.totalCompleted} + withdrawn ${stats.totalWithdrawn} + queueSize ${stats.queueSize} + inFlight ${inFlight}`
    )
  }
  if (stats.totalFailed > stats.totalCompleted) {
    problems.push(`failed ${stats.totalFailed} > completed ${stats.totalCompleted}`)
  }
  return problems
}

/**
 * Runs `test` with vitest's fake clock (timers and `Date`, which Effect's
 * default Clock reads), so deadlines pass exactly when the test advances it.
 */
export const withFakeClock = async (test: () => Promise<void>): Promise<void> => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })
  try {
    await test()
  } finally {
    vi.useRealTimers()
  }
}
