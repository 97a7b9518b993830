/**
 * Running the model-based property tests: each case under its own TestClock
 * and scope, fast-check seeded so that a failure names the seed that replays it.
 */
import { Effect, type Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"

/** Runs one case's effect in a scope, under a TestClock. */
export const runEffect = <A>(effect: Effect.Effect<A, never, Scope.Scope>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.scoped, Effect.provide(TestClock.layer())))

/**
 * Asserts a property whose check returns the problems it found (none: it
 * holds), with `seed`; a failure says how to replay it with `file`.
 */
export const propertyAsserter = (seed: number, file: string) =>
async <T>(
  name: string,
  arb: fc.Arbitrary<T>,
  check: (value: T) => Promise<Array<string>>,
  runs: number,
  /** Stop at the first failure instead of shrinking it (for cases that are slow to fail). */
  endOnFailure = false
): Promise<void> => {
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (value) => {
        const problems = await check(value)
        if (problems.length > 0) throw new Error(problems.slice(0, 10).join("\n"))
      }),
      { numRuns: runs, seed, endOnFailure, maxSkipsPerRun: 0 }
    )
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `\n${error.cause.message}` : ""
    const message = (error instanceof Error ? error.message : String(error)) + cause
    throw new Error(
      `${name} failed with PROPERTY_SEED=${seed} (replay: PROPERTY_SEED=${seed} pnpm exec vitest run ${file})\n${message}`
    )
  }
}
