/**
 * Property tests of the failure policy under the TestClock: random batches,
 * poison records (a permanent whole-batch failure), transient whole-batch
 * failures, retries and bisection, with a dead-letter hook. Seeded (set
 * PROPERTY_SEED to replay).
 *
 * Checked for every case: each record settles exactly once (nothing lost or
 * duplicated); a poison record fails, with its own error; a record without
 * poison only fails with a transient error, and never when no transient
 * failure was injected; no record runs more often than (1 + retries) per
 * bisection level it passes, (1 + retries)·(1 + ⌈log2 n⌉); without
 * transient failures and retries, at most 1 + 2·⌈log2 n⌉ calls per poison
 * record; `onDeadLetter` sees exactly the records that finally failed, once
 * each, before their producer does; the stats add up.
 */
import { describe, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Exit, Fiber, Schedule } from "effect"
import { Batcher, BatcherShutdownError, DeadlineExceededError } from "effect-dynamic-batcher"
import type { BatcherError } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_203)
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300)

class Poisoned extends Data.TaggedError("Poisoned")<{ readonly status: 400 }> {}
class Transient extends Data.TaggedError("Transient")<{ readonly status: 503 }> {}

interface Case {
  readonly size: number
  readonly poison: ReadonlyArray<number>
  readonly retries: number
  /** Per process call (in order), whether it fails transiently first; cycled. */
  readonly transient: ReadonlyArray<boolean>
  readonly bisect: boolean
}

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 1, max: 24 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    poison: fc.uniqueArray(fc.integer({ min: 0, max: size - 1 }), { maxLength: Math.min(size, 3) }),
    retries: fc.integer({ min: 0, max: 2 }),
    transient: fc.oneof(fc.constant([false]), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 })),
    bisect: fc.boolean()
  })
)

const log2Ceil = (n: number) => n <= 1 ? 0 : Math.ceil(Math.log2(n))

/**
 * The `process` of a case: a call fails transiently when `spec.transient`
 * says so, else any batch holding a poison record fails; otherwise it doubles
 * each record, after `latency`. It counts the calls and each record's runs.
 */
const faultyProcess = (spec: Case, latency: number) => {
  const poison = new Set(spec.poison)
  const counts = { calls: 0, runs: new Array<number>(spec.size).fill(0) }
  const process = (batch: ReadonlyArray<number>) =>
    Effect.suspend((): Effect.Effect<Array<number>, Poisoned | Transient> => {
      const transient = spec.transient[counts.calls % spec.transient.length]
      counts.calls++
      for (const n of batch) counts.runs[n]++
      if (transient) return Effect.fail(new Transient({ status: 503 }))
      if (batch.some((n) => poison.has(n))) return Effect.fail(new Poisoned({ status: 400 }))
      const doubled = batch.map((n) => n * 2)
      return latency === 0 ? Effect.succeed(doubled) : Effect.as(Effect.sleep(latency), doubled)
    })
  return { poison, counts, process }
}

const runCase = (spec: Case) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const { counts, poison, process } = faultyProcess(spec, 0)
    const runs = counts.runs
    const letters = new Map<number, number>()
    let deferreds: ReadonlyArray<Deferred.Deferred<number, Poisoned | Transient | BatcherError>> = []
    const batcher = yield* Batcher.make({
      process,
      maxBatchSize: spec.size,
      batchTimeout: 0,
      retry: spec.retries === 0 ? undefined : {
        schedule: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: spec.retries })),
        while: (error) => error.status === 503
      },
      onBatchFailure: spec.bisect ? "bisect" : "fail",
      onDeadLetter: (record) =>
        Effect.sync(() => {
          letters.set(record, (letters.get(record) ?? 0) + 1)
          const deferred = deferreds[record]
          if (deferred !== undefined && Deferred.isDoneUnsafe(deferred)) {
            problems.push(`${record}'s producer heard before its dead letter`)
          }
        })
    })
    deferreds = yield* batcher.offerAll(Array.from({ length: spec.size }, (_, i) => i))
    for (let i = 0; i < 1000 && !deferreds.every(Deferred.isDoneUnsafe); i++) yield* TestClock.adjust("10 millis")
    const exits = yield* Effect.forEach(deferreds, (d) => Effect.exit(Deferred.await(d)))
    const injected = spec.transient.some((t) => t)
    const perRecord = (1 + spec.retries) * (1 + (spec.bisect ? log2Ceil(spec.size) : 0))
    let failed = 0
    exits.forEach((exit, n) => {
      if (runs[n] > perRecord) problems.push(`${n} ran ${runs[n]} times, more than ${perRecord}`)
      if (Exit.isSuccess(exit)) {
        if (exit.value !== n * 2) problems.push(`${n} got ${exit.value}`)
        if (poison.has(n)) problems.push(`poison ${n} succeeded`)
        if (letters.has(n)) problems.push(`${n} succeeded but was dead-lettered`)
        return
      }
      failed++
      if (letters.get(n) !== 1) problems.push(`${n} failed, dead-lettered ${letters.get(n) ?? 0} times`)
      const error = Cause.squash(exit.cause)
      if (!(error instanceof Poisoned || error instanceof Transient)) problems.push(`${n} failed with ${String(error)}`)
      if (!poison.has(n) && !(error instanceof Transient) && spec.bisect) problems.push(`${n} failed for its neighbour`)
      if (!poison.has(n) && !injected && spec.bisect) problems.push(`${n} failed without a fault`)
    })
    const calls = counts.calls
    if (!injected && spec.retries === 0 && spec.bisect) {
      const bound = 1 + 2 * log2Ceil(spec.size) * poison.size
      if (calls > bound) {
        problems.push(`${calls} process calls for ${poison.size} poison in ${spec.size}: bound ${bound}`)
      }
    }
    yield* batcher.shutdown
    const stats = yield* batcher.stats
    if (stats.totalCompleted !== spec.size) problems.push(`totalCompleted ${stats.totalCompleted} != ${spec.size}`)
    if (stats.totalFailed !== failed) problems.push(`totalFailed ${stats.totalFailed} != ${failed}`)
    if (stats.totalBatches !== calls) problems.push(`totalBatches ${stats.totalBatches} != ${calls} calls`)
    if (stats.queueSize !== 0 || stats.inFlightRecords !== 0) problems.push("records left over")
    if (!spec.bisect && stats.totalSplits !== 0) problems.push("splits without bisect")
    if (spec.retries === 0 && stats.totalRetries !== 0) problems.push("retries without retry")
    if (calls !== 1 + stats.totalRetries + 2 * stats.totalSplits) {
      problems.push(`${calls} calls != 1 + ${stats.totalRetries} retries + 2 × ${stats.totalSplits} splits`)
    }
    return problems
  })

interface LifeCase extends Case {
  /** Per record: its timeout in milliseconds (0: none), and when its producer is interrupted (-1: never). */
  readonly timeouts: ReadonlyArray<number>
  readonly interrupts: ReadonlyArray<number>
  readonly shutdownAt: number
}

const lifeArb: fc.Arbitrary<LifeCase> = caseArb.chain((spec) =>
  fc.record({
    timeouts: fc.array(fc.constantFrom(0, 0, 5, 15, 30), { minLength: spec.size, maxLength: spec.size }),
    interrupts: fc.array(fc.constantFrom(-1, -1, -1, 0, 5, 10, 20), { minLength: spec.size, maxLength: spec.size }),
    shutdownAt: fc.integer({ min: 0, max: 60 })
  }).map((life) => ({ ...spec, ...life, bisect: true }))
)

/**
 * The same batcher with deadlines, producers interrupted at random moments
 * and a shutdown at a random moment: every record is withdrawn or settles
 * once, its producer (if still there) hears after its dead letter, the dead
 * letters are exactly the failed records, the run bound holds, and shutdown
 * drains the retries.
 */
const runLife = (spec: LifeCase) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const { counts, poison, process } = faultyProcess(spec, 3)
    const runs = counts.runs
    const heard = new Array<boolean>(spec.size).fill(false)
    const letters = new Map<number, number>()
    const batcher = yield* Batcher.make({
      process,
      maxBatchSize: 4,
      batchTimeout: "2 millis",
      maxConcurrentBatches: 2,
      retry: spec.retries === 0 ? undefined : {
        schedule: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: spec.retries })),
        while: (error) => error.status === 503
      },
      onBatchFailure: "bisect",
      onDeadLetter: (record) =>
        Effect.sync(() => {
          letters.set(record, (letters.get(record) ?? 0) + 1)
          if (heard[record]) problems.push(`${record}'s producer heard before its dead letter`)
        })
    })
    const fibers = yield* Effect.forEach(spec.timeouts, (timeout, n) =>
      Effect.forkChild(
        Effect.onExit(
          batcher.submit(n, timeout === 0 ? undefined : { timeout }),
          () => Effect.sync(() => (heard[n] = true))
        )
      ))
    let shutdown: Fiber.Fiber<void> | undefined
    for (let t = 0; t < 2000 && !(shutdown !== undefined && shutdown.pollUnsafe() !== undefined); t++) {
      spec.interrupts.forEach((at, n) => {
        if (at === t) fibers[n].interruptUnsafe()
      })
      if (t === spec.shutdownAt) shutdown = yield* Effect.forkChild(batcher.shutdown)
      yield* TestClock.adjust("1 millis")
    }
    if (shutdown === undefined || shutdown.pollUnsafe() === undefined) return ["shutdown did not drain"]
    const exits = yield* Effect.forEach(fibers, Fiber.await)
    const stats = yield* batcher.stats
    const perRecord = (1 + spec.retries) * (1 + log2Ceil(4))
    exits.forEach((exit, n) => {
      if (runs[n] > perRecord) problems.push(`${n} ran ${runs[n]} times, more than ${perRecord}`)
      if (Exit.isSuccess(exit)) {
        if (exit.value !== n * 2 || poison.has(n)) problems.push(`${n} got ${exit.value}`)
        if (letters.has(n)) problems.push(`${n} succeeded but was dead-lettered`)
      } else if (!Cause.hasInterrupts(exit.cause)) {
        if (letters.get(n) !== 1) problems.push(`${n} failed, dead-lettered ${letters.get(n) ?? 0} times`)
        const error = Cause.squash(exit.cause)
        const expected = error instanceof Poisoned || error instanceof Transient ||
          error instanceof DeadlineExceededError || error instanceof BatcherShutdownError
        if (!expected) problems.push(`${n} failed with ${String(error)}`)
        if (error instanceof Poisoned && !poison.has(n)) problems.push(`${n} failed for its neighbour`)
      }
    })
    for (const [n, count] of letters) if (count !== 1) problems.push(`${n} dead-lettered ${count} times`)
    const lettered = [...letters.values()].reduce((a, b) => a + b, 0)
    // A submit refused by the shutdown fails before acceptance: not a dead letter, not in the stats.
    if (lettered !== stats.totalFailed) problems.push(`${lettered} dead letters != totalFailed ${stats.totalFailed}`)
    if (stats.totalCompleted + stats.totalWithdrawn !== stats.totalSubmitted) problems.push("records left over")
    if (stats.queueSize !== 0 || stats.inFlightRecords !== 0) problems.push("records still queued or in flight")
    return problems
  })

describe("failure policy properties", () => {
  it(
    "with deadlines, interruptions and shutdown, nothing is lost or duplicated and dead letters match the failures",
    async () => {
      await fc.assert(
        fc.asyncProperty(lifeArb, async (spec) => {
          const problems = await Effect.runPromise(
            runLife(spec).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
          )
          if (problems.length > 0) throw new Error(problems.slice(0, 10).join("\n"))
        }),
        { numRuns: RUNS, seed: SEED }
      )
    },
    120_000
  )

  it("outcomes, run counts, the bisection bound, dead letters and stats hold over random faults", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (spec) => {
        const problems = await Effect.runPromise(
          runCase(spec).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
        )
        if (problems.length > 0) throw new Error(problems.slice(0, 10).join("\n"))
      }),
      { numRuns: RUNS, seed: SEED }
    )
  }, 120_000)
})
