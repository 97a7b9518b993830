/**
 * The design relies on Effect resuming a parked fiber inline: the submit
 * that fills a batch wakes the parked aggregation loop, which seals the batch
 * and wakes the parked processing loop, which calls `process`, all inside
 * that submit's own call, with no turn of the scheduler in between. If a
 * release of `effect` started deferring resumptions to the scheduler, the
 * batcher would still be correct but pay a scheduler turn per wake-up; this
 * test fails then, so the change is noticed.
 *
 * The program runs on a scheduler that only queues tasks, run one at a time
 * by the test, which counts them.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Fiber } from "effect"
import { Effect, Exit, Scope } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import type { Scheduler } from "effect/Scheduler"

/** A scheduler whose tasks run only when `runNext` is called, counting every one. */
const makeManualScheduler = () => {
  const tasks: Array<() => void> = []
  const manual = {
    turns: 0,
    scheduler: {
      executionMode: "async",
      shouldYield: (fiber: Fiber.Fiber<unknown, unknown>) => fiber.currentOpCount >= 2048,
      makeDispatcher: () => ({
        scheduleTask: (task: () => void) => void tasks.push(task),
        flush: () => {
          while (manual.runNext()) {
            // run them all
          }
        }
      })
    } satisfies Scheduler,
    /** Runs the oldest queued task; false when none is queued. */
    runNext: (): boolean => {
      const task = tasks.shift()
      if (task === undefined) return false
      manual.turns++
      task()
      return true
    }
  }
  return manual
}

describe("inline resumption", () => {
  it("a burst of maxBatchSize submits has process called before any scheduler turn", () => {
    const manual = makeManualScheduler()
    const MAX = 8
    const calls: Array<ReadonlyArray<number>> = []
    const observed: { turnsBefore?: number; turnsAfter?: number; callsAfter?: number } = {}
    const program = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.sync(() => (calls.push([...batch]), batch)),
        maxBatchSize: MAX,
        batchTimeout: "1 hour"
      }).pipe(Scope.provide(scope))
      // A fresh op budget, so the burst itself never yields for fairness.
      yield* Effect.yieldNow
      observed.turnsBefore = manual.turns
      for (let i = 0; i < MAX; i++) yield* Effect.forkChild(batcher.submit(i), { startImmediately: true })
      observed.turnsAfter = manual.turns
      observed.callsAfter = calls.length
      yield* Scope.close(scope, Exit.void)
    })
    const fiber = Effect.runFork(program, { scheduler: manual.scheduler })
    for (let i = 0; i < 10_000 && fiber.pollUnsafe() === undefined; i++) {
      if (!manual.runNext()) break
    }
    assert.deepStrictEqual(fiber.pollUnsafe(), Exit.void, "the program ran to its end on the manual scheduler")
    assert.strictEqual(observed.turnsAfter, observed.turnsBefore, "no scheduler turn ran during the burst")
    assert.strictEqual(observed.callsAfter, 1, "the submit that filled the batch started process inline")
    assert.deepStrictEqual(calls, [[0, 1, 2, 3, 4, 5, 6, 7]])
  })
})
