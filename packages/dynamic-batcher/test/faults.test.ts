/**
 * Fault-injection matrix: one test per cell. Every test runs under the
 * TestClock (`it.effect`); none sleeps on the real clock.
 *
 * Cells:
 * - `process` fails / dies / throws synchronously / interrupts itself /
 *   returns the wrong count / returns a non-array / never returns;
 * - the cost estimator throws / returns NaN, a string, a negative, Infinity;
 * - a producer is interrupted while suspended on a full queue, queued, in the
 *   open batch, in a sealed batch, during `process`;
 * - shutdown at each of those moments; the scope closed by a failure or an
 *   interruption; two shutdowns at once; shutdown from inside `process`;
 * - `shutdownTimeout`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber, Scheduler, Scope } from "effect"
import { Batcher, BatcherShutdownError, InvalidCostError, ResultCountMismatchError } from "effect-dynamic-batcher"
import type { BatcherError } from "effect-dynamic-batcher"
import type { BatchStats } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import {
  defectOf,
  errorOf,
  errorTag,
  exitOf,
  isDone,
  makeGate,
  settle,
  statsProblems,
  waitUntil
} from "./support/harness.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly batch: number }> {}

type Behave<E> = (batch: ReadonlyArray<number>, index: number) => Effect.Effect<ReadonlyArray<number>, E>

/** A `process` that records every batch it sees (before running `behave`, which may throw). */
const recorder = <E = never>(behave: Behave<E>) => {
  const batches: Array<Array<number>> = []
  const process = (batch: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<number>, E> => {
    const index = batches.length
    batches.push([...batch])
    return behave(batch, index)
  }
  return { batches, process }
}

const times10 = (batch: ReadonlyArray<number>) => Effect.succeed(batch.map((n) => n * 10))

const statsOf = <Rec, Res, E>(batcher: Batcher.Batcher<Rec, Res, E>): BatchStats => Effect.runSync(batcher.stats)

const assertStatsAddUp = (stats: BatchStats, inFlight = 0) => assert.deepStrictEqual(statsProblems(stats, inFlight), [])

const submitEach = <E>(batcher: Batcher.Batcher<number, number, E>, records: ReadonlyArray<number>) =>
  Effect.forEach(records, (n) => Effect.exit(batcher.submit(n)), { concurrency: "unbounded" })

// -----------------------------------------------------------------------------
// process faults
// -----------------------------------------------------------------------------

describe("faults: process", () => {
  /**
   * The first batch ([1, 2, 3], full at maxBatchSize 3) runs `first`; then a
   * second batch must still succeed (the loops survived), and the stats must
   * count 3 failed out of 5 completed.
   */
  const cell = <E>(
    name: string,
    first: (batch: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>, E>,
    check: (exits: ReadonlyArray<Exit.Exit<number, unknown>>) => void
  ) =>
    it.effect(name, () =>
      Effect.gen(function*() {
        const { batches, process } = recorder<E>((batch, index) => index === 0 ? first(batch) : times10(batch))
        const batcher = yield* Batcher.make({ process, maxBatchSize: 3, batchTimeout: "10 millis" })
        const firstExits = yield* submitEach(batcher, [1, 2, 3])
        assert.deepStrictEqual(batches, [[1, 2, 3]])
        check(firstExits)
        const second = yield* Effect.forkChild(batcher.submitAll([4, 5]))
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(second), [40, 50])
        assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5]])
        const stats = yield* batcher.stats
        assert.strictEqual(stats.totalSubmitted, 5)
        assert.strictEqual(stats.totalCompleted, 5)
        assert.strictEqual(stats.totalFailed, 3)
        assert.strictEqual(stats.totalBatches, 2)
        assertStatsAddUp(stats)
        assert.isTrue(yield* batcher.isRunning)
      }))

  cell(
    "process fails with E: every record of the batch fails with that E",
    () => Effect.fail(new Boom({ batch: 0 })),
    (exits) => {
      const errors = exits.map(errorOf)
      assert.instanceOf(errors[0], Boom)
      for (const error of errors) assert.strictEqual(error, errors[0])
    }
  )

  const defect = new Error("process died")

  cell("process dies: every record of the batch gets the defect", () => Effect.die(defect), (exits) => {
    for (const exit of exits) {
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(defectOf(exit), defect)
    }
  })

  cell("process throws synchronously: every record of the batch gets the thrown value as a defect", () => {
    throw defect
  }, (exits) => {
    for (const exit of exits) assert.strictEqual(defectOf(exit), defect)
  })

  cell(
    "process interrupts itself: every record of the batch fails with an interruption",
    () => Effect.interrupt,
    (exits) => {
      for (const exit of exits) {
        assert.isTrue(Exit.isFailure(exit))
        assert.isTrue(Exit.hasInterrupts(exit))
      }
    }
  )

  cell(
    "process returns too few results: every record fails with ResultCountMismatchError",
    () => Effect.succeed([1]),
    (exits) => {
      for (const exit of exits) {
        const error = errorOf(exit)
        assert.instanceOf(error, ResultCountMismatchError)
        assert.strictEqual((error as ResultCountMismatchError).expected, 3)
        assert.strictEqual((error as ResultCountMismatchError).actual, 1)
      }
    }
  )

  cell(
    "process returns too many results: every record fails with ResultCountMismatchError",
    () => Effect.succeed([1, 2, 3, 4]),
    (exits) => {
      for (const exit of exits) {
        const error = errorOf(exit)
        assert.instanceOf(error, ResultCountMismatchError)
        assert.strictEqual((error as ResultCountMismatchError).actual, 4)
      }
    }
  )

  for (
    const [label, value] of [["a string", "three results"], ["null", null], ["undefined", undefined], ["an object", {
      length: 3
    }]] as const
  ) {
    cell(
      `process returns a non-array (${label}): every record gets a TypeError defect`,
      () => Effect.succeed(value as unknown as ReadonlyArray<number>),
      (exits) => {
        for (const exit of exits) {
          assert.instanceOf(defectOf(exit), TypeError)
          assert.isUndefined(errorOf(exit))
        }
      }
    )
  }

  it.effect("process never returns: shutdownTimeout interrupts it and fails its records with BatcherShutdownError", () =>
    Effect.gen(function*() {
      let interrupted = 0
      const { batches, process } = recorder(() =>
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted++))
      )
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process,
        maxBatchSize: 2,
        batchTimeout: "1 hour",
        shutdownTimeout: "100 millis"
      })
        .pipe(Scope.provide(scope))
      const producers = yield* Effect.forkChild(submitEach(batcher, [1, 2, 3]))
      yield* waitUntil("first batch in process", () => batches.length === 1)
      const close = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle()
      assert.isFalse(isDone(close))
      yield* TestClock.adjust("99 millis")
      assert.isFalse(isDone(close))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(close)
      assert.strictEqual(interrupted, 1)
      assert.deepStrictEqual(batches, [[1, 2]])
      const exits = yield* Fiber.join(producers)
      for (const exit of exits) {
        const error = errorOf(exit)
        assert.instanceOf(error, BatcherShutdownError)
        assert.include((error as BatcherShutdownError).reason, "shutdownTimeout")
      }
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 3)
      assert.strictEqual(stats.totalCompleted, 3)
      assert.strictEqual(stats.totalFailed, 3)
      assert.strictEqual(stats.queueSize, 0)
      assertStatsAddUp(stats)
      assert.isFalse(yield* batcher.isRunning)
    }))
})

// -----------------------------------------------------------------------------
// stats are updated before results are delivered
// -----------------------------------------------------------------------------

describe("faults: stats before delivery", () => {
  it.effect("a producer that just got its result (success or failure) already sees its batch in the stats", () =>
    Effect.gen(function*() {
      const { process } = recorder((batch, index) =>
        index % 2 === 0 ? times10(batch) : Effect.fail(new Boom({ batch: index }))
      )
      const batcher = yield* Batcher.make({ process, maxBatchSize: 2, batchTimeout: "10 millis" })
      const seen = yield* Effect.forEach(
        [1, 2, 3, 4],
        (n) => Effect.flatMap(Effect.exit(batcher.submit(n)), () => batcher.stats),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(seen.map((s) => s.totalCompleted), [2, 2, 4, 4])
      assert.deepStrictEqual(seen.map((s) => s.totalFailed), [0, 0, 2, 2])
    }))
})

// -----------------------------------------------------------------------------
// cost faults
// -----------------------------------------------------------------------------

describe("faults: cost", () => {
  const badEstimates: ReadonlyArray<readonly [string, () => unknown]> = [
    ["throws", () => {
      throw new Error("estimator exploded")
    }],
    ["returns NaN", () => Number.NaN],
    ["returns a string", () => "12"],
    ["returns a negative", () => -1],
    ["returns Infinity", () => Number.POSITIVE_INFINITY],
    ["returns undefined", () => undefined]
  ]

  for (const [label, bad] of badEstimates) {
    it.effect(`costEstimator ${label}: InvalidCostError for that submit, nothing enqueued, the batcher goes on`, () =>
      Effect.gen(function*() {
        const { batches, process } = recorder(times10)
        const batcher = yield* Batcher.make({
          process,
          costEstimator: (n: number) => (n === 13 ? bad() : 1) as number,
          maxBatchSize: 4,
          batchTimeout: "10 millis"
        })
        for (
          const attempt of [
            batcher.submit(13),
            Effect.map(batcher.offer(13), () => 0),
            Effect.map(batcher.submitAll([1, 13, 2]), () => 0),
            Effect.map(batcher.offerAll([1, 2, 13]), () => 0)
          ]
        ) {
          const exit = yield* Effect.exit(attempt)
          const error = errorOf(exit)
          assert.instanceOf(error, InvalidCostError)
          assert.include((error as InvalidCostError).reason, "costEstimator")
        }
        assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
        const ok = yield* Effect.forkChild(batcher.submitAll([1, 2]))
        yield* TestClock.adjust("10 millis")
        assert.deepStrictEqual(yield* Fiber.join(ok), [10, 20])
        assert.deepStrictEqual(batches, [[1, 2]])
        const stats = yield* batcher.stats
        assert.strictEqual(stats.totalSubmitted, 2)
        assertStatsAddUp(stats)
      }))
  }

  it.effect("record.estimateCost() that throws: InvalidCostError, nothing enqueued", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<{ estimateCost(): number }>) => Effect.succeed(batch.map(() => 1))
      })
      const exit = yield* Effect.exit(batcher.submit({
        estimateCost: () => {
          throw new Error("no idea")
        }
      }))
      assert.strictEqual(errorTag(exit), "InvalidCostError")
      assert.include((errorOf(exit) as InvalidCostError).reason, "estimateCost")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
    }))

  for (
    const [label, cost] of [["negative", -1], ["NaN", Number.NaN], ["Infinity", Number.POSITIVE_INFINITY], [
      "a string",
      "1"
    ]] as const
  ) {
    it.effect(`explicit cost ${label}: InvalidCostError, nothing enqueued`, () =>
      Effect.gen(function*() {
        const batcher = yield* Batcher.make({ process: times10 })
        const one = yield* Effect.exit(batcher.submit(1, { cost: cost as number }))
        const all = yield* Effect.exit(batcher.submitAll([1, 2], { costs: [1, cost as number] }))
        assert.strictEqual(errorTag(one), "InvalidCostError")
        assert.strictEqual(errorTag(all), "InvalidCostError")
        assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
      }))
  }

  it.effect("costs of the wrong length: InvalidCostError, nothing enqueued", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: times10 })
      const exit = yield* Effect.exit(batcher.submitAll([1, 2, 3], { costs: [1, 1] }))
      assert.strictEqual(errorTag(exit), "InvalidCostError")
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
    }))

  it.effect("cost precedence: explicit > costEstimator > record.estimateCost() > defaultCost", () =>
    Effect.gen(function*() {
      type Rec = { readonly id: number; readonly estimateCost?: () => number }
      const costOf = (options: { costEstimator?: (r: Rec) => number }, rec: Rec, explicit?: number) =>
        Effect.gen(function*() {
          const batcher = yield* Batcher.make({
            process: (batch: ReadonlyArray<Rec>) => Effect.succeed(batch.map((r) => r.id)),
            defaultCost: 2,
            batchTimeout: 0,
            ...options
          })
          yield* batcher.submit(rec, explicit === undefined ? undefined : { cost: explicit })
          return (yield* batcher.stats).totalBatchCost
        }).pipe(Effect.scoped)
      const withMethod: Rec = { id: 1, estimateCost: () => 5 }
      const plain: Rec = { id: 2 }
      const estimator = { costEstimator: () => 7 }
      assert.strictEqual(yield* costOf(estimator, withMethod, 11), 11)
      assert.strictEqual(yield* costOf(estimator, withMethod), 7)
      assert.strictEqual(yield* costOf({}, withMethod), 5)
      assert.strictEqual(yield* costOf({}, plain), 2)
      assert.strictEqual(yield* costOf({}, plain, 0), 0)
    }))
})

// -----------------------------------------------------------------------------
// producer interruptions and shutdown at every place a record can be
// -----------------------------------------------------------------------------

/**
 * A pipeline with one record in every place (maxBatchSize 1, prefetchBatches 1,
 * maxQueueSize 1, `process` blocked on a gate for the first batch):
 *   1 in process, 2 in the sealed batch, 3 in the open batch, 4 queued,
 *   5 suspended on the full queue.
 */
const fullPipeline = Effect.gen(function*() {
  const gate = makeGate()
  const { batches, process } = recorder((batch, index) =>
    index === 0 ? Effect.andThen(gate.wait, times10(batch)) : times10(batch)
  )
  const batcher = yield* Batcher.make({
    process,
    maxBatchSize: 1,
    prefetchBatches: 1,
    maxQueueSize: 1,
    batchTimeout: "1 hour"
  })
  const producers: Array<Fiber.Fiber<number, unknown>> = []
  for (const n of [1, 2, 3, 4, 5]) {
    producers.push(yield* Effect.forkChild(batcher.submit(n)))
    yield* settle()
  }
  assert.deepStrictEqual(batches, [[1]], "only 1 is in process")
  const stats = statsOf(batcher)
  assert.strictEqual(stats.totalSubmitted, 4, "1..4 accepted, 5 waits for room")
  assert.strictEqual(stats.queueSize, 3, "2, 3 and 4 accepted and not yet in process")
  assertStatsAddUp(stats, 1)
  for (const producer of producers) assert.isFalse(isDone(producer))
  return { batcher, batches, gate, producers }
})

describe("faults: producer interrupted", () => {
  const places = [
    ["in process (its result is dropped, the others are untouched)", 1],
    ["in a sealed batch (withdrawn: process never sees it)", 2],
    ["in the open batch (withdrawn)", 3],
    ["while queued (withdrawn)", 4],
    ["while suspended on a full queue (never accepted)", 5]
  ] as const
  for (const [label, victim] of places) {
    it.effect(`producer interrupted ${label}`, () =>
      Effect.gen(function*() {
        const { batcher, batches, gate, producers } = yield* fullPipeline
        yield* Fiber.interrupt(producers[victim - 1])
        yield* gate.open
        const others = producers.filter((_, i) => i !== victim - 1)
        const results = yield* Fiber.joinAll(others)
        assert.deepStrictEqual(results, [1, 2, 3, 4, 5].filter((n) => n !== victim).map((n) => n * 10))
        const seen = batches.flat()
        assert.deepStrictEqual(seen, [1, 2, 3, 4, 5].filter((n) => n !== victim || victim === 1))
        const stats = yield* batcher.stats
        assert.strictEqual(stats.totalSubmitted, victim === 5 ? 4 : 5)
        assert.strictEqual(stats.totalWithdrawn, victim === 1 || victim === 5 ? 0 : 1)
        assert.strictEqual(stats.totalCompleted, victim === 1 ? 5 : 4)
        assert.strictEqual(stats.totalFailed, 0)
        assert.strictEqual(stats.queueSize, 0)
        assertStatsAddUp(stats)
        assert.isTrue(Exit.hasInterrupts(exitOf(producers[victim - 1])))
      }))
  }

  it.effect("a sealed batch whose every record was withdrawn never reaches process", () =>
    Effect.gen(function*() {
      const { batcher, batches, gate, producers } = yield* fullPipeline
      yield* Fiber.interrupt(producers[1])
      yield* gate.open
      yield* Fiber.joinAll([producers[0], producers[2], producers[3], producers[4]])
      assert.deepStrictEqual(batches, [[1], [3], [4], [5]])
      assert.strictEqual((yield* batcher.stats).totalBatches, 4)
    }))

  for (const api of ["offerAll", "submitAll"] as const) {
    it.effect(`${api} interrupted while waiting for room withdraws the records it already had accepted`, () =>
      Effect.gen(function*() {
        const gate = makeGate()
        const { batches, process } = recorder((batch, index) =>
          index === 0 ? Effect.andThen(gate.wait, times10(batch)) : times10(batch)
        )
        const batcher = yield* Batcher.make({
          process,
          maxBatchSize: 1,
          prefetchBatches: 1,
          maxQueueSize: 2,
          batchTimeout: "1 hour"
        })
        const first = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
        yield* waitUntil("1 in process", () => batches.length === 1)
        // 2 sealed, 3 open; the queue takes 10 and 11, then 12 and 13 wait for room
        const waiting = yield* Effect.forkChild(
          api === "offerAll"
            ? Effect.asVoid(batcher.offerAll([10, 11, 12, 13]))
            : Effect.asVoid(batcher.submitAll([10, 11, 12, 13]))
        )
        yield* settle()
        assert.strictEqual((yield* batcher.stats).totalSubmitted, 5)
        assert.isFalse(isDone(waiting))
        yield* Fiber.interrupt(waiting)
        yield* gate.open
        assert.deepStrictEqual(yield* Fiber.join(first), [10, 20, 30])
        const tail = yield* Effect.forkChild(batcher.submit(4))
        assert.strictEqual(yield* Fiber.join(tail), 40)
        assert.deepStrictEqual(batches, [[1], [2], [3], [4]])
        const stats = yield* batcher.stats
        assert.strictEqual(stats.totalWithdrawn, 2, "10 and 11 were accepted, then withdrawn")
        assertStatsAddUp(stats)
      }))
  }

  it.effect("an interrupted submitAll withdraws its records that did not reach process", () =>
    Effect.gen(function*() {
      const gate = makeGate()
      const { batches, process } = recorder((batch, index) =>
        index === 0 ? Effect.andThen(gate.wait, times10(batch)) : times10(batch)
      )
      const batcher = yield* Batcher.make({ process, maxBatchSize: 2, batchTimeout: "1 hour" })
      const all = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5]))
      yield* waitUntil("first batch in process", () => batches.length === 1)
      yield* Fiber.interrupt(all)
      yield* gate.open
      const tail = yield* Effect.forkChild(batcher.submitAll([6, 7]))
      yield* Fiber.join(tail)
      assert.deepStrictEqual(batches, [[1, 2], [6, 7]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalWithdrawn, 3)
      assert.strictEqual(stats.totalCompleted, 4)
      assertStatsAddUp(stats)
    }))
})

describe("faults: shutdown", () => {
  it.effect("shutdown with a record in every place: the waiting producer fails, every accepted record is processed, no timeout waited", () =>
    Effect.gen(function*() {
      const { batcher, batches, gate, producers } = yield* fullPipeline
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* settle()
      assert.isFalse(yield* batcher.isRunning)
      const waiting = exitOf(producers[4])
      assert.instanceOf(errorOf(waiting), BatcherShutdownError)
      const late = yield* Effect.exit(batcher.submit(6))
      assert.instanceOf(errorOf(late), BatcherShutdownError)
      assert.isFalse(isDone(shutdown), "shutdown waits for the batch in process")
      yield* gate.open
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual(yield* Fiber.joinAll(producers.slice(0, 4)), [10, 20, 30, 40])
      assert.deepStrictEqual(batches, [[1], [2], [3], [4]])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 4)
      assert.strictEqual(stats.totalCompleted, 4)
      assert.strictEqual(stats.queueSize, 0)
      assertStatsAddUp(stats)
    }))

  it.effect("shutdown while the only record is in process waits for it and delivers its result", () =>
    Effect.gen(function*() {
      const gate = makeGate()
      const { batches, process } = recorder((batch) => Effect.andThen(gate.wait, times10(batch)))
      const batcher = yield* Batcher.make({ process, batchTimeout: 0 })
      const producer = yield* Effect.forkChild(batcher.submit(1))
      yield* waitUntil("1 in process", () => batches.length === 1)
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* settle()
      assert.isFalse(isDone(shutdown), "shutdown waits for the batch in process")
      assert.isFalse(yield* batcher.isRunning)
      yield* gate.open
      yield* Fiber.join(shutdown)
      assert.strictEqual(yield* Fiber.join(producer), 10)
    }))

  it.effect("shutdown while a record waits in a sealed batch processes it after the running one", () =>
    Effect.gen(function*() {
      const gate = makeGate()
      const { batches, process } = recorder((batch, index) =>
        index === 0 ? Effect.andThen(gate.wait, times10(batch)) : times10(batch)
      )
      const batcher = yield* Batcher.make({ process, maxBatchSize: 1, prefetchBatches: 1, batchTimeout: 0 })
      const first = yield* Effect.forkChild(batcher.submit(1))
      yield* waitUntil("1 in process", () => batches.length === 1)
      const second = yield* Effect.forkChild(batcher.submit(2))
      yield* settle()
      assert.strictEqual((yield* batcher.stats).queueSize, 1, "2 is sealed, waiting for the processor")
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* settle()
      yield* gate.open
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual([yield* Fiber.join(first), yield* Fiber.join(second)], [10, 20])
      assert.deepStrictEqual(batches, [[1], [2]])
    }))

  it.effect("shutdown while records are only queued and in the open batch processes them at once", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      const batcher = yield* Batcher.make({ process, maxBatchSize: 100, batchTimeout: "1 hour" })
      const producers = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* settle()
      assert.deepStrictEqual(batches, [])
      yield* batcher.shutdown
      assert.isTrue(isDone(producers))
      assert.deepStrictEqual(yield* Fiber.join(producers), [10, 20, 30])
      assert.deepStrictEqual(batches, [[1, 2, 3]])
    }))

  it.effect("shutdown while process runs a slow batch waits for it and delivers its results", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder((batch) => Effect.andThen(Effect.sleep("30 millis"), times10(batch)))
      const batcher = yield* Batcher.make({ process, maxBatchSize: 2, batchTimeout: 0 })
      const producers = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* waitUntil("first batch in process", () => batches.length === 1)
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("29 millis")
      assert.isFalse(isDone(shutdown))
      yield* TestClock.adjust("31 millis")
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual(yield* Fiber.join(producers), [10, 20, 30])
    }))

  it.effect("a submit, offer, submitAll or offerAll after shutdown fails with BatcherShutdownError (never hangs)", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({ process: times10, maxQueueSize: 1 })
      yield* batcher.shutdown
      assert.isFalse(yield* batcher.isRunning)
      for (
        const attempt of [
          batcher.submit(1),
          Effect.map(batcher.offer(1), () => 0),
          Effect.map(batcher.submitAll([1, 2, 3]), () => 0),
          Effect.map(batcher.offerAll([1, 2, 3]), () => 0)
        ]
      ) {
        assert.instanceOf(errorOf(yield* Effect.exit(attempt)), BatcherShutdownError)
      }
      assert.strictEqual((yield* batcher.stats).totalSubmitted, 0)
    }))

  it.effect("the scope closed by a failure of the program processes every accepted record", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      let deferreds: ReadonlyArray<Deferred.Deferred<number, BatcherError>> = []
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const batcher = yield* Batcher.make({ process, maxBatchSize: 2, batchTimeout: "1 hour" })
        deferreds = yield* batcher.offerAll([1, 2, 3])
        return yield* Effect.fail("the program failed")
      })))
      assert.strictEqual(errorOf(exit), "the program failed")
      assert.deepStrictEqual(batches, [[1, 2], [3]])
      for (const d of deferreds) assert.isTrue(Deferred.isDoneUnsafe(d))
      assert.deepStrictEqual(yield* Effect.forEach(deferreds, Deferred.await), [10, 20, 30])
    }))

  it.effect("the scope closed by an interruption of the program processes every accepted record", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      let deferreds: ReadonlyArray<Deferred.Deferred<number, BatcherError>> = []
      const program = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const batcher = yield* Batcher.make({ process, maxBatchSize: 2, batchTimeout: "1 hour" })
        deferreds = yield* batcher.offerAll([1, 2, 3])
        return yield* Effect.never
      })))
      yield* waitUntil("records offered", () => deferreds.length === 3)
      yield* Fiber.interrupt(program)
      assert.deepStrictEqual(batches, [[1, 2], [3]])
      assert.deepStrictEqual(yield* Effect.forEach(deferreds, Deferred.await), [10, 20, 30])
    }))

  it.effect("a scope closed while a producer waits on a full queue fails that producer with BatcherShutdownError", () =>
    Effect.gen(function*() {
      const gate = makeGate()
      const { process } = recorder((batch) => Effect.andThen(gate.wait, times10(batch)))
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process,
        maxBatchSize: 1,
        prefetchBatches: 1,
        maxQueueSize: 1,
        batchTimeout: 0
      })
        .pipe(Scope.provide(scope))
      const producers = yield* Effect.forkChild(submitEach(batcher, [1, 2, 3, 4, 5, 6]))
      yield* settle()
      const close = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle()
      yield* gate.open
      yield* Fiber.join(close)
      const exits = yield* Fiber.join(producers)
      const tags = exits.map((exit) => Exit.isSuccess(exit) ? "ok" : errorTag(exit))
      assert.deepStrictEqual(tags, ["ok", "ok", "ok", "ok", "BatcherShutdownError", "BatcherShutdownError"])
    }))

  it.effect("two shutdowns at once both return once every result was delivered", () =>
    Effect.gen(function*() {
      const { batcher, gate, producers } = yield* fullPipeline
      const first = yield* Effect.forkChild(batcher.shutdown)
      const second = yield* Effect.forkChild(batcher.shutdown)
      yield* settle()
      assert.isFalse(isDone(first))
      assert.isFalse(isDone(second))
      yield* gate.open
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      for (const producer of producers) assert.isTrue(isDone(producer))
      assert.deepStrictEqual(yield* Fiber.joinAll(producers.slice(0, 4)), [10, 20, 30, 40])
      yield* batcher.shutdown
      assertStatsAddUp(yield* batcher.stats)
    }))

  it.effect("shutdown called from inside process starts the shutdown and returns (no deadlock)", () =>
    Effect.gen(function*() {
      const ref: { batcher?: Batcher.Batcher<number, number> } = {}
      let returned = false
      const { batches, process } = recorder((batch, index) =>
        index === 0
          ? Effect.andThen(
            ref.batcher!.shutdown,
            Effect.sync(() => {
              returned = true
              return batch.map((n) => n * 10)
            })
          )
          : times10(batch)
      )
      const batcher = yield* Batcher.make({ process, maxBatchSize: 1, batchTimeout: "1 hour" })
      ref.batcher = batcher
      // one call, so all three are accepted before the first batch can reach process
      const deferreds = yield* batcher.offerAll([1, 2, 3])
      const results = yield* Effect.forEach(deferreds, (d) => Effect.exit(Deferred.await(d)))
      assert.isTrue(returned)
      assert.deepStrictEqual(results.map((exit) => Exit.isSuccess(exit) ? exit.value : errorTag(exit)), [10, 20, 30])
      assert.deepStrictEqual(batches, [[1], [2], [3]])
      assert.isFalse(yield* batcher.isRunning)
      assert.instanceOf(errorOf(yield* Effect.exit(batcher.submit(4))), BatcherShutdownError)
      yield* batcher.shutdown
    }))
})

// -----------------------------------------------------------------------------
// shutdownTimeout
// -----------------------------------------------------------------------------

describe("shutdownTimeout", () => {
  it.effect("expiry interrupts process and fails every undelivered record, wherever it is, with BatcherShutdownError", () =>
    Effect.gen(function*() {
      let interrupted = false
      const gate = makeGate()
      const { batches, process } = recorder((batch) =>
        Effect.andThen(gate.wait, times10(batch)).pipe(Effect.onInterrupt(() =>
          Effect.sync(() => {
            interrupted = true
          })
        ))
      )
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process,
        maxBatchSize: 1,
        prefetchBatches: 1,
        maxQueueSize: 1,
        batchTimeout: "1 hour",
        shutdownTimeout: "1 second"
      }).pipe(Scope.provide(scope))
      const producers: Array<Fiber.Fiber<number, unknown>> = []
      for (const n of [1, 2, 3, 4, 5]) {
        producers.push(yield* Effect.forkChild(batcher.submit(n)))
        yield* settle()
      }
      const close = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("999 millis")
      assert.isFalse(isDone(close))
      assert.isFalse(interrupted)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(close)
      assert.isTrue(interrupted)
      assert.deepStrictEqual(batches, [[1]])
      for (const producer of producers) {
        const exit = yield* Fiber.await(producer)
        const error = errorOf(exit)
        assert.instanceOf(error, BatcherShutdownError)
      }
      for (const producer of producers.slice(0, 4)) {
        const error = errorOf(exitOf(producer)) as BatcherShutdownError
        assert.include(error.reason, "shutdownTimeout")
      }
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalSubmitted, 4)
      assert.strictEqual(stats.totalCompleted, 4)
      assert.strictEqual(stats.totalFailed, 4)
      assert.strictEqual(stats.queueSize, 0)
      assertStatsAddUp(stats)
      yield* batcher.shutdown
    }))

  it.effect("closing the scope returns even with process: () => Effect.never", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process: (_: ReadonlyArray<number>) => Effect.never,
        batchTimeout: 0,
        shutdownTimeout: "5 seconds"
      }).pipe(Scope.provide(scope))
      const producer = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      const close = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(close)
      assert.instanceOf(errorOf(yield* Fiber.await(producer)), BatcherShutdownError)
    }))

  it.effect("work that finishes before the timeout is delivered normally", () =>
    Effect.gen(function*() {
      const { process } = recorder((batch) => Effect.andThen(Effect.sleep("100 millis"), times10(batch)))
      const batcher = yield* Batcher.make({
        process,
        maxBatchSize: 2,
        batchTimeout: "1 hour",
        shutdownTimeout: "1 second"
      })
      const producers = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* settle()
      const shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(shutdown)
      assert.deepStrictEqual(yield* Fiber.join(producers), [10, 20, 30])
      const stats = yield* batcher.stats
      assert.strictEqual(stats.totalFailed, 0)
    }))

  it.effect("two shutdowns waiting on the same timeout both return after it", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (_: ReadonlyArray<number>) => Effect.never,
        batchTimeout: 0,
        shutdownTimeout: "1 second"
      })
      const producer = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      const first = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("500 millis")
      const second = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(first)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(second)
      assert.instanceOf(errorOf(yield* Fiber.await(producer)), BatcherShutdownError)
    }))
})

// Regression test for BUG-2 (found by the greedy-packing property, fixed in b2e107c).
describe("faults: a tiny queue does not cut batches short (BUG-2)", () => {
  it.effect("a producer waiting for room keeps filling the open batch before its timeout (BUG-2)", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      const batcher = yield* Batcher.make({
        process,
        maxQueueSize: 1,
        maxBatchSize: 4,
        targetBatchCost: 3,
        prefetchBatches: 1,
        batchTimeout: "1 millis"
      })
      const deferreds = yield* Effect.forkChild(batcher.offerAll([0, 1, 2, 3], { costs: [1, 0, 1, 1] }))
      yield* settle()
      // the batch is full (cost 3) with all four records: it must go now, before its 1 ms timeout
      assert.deepStrictEqual(batches, [[0, 1, 2, 3]])
      assert.isTrue(isDone(deferreds))
    }))
})

// Regression test for BUG-1 (found by this suite, fixed in 4be9298).
describe("faults: interruption at every scheduler yield point (BUG-1)", () => {
  /**
   * The producer yields to the scheduler every few operations
   * (MaxOpsBeforeYield 3); the test interrupts it after k turns, for every k.
   * Whatever k, a producer that ended interrupted must not have its record
   * processed: either it was never accepted or it was withdrawn.
   */
  for (const api of ["submit", "submitAll"] as const) {
    it.effect(`interruption at every yield point of ${api} withdraws the record (BUG-1)`, () =>
      Effect.gen(function*() {
        const leaks: Array<string> = []
        for (let ops = 3; ops <= 8; ops++) {
          for (let k = 0; k < 40; k++) {
            const seen: Array<number> = []
            yield* Effect.scoped(Effect.gen(function*() {
              const batcher = yield* Batcher.make({
                process: (batch: ReadonlyArray<number>) =>
                  Effect.sync(() => {
                    seen.push(...batch)
                    return batch
                  }),
                batchTimeout: "1 hour"
              })
              const effect = api === "submit" ? batcher.submit(k) : Effect.asVoid(batcher.submitAll([k]))
              const producer = yield* Effect.forkChild(Effect.provideService(effect, Scheduler.MaxOpsBeforeYield, ops))
              for (let i = 0; i < k; i++) yield* Effect.yieldNow
              yield* Fiber.interrupt(producer)
              const exit = yield* Fiber.await(producer)
              yield* batcher.shutdown
              if (Exit.isFailure(exit) && Exit.hasInterrupts(exit) && seen.length > 0) leaks.push(`ops=${ops},k=${k}`)
              assertStatsAddUp(yield* batcher.stats)
            }))
          }
        }
        assert.deepStrictEqual(leaks, [], `interrupted after k turns, yet process saw the record, for k in ${leaks}`)
      }))
  }
})

describe("faults: producers waiting for room", () => {
  it.effect("a producer waiting for room is admitted as soon as the open batch drains the queue, without waiting for the timeout", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      const batcher = yield* Batcher.make({
        process,
        maxQueueSize: 1,
        maxBatchSize: 4,
        targetBatchCost: 3,
        batchTimeout: "1 hour"
      })
      const all = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4], { costs: [1, 0, 1, 1] }))
      yield* settle()
      // the batch is full at 4 records: it must go now, not when the hour is up
      assert.deepStrictEqual(batches, [[1, 2, 3, 4]])
      assert.deepStrictEqual(yield* Fiber.join(all), [10, 20, 30, 40])
    }))
})

// Regression tests for BUG-3 (found by this suite, fixed in 647bddf).
describe("faults: shutdown of one batcher from inside another batcher's process (BUG-3)", () => {
  it.effect("another batcher's shutdown called inside process still waits for that batcher's records (BUG-3)", () =>
    Effect.gen(function*() {
      const { batches: innerBatches, process: innerProcess } = recorder(times10)
      const inner = yield* Batcher.make({ process: innerProcess, batchTimeout: "1 hour" })
      const pending = yield* inner.offer(7)
      let doneAfterShutdown: boolean | undefined
      const outer = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.andThen(
            inner.shutdown,
            Effect.sync(() => {
              doneAfterShutdown = Deferred.isDoneUnsafe(pending)
              return batch
            })
          ),
        batchTimeout: 0
      })
      yield* outer.submit(1)
      // inner.shutdown must return only once inner delivered every accepted record
      assert.isTrue(doneAfterShutdown, "inner.shutdown returned before inner's record was delivered")
      assert.deepStrictEqual(innerBatches, [[7]])
      assert.strictEqual(yield* Deferred.await(pending), 70)
    }))

  it.effect("a batcher scoped inside another batcher's process drains when that scope closes (BUG-3)", () =>
    Effect.gen(function*() {
      const outer = yield* Batcher.make({
        process: (batch: ReadonlyArray<number>) =>
          Effect.scoped(Effect.gen(function*() {
            const inner = yield* Batcher.make({ process: times10, batchTimeout: "1 hour" })
            return yield* inner.offerAll(batch)
          })).pipe(
            // the inner scope is closed here: every record must have its result (-2: none, so no hang)
            Effect.flatMap((deferreds) => Effect.forEach(deferreds, Deferred.poll)),
            Effect.flatMap((polled) =>
              Effect.forEach(polled, (result) =>
                result._tag === "None"
                  ? Effect.succeed(-2)
                  : Effect.map(Effect.exit(result.value), (exit) => (Exit.isSuccess(exit) ? exit.value : -1)))
            )
          ),
        batchTimeout: 0
      })
      // every record the inner batcher accepted is processed when its scope closes
      assert.deepStrictEqual(yield* outer.submitAll([1, 2, 3]), [10, 20, 30])
    }))
})

// Regression test for BUG-4 (found by this suite, fixed in 647bddf).
describe("shutdownTimeout: a process that ignores interruption (BUG-4)", () => {
  it.effect("closing the scope returns after shutdownTimeout even if process is uninterruptible and never returns (BUG-4)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({
        process: (_: ReadonlyArray<number>) => Effect.uninterruptible(Effect.never),
        batchTimeout: 0,
        shutdownTimeout: "100 millis"
      }).pipe(Scope.provide(scope))
      const producer = yield* Effect.forkChild(batcher.submit(1))
      yield* settle()
      const close = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("100 millis")
      yield* settle()
      assert.isTrue(isDone(close), "Scope.close still running after shutdownTimeout")
      assert.instanceOf(errorOf(yield* Fiber.await(producer)), BatcherShutdownError)
    }))
})

// Regression test for BUG-6 (found by the chained-producers property, fixed in 6525804).
describe("faults: FIFO when a producer resubmits from inside another's enqueue (BUG-6)", () => {
  it.effect("a record submitted after a submitAll never overtakes that submitAll's records (BUG-6)", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      const batcher = yield* Batcher.make({
        process,
        maxQueueSize: 1,
        maxBatchSize: 2,
        targetBatchCost: 1.1,
        prefetchBatches: 1,
        batchTimeout: "1 millis"
      })
      // P0 submits 0, and 4 as soon as it has 0's result; P1 submits [1, 2] after 0 and before 4
      const p0 = yield* Effect.forkChild(Effect.andThen(batcher.submit(0), batcher.submit(4)))
      const p1 = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* settle()
      yield* TestClock.adjust("5 millis")
      yield* Fiber.join(p0)
      yield* Fiber.join(p1)
      // 1 and 2 were submitted before 4 (4 is submitted only once 0 is done, i.e. after submitAll was called)
      assert.deepStrictEqual(batches.flat(), [0, 1, 2, 4])
    }))
})

// Regression test for BUG-7 (found by the full-batches-go-at-once property, fixed in d064183).
describe("faults: a batch full by a fractional cost goes at once (BUG-7)", () => {
  it.effect("a batch whose cost reaches the budget exactly (18 + 3.8 = 21.8) goes at once, not on the timeout (BUG-7)", () =>
    Effect.gen(function*() {
      const { batches, process } = recorder(times10)
      const batcher = yield* Batcher.make({ process, targetBatchCost: 21.8, maxBatchSize: 3, batchTimeout: "1 hour" })
      const first = yield* Effect.forkChild(batcher.submit(1, { cost: 18 }))
      yield* settle()
      const second = yield* Effect.forkChild(batcher.submit(2, { cost: 3.8 }))
      yield* settle()
      // 18 + 3.8 reaches the budget of 21.8: the batch is full and must go now
      assert.deepStrictEqual(batches, [[1, 2]])
      assert.strictEqual(yield* Fiber.join(first), 10)
      assert.strictEqual(yield* Fiber.join(second), 20)
    }))
})
