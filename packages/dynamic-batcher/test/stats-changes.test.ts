/**
 * `statsChanges` misses no batch: a subscriber sees every batch that settles
 * after its first snapshot, the final one at shutdown included, however slowly
 * it pulls.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { gated, settle } from "./utils.ts"

/** A subscriber that takes a second (on the TestClock) over its first snapshot. */
const slowly = <A>(stream: Stream.Stream<A>) => {
  let first = true
  return Stream.tap(stream, () => {
    if (!first) return Effect.void
    first = false
    return Effect.sleep("1 second")
  })
}

describe("statsChanges", () => {
  it.effect("a batch that settles while the subscriber handles its first snapshot is seen", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        maxBatchSize: 2
      })
      const seen = yield* Effect.forkChild(Stream.runCollect(slowly(batcher.statsChanges).pipe(Stream.take(2))))
      yield* settle // the subscriber has its first snapshot and sleeps over it
      yield* batcher.submitAll([1, 2])
      yield* TestClock.adjust("10 seconds")
      const snapshots = yield* Fiber.join(seen)
      assert.deepStrictEqual(snapshots.map((stats) => stats.totalCompleted), [0, 2])
    }))

  it.effect("the final batch at shutdown reaches a subscriber still busy with its first snapshot", () =>
    Effect.gen(function*() {
      const gate = gated((n: number) => n)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 2 })
      const seen = yield* Effect.forkChild(Stream.runCollect(slowly(batcher.statsChanges)))
      yield* settle
      const results = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* settle
      // The batch settles, and the batcher stops, while the subscriber sleeps.
      const stopped = yield* Effect.forkChild(batcher.shutdown)
      yield* gate.open
      yield* Fiber.join(results)
      yield* Fiber.join(stopped)
      yield* TestClock.adjust("10 seconds")
      const snapshots = yield* Fiber.join(seen)
      assert.strictEqual(snapshots[0].totalCompleted, 0)
      assert.strictEqual(snapshots[snapshots.length - 1].totalCompleted, 2, "the last snapshot holds the final batch")
    }))

  it.effect("a subscriber that comes after shutdown gets the final stats and ends", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch),
        maxBatchSize: 3
      })
      yield* batcher.submitAll([1, 2, 3])
      yield* batcher.shutdown
      const snapshots = yield* Stream.runCollect(batcher.statsChanges)
      assert.deepStrictEqual(snapshots.map((stats) => stats.totalCompleted), [3])
    }))
})
