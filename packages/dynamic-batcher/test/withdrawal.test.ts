import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { fullQueue, gated, settle } from "./utils.ts"

const double = (n: number) => n * 2

describe("withdrawal", () => {
  it.effect("a producer interrupted while its record waits in the open batch withdraws it", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process })
      const kept = yield* Effect.forkChild(batcher.submit(1))
      const quitter = yield* Effect.forkChild(batcher.submit(2))
      yield* settle
      yield* Fiber.interrupt(quitter)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalWithdrawn, 1)
      assert.strictEqual(stats.queueSize, 1)
      yield* TestClock.adjust("50 millis")
      yield* gate.open
      assert.strictEqual(yield* Fiber.join(kept), 2)
      assert.deepStrictEqual(gate.batches, [[1]], "process never sees a withdrawn record")
    }))

  it.effect("a record withdrawn from the open batch makes room in it for the next one", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 3, batchTimeout: "1 second" })
      const busy = yield* Effect.forkChild(batcher.submitAll([10, 11, 12]))
      const first = yield* Effect.forkChild(batcher.submit(1))
      const quitter = yield* Effect.forkChild(batcher.submit(2))
      yield* settle
      // The processor goes idle: the aggregation step that follows takes 2 into the open batch too.
      yield* gate.open
      yield* settle
      yield* Fiber.interrupt(quitter)
      const rest = yield* Effect.forkChild(batcher.submitAll([3, 4]))
      yield* settle
      assert.deepStrictEqual(gate.batches, [[10, 11, 12], [1, 3, 4]], "full by size, with no time passed")
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.join(busy), [20, 22, 24])
      assert.strictEqual(yield* Fiber.join(first), 2)
      assert.deepStrictEqual(yield* Fiber.join(rest), [6, 8])
    }))

  it.effect("a producer interrupted while its record waits in a sealed batch or in the queue withdraws it", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 2, prefetchBatches: 1 })
      const inFlight = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* settle
      const sealed = yield* Effect.forkChild(batcher.submitAll([3, 4]))
      const open = yield* Effect.forkChild(batcher.submitAll([5, 6]))
      const queued = yield* Effect.forkChild(batcher.submitAll([7, 8]))
      yield* settle
      assert.deepStrictEqual(gate.batches, [[1, 2]])
      yield* Fiber.interrupt(sealed)
      yield* Fiber.interrupt(queued)
      assert.strictEqual((yield* batcher.stats).totalWithdrawn, 4)
      yield* gate.open
      yield* settle
      yield* gate.open
      assert.deepStrictEqual(yield* Fiber.join(inFlight), [2, 4])
      assert.deepStrictEqual(yield* Fiber.join(open), [10, 12])
      assert.deepStrictEqual(gate.batches, [[1, 2], [5, 6]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 8)
      assert.strictEqual(stats.totalCompleted, 4)
      assert.strictEqual(stats.queueSize, 0)
    }))

  it.effect("a sealed batch whose records were all withdrawn is skipped", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 1 })
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle
      const quitter = yield* Effect.forkChild(batcher.submit(2))
      const last = yield* Effect.forkChild(batcher.submit(3))
      yield* settle
      yield* Fiber.interrupt(quitter)
      yield* gate.open
      yield* settle
      yield* gate.open
      assert.deepStrictEqual([yield* Fiber.join(first), yield* Fiber.join(last)], [2, 6])
      assert.deepStrictEqual(gate.batches, [[1], [3]])
      assert.strictEqual((yield* batcher.stats).totalBatches, 2)
    }))

  it.effect("a producer interrupted during process only loses its own result", () =>
    Effect.gen(function*() {
      const gate = gated(double)
      const batcher = yield* Batcher.make({ process: gate.process })
      const quitter = yield* Effect.forkChild(batcher.submit(1))
      const kept = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(gate.batches, [[1, 2]])
      yield* Fiber.interrupt(quitter)
      yield* gate.open
      assert.strictEqual(yield* Fiber.join(kept), 4)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalWithdrawn, 0)
      assert.strictEqual(stats.totalCompleted, 2)
    }))

  it.effect("a producer interrupted by process itself, as process starts, only loses its own result", () =>
    Effect.gen(function*() {
      // The slot marks a batch's records in flight once process has started;
      // an interruption inside process, before that, must find them in flight too.
      const producers: Array<Fiber.Fiber<number, unknown>> = []
      const seen: Array<ReadonlyArray<number>> = []
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.gen(function*() {
            seen.push(batch)
            if (seen.length === 1) yield* Fiber.interrupt(producers[0])
            return batch.map(double)
          }),
        maxBatchSize: 2
      })
      producers.push(yield* Effect.forkChild(batcher.submit(1)), yield* Effect.forkChild(batcher.submit(2)))
      yield* settle
      assert.deepStrictEqual(seen, [[1, 2]])
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(producers[0])))
      assert.strictEqual(yield* Fiber.join(producers[1]), 4)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalWithdrawn, 0, "a record in process is not withdrawn")
      assert.strictEqual(stats.totalCompleted, 2)
      assert.strictEqual(stats.queueSize, 0)
    }))
  it.effect("a producer interrupted while suspended on a full queue is never accepted", () =>
    Effect.gen(function*() {
      const { accepted, batcher, drain, gate } = yield* fullQueue(double)
      const blocked = yield* Effect.forkChild(batcher.offer(5))
      yield* settle
      assert.isUndefined(blocked.pollUnsafe(), "the producer waits for room")
      yield* Fiber.interrupt(blocked)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 4)
      assert.strictEqual(stats.totalWithdrawn, 0)
      yield* drain
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8])
      assert.deepStrictEqual(gate.batches, [[1], [2], [3], [4]])
    }))

  it.effect("a record taken with offer stays in even when the offering fiber ends", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: (batch: ReadonlyArray<number>) => Effect.succeed(batch) })
      const deferred = yield* batcher.offer(7)
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(yield* Effect.exit(Deferred.await(deferred)), Exit.succeed(7))
    }))
})
