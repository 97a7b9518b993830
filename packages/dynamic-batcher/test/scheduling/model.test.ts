/**
 * Model-based property tests of the scheduling features, under the TestClock
 * and seeded (PROPERTY_SEED replays a run, PROPERTY_RUNS sets the number of
 * cases; the seed is printed on failure).
 *
 * The main property draws random options — `maxConcurrentBatches`, keys
 * (`groupBy`), priority levels, per-call timeouts, `maxQueueDelay`,
 * `priorityAging`, adaptive batching (whose cap and wait move on every batch,
 * within the configured ones) — a random workload over the four submit APIs, `reconfigure`
 * calls at random moments (some invalid), faults of `process` (failures,
 * defects, latencies), producer interruptions and a shutdown, and checks the
 * invariants listed on `checkCase` against a model of the tuning.
 *
 * Two more properties drive a saturating load and check that a record waits
 * a bounded time: from another key (oldest-first between keys), and at a low
 * level with `priorityAging` (no level starves).
 */
import { describe, it } from "@effect/vitest"
import { Cause, Clock, Data, Deferred, Effect, Exit, Fiber, Scheduler, Scope } from "effect"
import { Batcher, BatcherShutdownError, DeadlineExceededError, InvalidSubmitError } from "effect-dynamic-batcher"
import type { BatcherError, BatchStats } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { isDone, settle } from "../support/harness.ts"
import { propertyAsserter, runEffect } from "../support/property.ts"

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_203)
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150)
const WAIT_RUNS = Number(process.env.PROPERTY_RUNS ?? 25)

// -----------------------------------------------------------------------------
// the model of a case
// -----------------------------------------------------------------------------

type Api = "submit" | "submitAll" | "offer" | "offerAll"
type Outcome = "ok" | "fail" | "die"

/** The knobs `reconfigure` may change, as `tuning` reports them (durations in millis). */
interface Knobs {
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly dispatch: "full" | "idle"
  readonly maxConcurrentBatches: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly maxQueueDelay: number | undefined
  readonly priorityAging: number | undefined
}

const knobNames: ReadonlyArray<keyof Knobs> = [
  "maxBatchSize",
  "minBatchSize",
  "targetBatchCost",
  "batchTimeout",
  "dispatch",
  "maxConcurrentBatches",
  "maxQueueSize",
  "prefetchBatches",
  "maxQueueDelay",
  "priorityAging"
]

/** Whether the knobs, as a whole, are valid (each generated value is valid alone but for these). */
const validKnobs = (k: Knobs) => k.maxConcurrentBatches >= 1 && k.minBatchSize <= k.maxBatchSize

interface CallSpec {
  readonly at: number
  readonly api: Api
  /** Raw key indices (taken modulo the case's key count) and costs. */
  readonly records: ReadonlyArray<{ readonly key: number; readonly cost: number }>
  /** Index into the case's priority levels. */
  readonly level: number
  /** A priority of 0.5: the call must fail with InvalidSubmitError. */
  readonly badPriority: boolean
  readonly timeout: number | undefined
  readonly opsBudget: number
  readonly interrupt: { readonly after: number; readonly turns: number } | undefined
}

interface CaseSpec {
  readonly knobs: Knobs
  /** 0: no groupBy. */
  readonly keys: number
  readonly levels: ReadonlyArray<number>
  readonly calls: ReadonlyArray<CallSpec>
  readonly reconfigures: ReadonlyArray<{ readonly at: number; readonly patch: Partial<Knobs> }>
  readonly outcomes: ReadonlyArray<Outcome>
  readonly latencies: ReadonlyArray<number>
  readonly shutdownAt: number
  readonly shutdownVia: "shutdown" | "scope"
  /** Adaptive batching's target latency (ms): the cap and wait in force then move on every batch. */
  readonly adaptiveTarget: number | undefined
}

const costArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 200 }) }
)

const callArb: fc.Arbitrary<CallSpec> = fc.record({
  at: fc.integer({ min: 0, max: 50 }),
  api: fc.constantFrom<Api>("submit", "submit", "submitAll", "offer", "offerAll"),
  records: fc.array(fc.record({ key: fc.nat(3), cost: costArb }), { minLength: 1, maxLength: 4 }),
  level: fc.nat(2),
  badPriority: fc.integer({ min: 0, max: 39 }).map((n) => n === 0),
  timeout: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 30 }) }
  ),
  opsBudget: fc.constantFrom(2048, 2048, 5, 40),
  interrupt: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.record({ after: fc.integer({ min: 0, max: 30 }), turns: fc.integer({ min: 0, max: 8 }) })
    }
  )
})

const patchArb: fc.Arbitrary<Partial<Knobs>> = fc.oneof(
  fc.record({ maxBatchSize: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ minBatchSize: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ maxBatchSize: fc.integer({ min: 1, max: 8 }), minBatchSize: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ targetBatchCost: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ batchTimeout: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ dispatch: fc.constantFrom<"full" | "idle">("full", "idle") }),
  fc.record({ maxConcurrentBatches: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ maxQueueSize: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ prefetchBatches: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ maxQueueDelay: fc.integer({ min: 5, max: 40 }) }),
  fc.record({ priorityAging: fc.integer({ min: 5, max: 30 }) }),
  fc.record({ maxConcurrentBatches: fc.integer({ min: 1, max: 4 }), maxQueueSize: fc.integer({ min: 1, max: 16 }) })
)

const caseArb: fc.Arbitrary<CaseSpec> = fc
  .record({
    maxBatchSize: fc.integer({ min: 1, max: 8 }),
    minBatchSizeSeed: fc.integer({ min: 1, max: 8 }),
    targetBatchCost: fc.integer({ min: 1, max: 60 }),
    batchTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
    dispatch: fc.constantFrom<"full" | "idle">("full", "idle"),
    maxConcurrentBatches: fc.integer({ min: 1, max: 4 }),
    maxQueueSize: fc.integer({ min: 1, max: 16 }),
    prefetchBatches: fc.integer({ min: 1, max: 3 }),
    maxQueueDelay: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 5, max: 40 }) }
    ),
    priorityAging: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 5, max: 30 }) }
    ),
    keys: fc.constantFrom(0, 0, 1, 2, 3, 4),
    levels: fc.constantFrom<ReadonlyArray<number>>([0, 0, 0], [0, 1, 1], [-1, 0, 2], [3, 1, 0]),
    calls: fc.array(callArb, { minLength: 0, maxLength: 40, size: "large" }),
    reconfigures: fc.array(fc.record({ at: fc.integer({ min: 0, max: 60 }), patch: patchArb }), { maxLength: 5 }),
    outcomes: fc.array(
      fc.oneof(
        { weight: 12, arbitrary: fc.constant<Outcome>("ok") },
        { weight: 2, arbitrary: fc.constant<Outcome>("fail") },
        { weight: 1, arbitrary: fc.constant<Outcome>("die") }
      ),
      { minLength: 1, maxLength: 8 }
    ),
    latencies: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })), { minLength: 1, maxLength: 6 }),
    shutdownAt: fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }) },
      { weight: 4, arbitrary: fc.integer({ min: 20, max: 100 }) }
    ),
    shutdownVia: fc.constantFrom<"shutdown" | "scope">("shutdown", "scope"),
    adaptiveTarget: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }) }
    )
  })
  .map(({ minBatchSizeSeed, maxBatchSize, ...rest }): CaseSpec => ({
    knobs: {
      maxBatchSize,
      minBatchSize: 1 + ((minBatchSizeSeed - 1) % maxBatchSize),
      targetBatchCost: rest.targetBatchCost,
      batchTimeout: rest.batchTimeout,
      dispatch: rest.dispatch,
      maxConcurrentBatches: rest.maxConcurrentBatches,
      maxQueueSize: rest.maxQueueSize,
      prefetchBatches: rest.prefetchBatches,
      maxQueueDelay: rest.maxQueueDelay,
      priorityAging: rest.priorityAging
    },
    keys: rest.keys,
    levels: rest.levels,
    calls: rest.calls,
    reconfigures: rest.reconfigures,
    outcomes: rest.outcomes,
    latencies: rest.latencies,
    shutdownAt: rest.shutdownAt,
    shutdownVia: rest.shutdownVia,
    adaptiveTarget: rest.adaptiveTarget
  }))

// -----------------------------------------------------------------------------
// running a case
// -----------------------------------------------------------------------------

interface Rec {
  readonly id: number
  readonly key: string
  readonly cost: number
}

class Boom extends Data.TaggedError("Boom")<{ readonly batch: number }> {}

class BatchDefect extends Error {
  readonly batch: number
  constructor(batch: number) {
    super(`batch ${batch} died`)
    this.batch = batch
  }
}

const resultOf = (rec: Rec) => rec.id * 2 + 1

interface BatchLog {
  readonly index: number
  readonly ids: ReadonlyArray<number>
  readonly keys: ReadonlyArray<string>
  readonly info: { readonly key: unknown; readonly size: number; readonly cost: number }
  readonly cost: number
  readonly outcome: Outcome
  readonly at: number
}

/** One producer: one call of one API, at its time. */
interface CallRun {
  readonly spec: CallSpec
  readonly recs: ReadonlyArray<Rec>
  readonly priority: number
  fiber: Fiber.Fiber<void> | undefined
  submittedAt: number | undefined
  /** The call's own exit, and when it came (undefined if the producer was interrupted during the call). */
  exit: Exit.Exit<unknown, unknown> | undefined
  exitAt: number | undefined
  /** offer/offerAll: each record's result and when it came, as watched by the producer. */
  results: Array<{ exit: Exit.Exit<number, unknown>; at: number } | undefined>
  deferreds: ReadonlyArray<Deferred.Deferred<number, Boom | BatcherError>> | undefined
  interrupted: boolean
}

interface CaseRun {
  readonly spec: CaseSpec
  readonly batches: Array<BatchLog>
  readonly estimated: Array<number>
  readonly calls: Array<CallRun>
  readonly problems: Array<string>
  /** Every value of each knob that was in effect at some moment. */
  readonly seen: { maxBatchSize: number; targetBatchCost: number }
  /** Whether maxQueueDelay was reconfigured (then a record's effective deadline is only bounded by its timeout). */
  queueDelayChanged: boolean
  finalStats: BatchStats | undefined
  isRunningAfter: boolean | undefined
}

const runCase = (spec: CaseSpec): Effect.Effect<CaseRun> =>
  Effect.gen(function*() {
    const run: CaseRun = {
      spec,
      batches: [],
      estimated: [],
      calls: [],
      problems: [],
      seen: {
        maxBatchSize: spec.knobs.maxBatchSize,
        targetBatchCost: spec.knobs.targetBatchCost
      },
      queueDelayChanged: false,
      finalStats: undefined,
      isRunningAfter: undefined
    }
    const problem = (message: string) => {
      if (run.problems.length < 20) run.problems.push(message)
    }
    let nextId = 0
    for (const call of spec.calls) {
      const count = call.api === "submit" || call.api === "offer" ? 1 : call.records.length
      const recs = call.records.slice(0, count).map(({ cost, key }) => ({
        id: nextId++,
        key: spec.keys === 0 ? "" : `k${key % spec.keys}`,
        cost
      }))
      run.calls.push({
        spec: call,
        recs,
        priority: spec.levels[call.level % spec.levels.length],
        fiber: undefined,
        submittedAt: undefined,
        exit: undefined,
        exitAt: undefined,
        results: recs.map(() => undefined),
        deferreds: undefined,
        interrupted: false
      })
    }

    let knobs = spec.knobs
    /** The largest maxConcurrentBatches in effect since the last sample (a start decided before a lower one). */
    let allowedSlots = knobs.maxConcurrentBatches
    let active = 0
    let inFlightRecords = 0
    const process = (batch: ReadonlyArray<Rec>, info: BatchLog["info"]): Effect.Effect<ReadonlyArray<number>, Boom> =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        const index = run.batches.length
        const outcome = spec.outcomes[index % spec.outcomes.length]
        const cost = batch.reduce((sum, r) => sum + r.cost, 0)
        run.batches.push({
          index,
          ids: batch.map((r) => r.id),
          keys: batch.map((r) => r.key),
          info: { key: info.key, size: info.size, cost: info.cost },
          cost,
          outcome,
          at
        })
        if (active >= allowedSlots) {
          problem(
            `t=${at}: batch ${index} started with ${active} batches in process (maxConcurrentBatches ${allowedSlots})`
          )
        }
        active++
        inFlightRecords += batch.length
        const latency = spec.latencies[index % spec.latencies.length]
        const body: Effect.Effect<ReadonlyArray<number>, Boom> = outcome === "ok"
          ? Effect.sync(() => batch.map(resultOf))
          : outcome === "fail"
          ? Effect.fail(new Boom({ batch: index }))
          : Effect.die(new BatchDefect(index))
        return (latency === 0 ? body : Effect.andThen(Effect.sleep(latency), body)).pipe(
          Effect.ensuring(Effect.sync(() => {
            active--
            inFlightRecords -= batch.length
          }))
        )
      })

    const scope = yield* Scope.make()
    const b = yield* Batcher.make({
      process,
      costEstimator: (rec: Rec) => {
        run.estimated.push(rec.id)
        return rec.cost
      },
      ...(spec.keys === 0 ? {} : { groupBy: (rec: Rec) => rec.key }),
      ...(spec.adaptiveTarget === undefined ? {} : { adaptive: { targetLatency: spec.adaptiveTarget } }),
      ...knobs
    }).pipe(
      Scope.provide(scope),
      Effect.provideService(Scheduler.PreventSchedulerYield, true),
      Effect.orDie
    )

    const callOf = (call: CallRun): Effect.Effect<void> =>
      Effect.gen(function*() {
        call.submittedAt = yield* Clock.currentTimeMillis
        const options = {
          priority: call.spec.badPriority ? 0.5 : call.priority,
          ...(call.spec.timeout === undefined ? {} : { timeout: call.spec.timeout })
        }
        const watch = (deferreds: ReadonlyArray<Deferred.Deferred<number, Boom | BatcherError>>) => {
          call.deferreds = deferreds
          return Effect.forEach(deferreds, (deferred, i) =>
            Effect.flatMap(Effect.exit(Deferred.await(deferred)), (exit) =>
              Effect.map(Clock.currentTimeMillis, (at) => {
                call.results[i] = { exit, at }
              })), { concurrency: "unbounded", discard: true })
        }
        const done = (exit: Exit.Exit<unknown, unknown>) =>
          Effect.map(Clock.currentTimeMillis, (at) => {
            call.exit = exit
            call.exitAt = at
          })
        switch (call.spec.api) {
          case "submit": {
            const exit = yield* Effect.exit(b.submit(call.recs[0], options))
            yield* done(exit)
            call.results[0] = { exit, at: call.exitAt! }
            return
          }
          case "submitAll":
            return yield* done(yield* Effect.exit(b.submitAll(call.recs, options)))
          case "offer": {
            const exit = yield* Effect.exit(b.offer(call.recs[0], options))
            yield* done(exit)
            if (Exit.isSuccess(exit)) yield* watch([exit.value])
            return
          }
          case "offerAll": {
            const exit = yield* Effect.exit(b.offerAll(call.recs, options))
            yield* done(exit)
            if (Exit.isSuccess(exit)) {
              yield* watch(exit.value)
            }
            return
          }
        }
      })
    for (const call of run.calls) {
      const body = call.spec.at === 0 ? callOf(call) : Effect.andThen(Effect.sleep(call.spec.at), callOf(call))
      call.fiber = yield* Effect.forkChild(
        Effect.provideService(body, Scheduler.MaxOpsBeforeYield, call.spec.opsBudget)
      )
    }

    /** tuning must read the model's knobs. */
    const checkTuning = (when: string) =>
      Effect.map(b.tuning, (tuning) => {
        for (const name of knobNames) {
          if (tuning[name] !== knobs[name]) {
            problem(`${when}: tuning.${name} = ${tuning[name]}, expected ${knobs[name]}`)
          }
        }
      })
    yield* checkTuning("after make")

    const reconfigure = (patch: Partial<Knobs>, now: number) =>
      Effect.gen(function*() {
        const merged: Knobs = { ...knobs, ...patch }
        // reconfigure may start batches inline: a raised limit must hold before the call
        if (validKnobs(merged)) {
          allowedSlots = Math.max(allowedSlots, merged.maxConcurrentBatches)
          run.seen.maxBatchSize = Math.max(run.seen.maxBatchSize, merged.maxBatchSize)
          run.seen.targetBatchCost = Math.max(run.seen.targetBatchCost, merged.targetBatchCost)
        }
        const exit = yield* Effect.exit(b.reconfigure(patch as Parameters<typeof b.reconfigure>[0]))
        if (validKnobs(merged) !== Exit.isSuccess(exit)) {
          problem(
            `t=${now}: reconfigure(${JSON.stringify(patch)}) on ${JSON.stringify(knobs)} ${
              Exit.isSuccess(exit) ? "succeeded, yet the result is invalid" : `failed: ${Cause.pretty(exit.cause)}`
            }`
          )
        }
        if (Exit.isSuccess(exit)) {
          knobs = merged
          if ("maxQueueDelay" in patch) {
            run.queueDelayChanged = true
          }
        }
        yield* checkTuning(`t=${now}: after reconfigure(${JSON.stringify(patch)})`)
      })

    const sample = (now: number) => {
      const stats = Effect.runSync(b.stats)
      const sum = stats.totalCompleted + stats.totalWithdrawn + stats.queueSize + stats.inFlightRecords
      if (stats.totalSubmitted !== sum) {
        problem(
          `t=${now}: submitted ${stats.totalSubmitted} != completed ${stats.totalCompleted} + withdrawn ${stats.totalWithdrawn} + queueSize ${stats.queueSize} + inFlightRecords ${stats.inFlightRecords}`
        )
      }
      if (stats.inFlightRecords !== inFlightRecords) {
        problem(`t=${now}: inFlightRecords ${stats.inFlightRecords}, yet ${inFlightRecords} records are in process`)
      }
      if (stats.inFlightBatches !== active) {
        problem(`t=${now}: inFlightBatches ${stats.inFlightBatches}, yet ${active} process calls run`)
      }
      if (stats.totalExpired > stats.totalFailed || stats.totalFailed > stats.totalCompleted) {
        problem(
          `t=${now}: expired ${stats.totalExpired} <= failed ${stats.totalFailed} <= completed ${stats.totalCompleted} broken`
        )
      }
      if (!(stats.utilization >= 0 && stats.utilization <= 1)) {
        problem(`t=${now}: utilization ${stats.utilization}`)
      }
      allowedSlots = knobs.maxConcurrentBatches
    }

    const interrupts = run.calls
      .filter((c) =>
        c.spec.interrupt !== undefined
      )
      .map((c) => ({ call: c, at: c.spec.at + c.spec.interrupt!.after }))
      .sort((x, y) => x.at - y.at)
    const reconfigures = [...spec.reconfigures].filter((r) => r.at < spec.shutdownAt).sort((x, y) => x.at - y.at)
    let nextInterrupt = 0
    let nextReconfigure = 0
    let shutdownFiber: Fiber.Fiber<void> | undefined
    let shutdownDone = false
    const lastEvent = Math.max(spec.shutdownAt, ...interrupts.map((i) => i.at), ...spec.calls.map((c) => c.at))
    let now = 0
    for (let step = 0;; step++) {
      while (nextReconfigure < reconfigures.length && reconfigures[nextReconfigure].at <= now) {
        yield* reconfigure(reconfigures[nextReconfigure++].patch, now)
      }
      if (now >= spec.shutdownAt && shutdownFiber === undefined) {
        shutdownFiber = yield* Effect.forkChild(
          spec.shutdownVia === "shutdown" ? b.shutdown : Scope.close(scope, Exit.void)
        )
      }
      while (nextInterrupt < interrupts.length && interrupts[nextInterrupt].at <= now) {
        const { call } = interrupts[nextInterrupt++]
        yield* settle(call.spec.interrupt!.turns)
        if (!isDone(call.fiber!)) {
          call.interrupted = true
          yield* Fiber.interrupt(call.fiber!)
        }
      }
      yield* settle(30)
      sample(now)
      if (shutdownFiber !== undefined && isDone(shutdownFiber)) shutdownDone = true
      if (shutdownDone && now > lastEvent) break
      if (step > 5_000) {
        problem(`shutdown did not finish by t=${now} (hang)`)
        break
      }
      // 1 ms steps throughout: a deadline's failure must be seen in the millisecond it is due
      yield* TestClock.adjust(1)
      now += 1
    }
    yield* settle(20)
    for (const call of run.calls) {
      if (!isDone(call.fiber!)) problem(`producer of ${call.recs.map((r) => r.id)} still running after shutdown`)
    }
    run.finalStats = yield* b.stats
    run.isRunningAfter = yield* b.isRunning
    // after a hang, closing the scope would wait for the same shutdown forever
    if (spec.shutdownVia === "shutdown" && shutdownDone) yield* Scope.close(scope, Exit.void)
    return run
  })

// -----------------------------------------------------------------------------
// the invariants
// -----------------------------------------------------------------------------

const errorOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findErrorOption(exit.cause)
  return found._tag === "Some" ? found.value : undefined
}

const defectOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findDefect(exit.cause)
  return found._tag === "Success" ? found.success : undefined
}

const describeExit = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? `success ${String(exit.value)}` : Cause.pretty(exit.cause)

/**
 * The invariants of every case:
 * 1. process sees each record at most once, never an empty batch; `info` tells the batch's key
 *    (undefined without groupBy), size and cost; no batch mixes keys;
 * 2. no batch exceeds the largest maxBatchSize in effect, nor the largest targetBatchCost unless it
 *    is one record; no process call starts while maxConcurrentBatches calls run;
 * 3. FIFO within (key, level): records of one key and one priority reach process in submission order;
 * 4. a call with a non-integer priority fails with InvalidSubmitError and none of its records is processed;
 * 5. every record's result is its own value, its batch's failure or defect, BatcherShutdownError
 *    (never processed), or DeadlineExceededError: never processed, delivered exactly at
 *    submit time + timeoutMillis = waitedMillis, timeoutMillis = min(timeout, maxQueueDelay);
 * 6. a processed record reached process before its deadline;
 * 7. reconfigure succeeds exactly when the merged knobs are valid and tuning then reads them
 *    (checked while running), and the stats add up at every step (checked while running) and at
 *    the end: completed = processed + expired, failed = records of failed batches + expired,
 *    batches = process calls, nothing queued or in flight, isRunning false.
 */
const checkCase = (run: CaseRun): Array<string> => {
  const problems = [...run.problems]
  const { batches, spec } = run
  const recById = new Map<number, { readonly rec: Rec; readonly call: CallRun }>()
  for (const call of run.calls) for (const rec of call.recs) recById.set(rec.id, { rec, call })

  // 1, 2
  const batchOf = new Map<number, BatchLog>()
  for (const batch of batches) {
    if (batch.ids.length === 0) problems.push(`batch ${batch.index} is empty`)
    for (const id of batch.ids) {
      if (batchOf.has(id)) {
        problems.push(`record ${id} reached process twice (batches ${batchOf.get(id)!.index}, ${batch.index})`)
      }
      batchOf.set(id, batch)
    }
    if (new Set(batch.keys).size > 1) problems.push(`batch ${batch.index} mixes keys ${JSON.stringify(batch.keys)}`)
    const expectedKey = spec.keys === 0 ? undefined : batch.keys[0]
    if (
      batch.info.key !== expectedKey || batch.info.size !== batch.ids.length ||
      Math.abs(batch.info.cost - batch.cost) > 1e-9
    ) {
      problems.push(
        `batch ${batch.index}: info ${
          JSON.stringify(batch.info)
        }, expected key ${expectedKey}, size ${batch.ids.length}, cost ${batch.cost}`
      )
    }
    if (batch.ids.length > run.seen.maxBatchSize) {
      problems.push(`batch ${batch.index} has ${batch.ids.length} records > maxBatchSize ${run.seen.maxBatchSize}`)
    }
    if (batch.ids.length > 1 && batch.cost > run.seen.targetBatchCost + 1e-9) {
      problems.push(`batch ${batch.index} costs ${batch.cost} > targetBatchCost ${run.seen.targetBatchCost}`)
    }
  }
  // 3
  const position = new Map<number, number>()
  run.estimated.forEach((id, i) => {
    if (!position.has(id)) position.set(id, i)
  })
  const lastOf = new Map<string, { readonly id: number; readonly at: number }>()
  for (const batch of batches) {
    for (const id of batch.ids) {
      const found = recById.get(id)
      if (found === undefined) {
        problems.push(`record ${id} reached process without being submitted`)
        continue
      }
      const lane = `${found.rec.key}/${found.call.priority}`
      const at = position.get(id) ?? -1
      const last = lastOf.get(lane)
      if (last !== undefined && at < last.at) {
        problems.push(
          `key ${
            found.rec.key || "(none)"
          }, priority ${found.call.priority}: record ${id} reached process after record ${last.id}, which was submitted after it`
        )
      } else lastOf.set(lane, { id, at })
    }
  }
  // 4, 5
  const delay = spec.knobs.maxQueueDelay
  /** `at`: when the failure was delivered, undefined when nobody watched (its producer was interrupted). */
  const expectDeadline = (call: CallRun, error: DeadlineExceededError, at: number | undefined, what: string) => {
    const waited = at === undefined ? error.timeoutMillis : at - call.submittedAt!
    if (error.waitedMillis !== error.timeoutMillis || waited !== error.timeoutMillis) {
      problems.push(
        `${what}: DeadlineExceededError { waitedMillis ${error.waitedMillis}, timeoutMillis ${error.timeoutMillis} } delivered ${waited} ms after its submit`
      )
    }
    const bound = call.spec.timeout
    if (bound === undefined && delay === undefined && !run.queueDelayChanged) {
      problems.push(`${what}: DeadlineExceededError without any timeout or maxQueueDelay`)
    }
    if (bound !== undefined && error.timeoutMillis > bound) {
      problems.push(`${what}: timeoutMillis ${error.timeoutMillis} > its timeout ${bound}`)
    }
    if (!run.queueDelayChanged) {
      const expected = Math.min(bound ?? Infinity, delay ?? Infinity)
      if (error.timeoutMillis !== expected) {
        problems.push(
          `${what}: timeoutMillis ${error.timeoutMillis}, expected min(timeout, maxQueueDelay) = ${expected}`
        )
      }
    }
  }
  const checkRecord = (call: CallRun, rec: Rec, exit: Exit.Exit<unknown, unknown>, at: number | undefined) => {
    const batch = batchOf.get(rec.id)
    const what = `record ${rec.id} (${call.spec.api}, submitted t=${call.submittedAt}, timeout ${call.spec.timeout})`
    const error = errorOf(exit)
    if (batch === undefined) {
      if (error instanceof DeadlineExceededError) expectDeadline(call, error, at, what)
      else if (!(error instanceof BatcherShutdownError)) {
        problems.push(`${what} never reached process, yet got ${describeExit(exit)}`)
      }
      return
    }
    const ok = batch.outcome === "ok"
      ? Exit.isSuccess(exit) && exit.value === resultOf(rec)
      : batch.outcome === "fail"
      ? error instanceof Boom && error.batch === batch.index
      : defectOf(exit) instanceof BatchDefect && (defectOf(exit) as BatchDefect).batch === batch.index
    if (!ok) problems.push(`${what} in batch ${batch.index} (${batch.outcome}) got ${describeExit(exit)}`)
  }
  for (const call of run.calls) {
    if (call.submittedAt === undefined) continue
    if (call.spec.badPriority) {
      if (
        call.exit !== undefined && !(errorOf(call.exit) instanceof InvalidSubmitError) &&
        !(errorOf(call.exit) instanceof BatcherShutdownError)
      ) {
        problems.push(`a call with priority 0.5 got ${describeExit(call.exit)}, not InvalidSubmitError`)
      }
      for (const rec of call.recs) {
        if (batchOf.has(rec.id)) problems.push(`record ${rec.id} of a call with priority 0.5 reached process`)
      }
      continue
    }
    if (call.exit === undefined) continue // interrupted during the call
    if (call.spec.api === "submitAll") {
      const exit = call.exit
      if (Exit.isSuccess(exit)) {
        const expected = call.recs.map(resultOf)
        if (JSON.stringify(exit.value) !== JSON.stringify(expected)) {
          problems.push(`submitAll of ${call.recs.map((r) => r.id)} returned ${JSON.stringify(exit.value)}`)
        }
        for (const rec of call.recs) {
          if (batchOf.get(rec.id)?.outcome !== "ok") {
            problems.push(`submitAll succeeded, yet record ${rec.id} was not processed ok`)
          }
        }
      } else {
        const error = errorOf(exit)
        if (error instanceof DeadlineExceededError) {
          expectDeadline(
            call,
            error,
            call.exitAt!,
            `submitAll of ${call.recs.map((r) => r.id)}`
          )
        } else if (!(error instanceof BatcherShutdownError)) {
          const explained = call.recs.some((rec) => {
            const batch = batchOf.get(rec.id)
            return batch !== undefined && batch.outcome !== "ok"
          })
          if (!explained) problems.push(`submitAll of ${call.recs.map((r) => r.id)} failed with ${describeExit(exit)}`)
        }
      }
      continue
    }
    if (call.spec.api === "offer" || call.spec.api === "offerAll") {
      if (Exit.isFailure(call.exit)) {
        const error = errorOf(call.exit)
        if (error instanceof DeadlineExceededError) {
          expectDeadline(
            call,
            error,
            call.exitAt!,
            `${call.spec.api} of ${call.recs.map((r) => r.id)}`
          )
        } else if (!(error instanceof BatcherShutdownError)) {
          problems.push(`${call.spec.api} of ${call.recs.map((r) => r.id)} failed with ${describeExit(call.exit)}`)
        }
        continue
      }
      call.deferreds!.forEach((deferred, i) => {
        const polled = Effect.runSync(Deferred.poll(deferred))
        if (polled._tag === "None") {
          problems.push(`record ${call.recs[i].id}: its Deferred is not done after shutdown`)
          return
        }
        // an interrupted producer stopped watching: then the outcome is checked, not its time
        checkRecord(call, call.recs[i], Effect.runSync(Effect.exit(polled.value)), call.results[i]?.at)
      })
      continue
    }
    checkRecord(call, call.recs[0], call.exit, call.exitAt!)
  }
  // 6
  for (const batch of batches) {
    for (const id of batch.ids) {
      const found = recById.get(id)
      const submittedAt = found?.call.submittedAt
      if (found === undefined || submittedAt === undefined) continue
      const { call } = found
      const limit = Math.min(
        call.spec.timeout ?? Infinity,
        run.queueDelayChanged ? Infinity : (delay ?? Infinity)
      )
      if (batch.at >= submittedAt + limit) {
        problems.push(
          `record ${id} (submitted t=${submittedAt}, deadline t=${
            submittedAt + limit
          }) reached process at t=${batch.at}`
        )
      }
    }
  }
  // 7
  const stats = run.finalStats!
  const seen = batches.reduce((n, b) => n + b.ids.length, 0)
  const failedSeen = batches.filter((b) => b.outcome !== "ok").reduce((n, b) => n + b.ids.length, 0)
  if (stats.queueSize !== 0 || stats.inFlightRecords !== 0 || stats.inFlightBatches !== 0) {
    problems.push(
      `after shutdown: queueSize ${stats.queueSize}, inFlight ${stats.inFlightBatches} / ${stats.inFlightRecords}`
    )
  }
  if (run.isRunningAfter !== false) problems.push("isRunning is still true after shutdown")
  if (stats.totalCompleted !== seen + stats.totalExpired) {
    problems.push(`totalCompleted ${stats.totalCompleted} != ${seen} processed + ${stats.totalExpired} expired`)
  }
  if (stats.totalFailed !== failedSeen + stats.totalExpired) {
    problems.push(`totalFailed ${stats.totalFailed} != ${failedSeen} of failed batches + ${stats.totalExpired} expired`)
  }
  if (stats.totalBatches !== batches.length) {
    problems.push(`totalBatches ${stats.totalBatches} != ${batches.length} process calls`)
  }
  if (stats.totalSubmitted !== stats.totalCompleted + stats.totalWithdrawn) {
    problems.push(
      `totalSubmitted ${stats.totalSubmitted} != completed ${stats.totalCompleted} + withdrawn ${stats.totalWithdrawn}`
    )
  }
  // only a Deferred's record is known to have been accepted (a submit may expire while waiting for room)
  const knownExpired = run.calls.reduce(
    (n, call) =>
      call.deferreds === undefined
        ? n
        : n + call.results.filter((r) => r !== undefined && errorOf(r.exit) instanceof DeadlineExceededError).length,
    0
  )
  if (stats.totalExpired < knownExpired) {
    problems.push(
      `totalExpired ${stats.totalExpired} < ${knownExpired} accepted records that got DeadlineExceededError`
    )
  }
  return problems
}

// -----------------------------------------------------------------------------
// bounded waits under saturating load
// -----------------------------------------------------------------------------

interface WaitSpec {
  /** "keys": the flood has key "flood", the probes key "quiet"; "aging": one key, the flood at level 5, the probes at 0. */
  readonly mode: "keys" | "aging"
  readonly floodProducers: number
  readonly maxBatchSize: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly maxConcurrentBatches: number
  readonly batchTimeout: number
  readonly latency: number
  readonly priorityAging: number
  readonly dispatch: "full" | "idle"
  readonly probes: ReadonlyArray<number>
}

const waitArb: fc.Arbitrary<WaitSpec> = fc.record({
  mode: fc.constantFrom<"keys" | "aging">("keys", "aging"),
  /** Flood producers beyond what the batcher holds at once (queue, open, handoff, slots): the flood saturates it. */
  extraFloodProducers: fc.integer({ min: 2, max: 16 }),
  maxBatchSize: fc.integer({ min: 1, max: 6 }),
  maxQueueSize: fc.integer({ min: 1, max: 12 }),
  prefetchBatches: fc.integer({ min: 1, max: 3 }),
  maxConcurrentBatches: fc.integer({ min: 1, max: 3 }),
  batchTimeout: fc.integer({ min: 0, max: 8 }),
  latency: fc.integer({ min: 1, max: 4 }),
  priorityAging: fc.integer({ min: 5, max: 40 }),
  dispatch: fc.constantFrom<"full" | "idle">("full", "idle"),
  probes: fc.uniqueArray(fc.integer({ min: 5, max: 150 }), { minLength: 1, maxLength: 5 })
}).map(({ extraFloodProducers, ...spec }) => ({
  ...spec,
  floodProducers: extraFloodProducers + spec.maxQueueSize +
    spec.maxBatchSize * (spec.maxConcurrentBatches + spec.prefetchBatches + 1)
}))

const FLOOD_MILLIS = 400

/**
 * The records that can be ahead of a probe: the queue, the waiting flood
 * producers (one record each), the batches in process, prefetched and open,
 * counted as whole batches; each takes `latency`, plus the probe's own batch
 * timeout (and, in "aging" mode, the aging time before it outranks the flood).
 */
const waitBound = (spec: WaitSpec) => {
  const records = spec.maxQueueSize + spec.floodProducers +
    spec.maxBatchSize * (spec.maxConcurrentBatches + spec.prefetchBatches + 1)
  const batches = Math.ceil(records / spec.maxBatchSize) + spec.prefetchBatches + spec.maxConcurrentBatches + 2
  return spec.batchTimeout + (spec.mode === "aging" ? spec.priorityAging : 0) + batches * spec.latency
}

/**
 * Flood producers resubmit as soon as they have their result, for
 * FLOOD_MILLIS, keeping the queue full; probes submit one record each at
 * their moments. Every probe must have its result within `waitBound` — far
 * less than the flood lasts, so a probe that starved behind the flood fails.
 */
const runWait = (spec: WaitSpec) =>
  Effect.gen(function*() {
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<{ readonly key: string }>) =>
        Effect.as(Effect.sleep(spec.latency), batch.map((r) => r.key)),
      ...(spec.mode === "keys"
        ? { groupBy: (r: { readonly key: string }) => r.key }
        : { priorityAging: spec.priorityAging }),
      maxBatchSize: spec.maxBatchSize,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches,
      maxConcurrentBatches: spec.maxConcurrentBatches,
      batchTimeout: spec.batchTimeout,
      dispatch: spec.dispatch
    }).pipe(Effect.orDie)
    let flooding = true
    const floodPriority = spec.mode === "aging" ? 5 : 0
    const flood = Effect.gen(function*() {
      while (flooding) {
        // a submit still waiting for room when the batcher shuts down fails: that ends the flood too
        const exit = yield* Effect.exit(batcher.submit({ key: "flood" }, { priority: floodPriority }))
        if (Exit.isFailure(exit)) return
      }
    })
    const floods = yield* Effect.forEach(Array.from({ length: spec.floodProducers }), () => Effect.forkChild(flood))
    const waits: Array<{ readonly at: number; waited: number | undefined }> = []
    const probes = yield* Effect.forEach(spec.probes, (at) => {
      const probe = { at, waited: undefined as number | undefined }
      waits.push(probe)
      return Effect.forkChild(Effect.gen(function*() {
        yield* Effect.sleep(at)
        // after an early shutdown (a starved probe) the later probes fail: they stay unmeasured
        const exit = yield* Effect.exit(batcher.submit({ key: "quiet" }, { priority: 0 }))
        if (Exit.isSuccess(exit)) probe.waited = (yield* Clock.currentTimeMillis) - at
      }))
    })
    const bound = waitBound(spec)
    let starved: string | undefined
    for (let now = 0; now < FLOOD_MILLIS && starved === undefined; now++) {
      yield* TestClock.adjust(1)
      yield* settle(10)
      const probe = waits.find((p) => p.waited === undefined && now - p.at > bound)
      if (probe !== undefined) {
        starved = `t=${now}: a probe submitted at t=${probe.at} still waits after ${
          now - probe.at
        } ms (bound ${bound} ms)`
      }
    }
    // shut down while the clock moves, so that what is in process finishes and every fiber ends
    flooding = false
    const shutdown = yield* Effect.forkChild(batcher.shutdown)
    for (let steps = 0; !isDone(shutdown); steps++) {
      if (steps > 10_000) return ["shutdown never finished"]
      yield* TestClock.adjust(5)
    }
    // probes not yet due when a starved one ended the flood early still sleep: they are not needed
    yield* Fiber.interruptAll([...floods, ...probes])
    if (starved !== undefined) return [starved]
    const late = waits.filter((w) => w.waited === undefined || w.waited > bound)
    return late.map((w) => `a probe submitted at t=${w.at} waited ${w.waited} ms (bound ${bound} ms)`)
  }).pipe(Effect.scoped)

// -----------------------------------------------------------------------------
// the properties
// -----------------------------------------------------------------------------

const assertProperty = propertyAsserter(SEED, "packages/dynamic-batcher/test/scheduling/model.test.ts")

describe("scheduling model", () => {
  it(
    "slots, keys, levels, deadlines and reconfiguration keep every record exactly once, in order, on time",
    async () => {
      await assertProperty(
        "the scheduling invariants",
        caseArb,
        async (spec) => checkCase(await runEffect(runCase(spec))),
        RUNS
      )
    },
    120_000
  )

  it(
    "under a saturating load, another key's record and (with priorityAging) a low level's record wait a bounded time",
    async () => {
      await assertProperty("bounded waits", waitArb, (spec) => runEffect(runWait(spec)), WAIT_RUNS, true)
    },
    120_000
  )
})
