/**
 * Deadlines: a per-submit `timeout` and the option `maxQueueDelay` (the
 * effective deadline is the earlier of both). A record not handed to
 * `process` before its deadline fails with `DeadlineExceededError` exactly at
 * it, never reaches `process`, and frees its room; a producer still waiting
 * for room at its deadline fails the same way with nothing enqueued.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import { Batcher, DeadlineExceededError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { errorOf, isDone, settle, statsProblems } from "../support/harness.ts"
import { fullQueue } from "../utils.ts"
import { releasedAtEnd, slots } from "./support.ts"

const double = (n: number) => n * 2

/** The fiber's DeadlineExceededError, failing the test if it ended any other way. */
const deadlineOf = <A, E>(fiber: Fiber.Fiber<A, E>): DeadlineExceededError => {
  const exit = fiber.pollUnsafe()
  assert.isDefined(exit, "the producer has its result")
  const error = errorOf(exit!)
  assert.instanceOf(error, DeadlineExceededError, `expected DeadlineExceededError, got ${String(exit)}`)
  return error as DeadlineExceededError
}

/** A batcher whose one slot is held by the batch [0], so later records wait. */
const busyBatcher = (options: {
  readonly maxQueueDelay?: Duration.Input
  readonly maxBatchSize?: number
  readonly maxConcurrentBatches?: number
}) =>
  Effect.gen(function*() {
    const gate = slots(double)
    const batcher = yield* Batcher.make({
      process: gate.process,
      batchTimeout: 0,
      maxBatchSize: options.maxBatchSize ?? 8,
      maxConcurrentBatches: options.maxConcurrentBatches ?? 1,
      ...(options.maxQueueDelay === undefined ? {} : { maxQueueDelay: options.maxQueueDelay })
    })
    yield* releasedAtEnd(gate)
    // one submit per slot, each settled before the next, so that each is a batch of its own
    const held = yield* Effect.forEach(
      Array.from({ length: options.maxConcurrentBatches ?? 1 }, (_, i) => i),
      () => Effect.tap(Effect.forkChild(batcher.submit(0)), () => settle())
    )
    assert.strictEqual(gate.state.active, options.maxConcurrentBatches ?? 1, "every slot is busy")
    return { gate, batcher, held }
  })

describe("deadlines", () => {
  it.effect("a record not handed to process by its timeout fails exactly at its deadline", () =>
    Effect.gen(function*() {
      const { batcher, gate } = yield* busyBatcher({})
      const late = yield* Effect.forkChild(batcher.submit(7, { timeout: 10 }))
      yield* settle()
      yield* TestClock.adjust(9)
      yield* settle()
      assert.isFalse(isDone(late), "t=9: still pending")
      yield* TestClock.adjust(1)
      yield* settle()
      const error = deadlineOf(late)
      assert.strictEqual(error._tag, "DeadlineExceededError")
      assert.strictEqual(error.waitedMillis, 10)
      assert.strictEqual(error.timeoutMillis, 10)
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalExpired, 1)
      assert.strictEqual(stats.totalFailed, 1)
      assert.strictEqual(stats.totalCompleted, 1)
      assert.strictEqual(stats.queueSize, 0, "it freed its room")
      assert.deepStrictEqual(statsProblems(stats, stats.inFlightRecords), [])
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[0]], "an expired record never reaches process")
    }))

  it.effect("timeout accepts a Duration.Input", () =>
    Effect.gen(function*() {
      const { batcher } = yield* busyBatcher({})
      const late = yield* Effect.forkChild(batcher.submit(7, { timeout: "2 seconds" }))
      yield* TestClock.adjust(1999)
      assert.isFalse(isDone(late))
      yield* TestClock.adjust(1)
      yield* settle()
      assert.strictEqual(deadlineOf(late).timeoutMillis, 2000)
    }))

  it.effect("expires also while every one of several slots is busy", () =>
    Effect.gen(function*() {
      const { batcher, gate } = yield* busyBatcher({ maxConcurrentBatches: 3 })
      const late = yield* Effect.forkChild(batcher.submit(7, { timeout: 5 }))
      yield* TestClock.adjust(4)
      assert.isFalse(isDone(late))
      yield* TestClock.adjust(1)
      yield* settle()
      assert.strictEqual(deadlineOf(late).waitedMillis, 5)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[0], [0], [0]])
    }))

  it.effect("a record handed to process before its deadline gets its result however long process takes", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: 0 })
      yield* releasedAtEnd(gate)
      const fiber = yield* Effect.forkChild(batcher.submit(4, { timeout: 5 }))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[4]])
      yield* TestClock.adjust(100)
      assert.isFalse(isDone(fiber), "in process: the deadline no longer applies")
      yield* gate.open(0)
      assert.strictEqual(yield* Fiber.join(fiber), 8)
      assert.strictEqual((yield* batcher.stats).totalExpired, 0)
    }))

  it.effect("maxQueueDelay applies to every record; a per-submit timeout may only shorten it", () =>
    Effect.gen(function*() {
      const { batcher, gate } = yield* busyBatcher({ maxQueueDelay: "20 millis" })
      const plain = yield* Effect.forkChild(batcher.submit(1))
      const shorter = yield* Effect.forkChild(batcher.submit(2, { timeout: 5 }))
      const longer = yield* Effect.forkChild(batcher.submit(3, { timeout: 50 }))
      yield* TestClock.adjust(4)
      assert.isFalse(isDone(shorter))
      yield* TestClock.adjust(1)
      yield* settle()
      assert.deepStrictEqual(
        [deadlineOf(shorter).waitedMillis, deadlineOf(shorter).timeoutMillis],
        [5, 5]
      )
      yield* TestClock.adjust(14)
      assert.isFalse(isDone(plain))
      assert.isFalse(isDone(longer))
      yield* TestClock.adjust(1)
      yield* settle()
      assert.strictEqual(deadlineOf(plain).timeoutMillis, 20)
      assert.strictEqual(deadlineOf(longer).timeoutMillis, 20, "min(50, maxQueueDelay 20)")
      assert.strictEqual((yield* batcher.stats).totalExpired, 3)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[0]])
    }))

  it.effect("an expired record frees its room in the open batch", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, maxBatchSize: 2, batchTimeout: "1 hour" })
      const late = yield* Effect.forkChild(batcher.submit(1, { timeout: 5 }))
      yield* TestClock.adjust(5)
      yield* settle()
      assert.strictEqual(deadlineOf(late).waitedMillis, 5)
      const rest = yield* Effect.forkChild(batcher.submitAll([2, 3]))
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[2, 3]], "full at once: the expired record left the open batch")
      assert.deepStrictEqual(yield* Fiber.join(rest), [4, 6])
      assert.strictEqual(gate.calls[0].info.size, 2)
    }))

  it.effect("expired records free their room in the queue: a waiting producer is admitted at that moment", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxQueueSize: 1,
        maxBatchSize: 1,
        prefetchBatches: 1
      })
      yield* releasedAtEnd(gate)
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      const doomed = yield* Effect.forEach([2, 3, 4], (n) => Effect.forkChild(batcher.submit(n, { timeout: 5 })))
      yield* settle()
      const waiting = yield* Effect.forkChild(batcher.offer(5))
      yield* settle()
      assert.isFalse(isDone(waiting), "no room: the producer waits")
      yield* TestClock.adjust(4)
      yield* settle()
      assert.isFalse(isDone(waiting))
      yield* TestClock.adjust(1)
      yield* settle()
      for (const fiber of doomed) assert.strictEqual(deadlineOf(fiber).timeoutMillis, 5)
      assert.isTrue(isDone(waiting), "admitted as soon as the expired records left")
      const deferred = yield* Fiber.join(waiting)
      yield* gate.release
      assert.strictEqual(yield* Fiber.join(first), 2)
      assert.strictEqual(yield* Deferred.await(deferred), 10)
      assert.deepStrictEqual(gate.batches(), [[1], [5]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalExpired, 3)
      assert.deepStrictEqual(statsProblems(stats), [])
    }))

  it.effect("a record queued behind a full open batch and a full handoff fails exactly at its deadline", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxQueueSize: 2,
        maxBatchSize: 1,
        prefetchBatches: 1
      })
      yield* releasedAtEnd(gate)
      // 1 in process, 2 in the handoff, 3 in the open batch (full, nowhere to go), 4 queued
      const accepted = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4]))
      yield* settle()
      const late = yield* Effect.forkChild(batcher.submit(5, { timeout: 5 }))
      yield* settle()
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 5, "5 was accepted into the queue")
      yield* TestClock.adjust(4)
      yield* settle()
      assert.isFalse(isDone(late))
      yield* TestClock.adjust(1)
      yield* settle()
      assert.isTrue(isDone(late), "t=5: its deadline, though nothing else wakes the batcher then")
      assert.deepStrictEqual([deadlineOf(late).waitedMillis, deadlineOf(late).timeoutMillis], [5, 5])
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8])
      assert.deepStrictEqual(gate.batches(), [[1], [2], [3], [4]])
    }))

  it.effect("room freed by an expired record goes to the producers already waiting, not to a newcomer", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxQueueSize: 2,
        maxBatchSize: 1,
        prefetchBatches: 1
      })
      yield* releasedAtEnd(gate)
      // 1 in process, 2 in the handoff, 3 in the open batch, 4 (deadline t=5) and 5 queued
      const early = yield* Effect.forEach(
        [1, 2, 3],
        (n) => Effect.tap(Effect.forkChild(batcher.submit(n)), () => settle())
      )
      const doomed = yield* Effect.forkChild(batcher.submit(4, { timeout: 5 }))
      const queued = yield* Effect.forkChild(batcher.submit(5))
      yield* settle()
      const waiting = yield* Effect.forkChild(batcher.submitAll([6, 7]))
      yield* settle()
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 5, "6 and 7 wait for room")
      yield* TestClock.adjust(5)
      const newcomer = yield* Effect.forkChild(batcher.submit(8))
      yield* settle()
      assert.instanceOf(errorOf(doomed.pollUnsafe()!), DeadlineExceededError)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(early), [2, 4, 6])
      assert.strictEqual(yield* Fiber.join(queued), 10)
      assert.deepStrictEqual(yield* Fiber.join(waiting), [12, 14])
      assert.strictEqual(yield* Fiber.join(newcomer), 16)
      assert.deepStrictEqual(gate.batches().flat(), [1, 2, 3, 5, 6, 7, 8], "FIFO: the waiting 6 and 7 before 8")
    }))

  it.effect("a producer still waiting for room at its deadline fails the same way, nothing enqueued", () =>
    Effect.gen(function*() {
      const { accepted, batcher, gate } = yield* fullQueue(double)
      yield* releasedAtEnd(gate)
      const submitted = (yield* batcher.stats).totalSubmitted
      const blocked = yield* Effect.forkChild(batcher.submit(5, { timeout: 10 }))
      yield* TestClock.adjust(9)
      yield* settle()
      assert.isFalse(isDone(blocked))
      yield* TestClock.adjust(1)
      yield* settle()
      const error = deadlineOf(blocked)
      assert.deepStrictEqual([error.waitedMillis, error.timeoutMillis], [10, 10])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, submitted, "nothing enqueued")
      assert.deepStrictEqual(statsProblems(stats, stats.inFlightRecords), [])
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(accepted), [2, 4, 6, 8])
      assert.deepStrictEqual(gate.batches, [[1], [2], [3], [4]])
    }))

  it.effect("offer with a timeout: the Deferred fails at the deadline", () =>
    Effect.gen(function*() {
      const { batcher } = yield* busyBatcher({})
      const deferred = yield* batcher.offer(9, { timeout: 3 })
      yield* TestClock.adjust(2)
      assert.isTrue((yield* Deferred.poll(deferred))._tag === "None")
      yield* TestClock.adjust(1)
      yield* settle()
      const exit = yield* Effect.exit(Deferred.await(deferred))
      assert.instanceOf(errorOf(exit), DeadlineExceededError)
    }))

  it.effect("submitAll and offerAll apply the timeout to every record of the call", () =>
    Effect.gen(function*() {
      const { batcher, gate } = yield* busyBatcher({})
      const all = yield* Effect.forkChild(batcher.submitAll([1, 2, 3], { timeout: 4 }))
      const deferreds = yield* batcher.offerAll([4, 5], { timeout: 6 })
      yield* TestClock.adjust(4)
      yield* settle()
      assert.instanceOf(errorOf(all.pollUnsafe()!), DeadlineExceededError)
      assert.isTrue((yield* Deferred.poll(deferreds[0]))._tag === "None", "offerAll's records wait until t=6")
      yield* TestClock.adjust(2)
      yield* settle()
      for (const deferred of deferreds) {
        const exit = yield* Effect.exit(Deferred.await(deferred))
        assert.isTrue(Exit.isFailure(exit))
        assert.instanceOf(errorOf(exit), DeadlineExceededError)
      }
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalExpired, 5)
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(gate.batches(), [[0]])
    }))

  it.effect("a sealed batch whose records all expired is skipped; the records after it go on", () =>
    Effect.gen(function*() {
      const { batcher, gate } = yield* busyBatcher({ maxBatchSize: 2 })
      const doomed = yield* Effect.forkChild(batcher.submitAll([1, 2], { timeout: 5 }))
      const kept = yield* Effect.forkChild(batcher.submitAll([3, 4]))
      yield* settle()
      yield* TestClock.adjust(5)
      yield* settle()
      assert.instanceOf(errorOf(doomed.pollUnsafe()!), DeadlineExceededError)
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(kept), [6, 8])
      assert.deepStrictEqual(gate.batches(), [[0], [3, 4]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalBatches, 2, "the emptied batch never counted")
      assert.strictEqual(stats.totalExpired, 2)
    }))

  it.effect("an expired first record does not delay the rest of its open batch past batchTimeout", () =>
    Effect.gen(function*() {
      const gate = slots(double)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: "10 millis" })
      const first = yield* Effect.forkChild(batcher.submit(1, { timeout: 3 }))
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust(3)
      yield* settle()
      assert.strictEqual(deadlineOf(first).waitedMillis, 3)
      yield* TestClock.adjust(6)
      assert.deepStrictEqual(gate.batches(), [])
      yield* TestClock.adjust(1)
      yield* settle()
      assert.deepStrictEqual(gate.calls.map((c) => [c.records, c.at]), [[[2], 10]], "2 was taken at t=0: due at t=10")
      assert.strictEqual(yield* Fiber.join(second), 4)
    }))

  it.effect("with keys, a record expires in its own key's open batch and leaves the others alone", () =>
    Effect.gen(function*() {
      const gate = slots((s: string) => s)
      yield* gate.release
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: (s: string) => s[0],
        batchTimeout: "10 millis"
      })
      const a = yield* Effect.forkChild(batcher.submit("a1", { timeout: 3 }))
      const b = yield* Effect.forkChild(batcher.submit("b1"))
      const a2 = yield* Effect.forkChild(batcher.submit("a2"))
      yield* TestClock.adjust(3)
      yield* settle()
      assert.strictEqual(deadlineOf(a).waitedMillis, 3)
      yield* TestClock.adjust(7)
      yield* settle()
      assert.deepStrictEqual(
        gate.batches().map((batch) => batch.join()).sort(),
        ["a2", "b1"],
        "t=10: a2 was taken at t=0, so its batch is due at t=10 like b's; a1's expiry does not restart the timeout"
      )
      assert.strictEqual(yield* Fiber.join(b), "b1")
      assert.strictEqual(yield* Fiber.join(a2), "a2")
    }))
})
