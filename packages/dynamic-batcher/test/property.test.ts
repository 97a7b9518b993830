/**
 * Property-based tests: random options × random workloads, under the
 * TestClock, seeded (set PROPERTY_SEED to replay; the seed is printed on
 * failure). Each case builds a batcher, drives arrivals, producer
 * interruptions, per-batch faults and a shutdown at a random moment, then
 * checks the invariants listed on `checkCase`.
 *
 * Instrumentation: the batcher's own fibers run with
 * `PreventSchedulerYield`, so no scheduler yield separates "records handed to
 * process" from "process called" — that makes "an interrupted producer's
 * record never reaches a process call that started after the interruption"
 * an exact check. Producers, on the contrary, run with random
 * `MaxOpsBeforeYield` budgets (down to 3 operations), so they are
 * interrupted at many different points of `submit`.
 */
import { describe, it } from "@effect/vitest"
import { Cause, Clock, Data, Deferred, Effect, Exit, Fiber, Scheduler, Scope } from "effect"
import { Batcher, BatcherShutdownError, ResultCountMismatchError } from "effect-dynamic-batcher"
import type { BatcherError, BatchStats } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { isDone, settle, statsProblems } from "./support/harness.ts"
import { propertyAsserter, runEffect } from "./support/property.ts"

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_128)
const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
/** The main property is cheap (~3 ms a case): it gets five times the runs. */
const MAIN_RUNS = Number(process.env.PROPERTY_RUNS ?? 1000)

// -----------------------------------------------------------------------------
// the model of a case
// -----------------------------------------------------------------------------

type Outcome = "ok" | "fail" | "die" | "throw" | "wrong" | "nonarray" | "interrupt" | "shutdown"
type Api = "submit" | "submitAll" | "offer" | "offerAll"

interface ProducerSpec {
  readonly at: number
  /** How many calls the producer makes, one after the other (each as soon as the previous returned). */
  readonly repeat: number
  readonly api: Api
  readonly costs: ReadonlyArray<number>
  readonly opsBudget: number
  readonly interrupt: { readonly at: number; readonly turns: number } | undefined
}

interface CaseSpec {
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly dispatch: "full" | "idle"
  readonly shutdownTimeout: number | undefined
  readonly producers: ReadonlyArray<ProducerSpec>
  readonly outcomes: ReadonlyArray<Outcome>
  readonly latencies: ReadonlyArray<number>
  readonly shutdownAt: number
  readonly shutdownVia: "shutdown" | "scope"
}

const costArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => n / 10) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 400 }) }
)

const producerArb: fc.Arbitrary<ProducerSpec> = fc.record({
  at: fc.integer({ min: 0, max: 40 }),
  repeat: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) }),
  api: fc.constantFrom<Api>("submit", "submit", "submit", "submitAll", "offer", "offerAll"),
  costs: fc.array(costArb, { minLength: 1, maxLength: 4 }),
  opsBudget: fc.constantFrom(2048, 2048, 3, 5, 9, 40),
  interrupt: fc.option(
    fc.record({
      after: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 5 }) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 90 }) }
      ),
      turns: fc.integer({ min: 0, max: 12 })
    }),
    { nil: undefined, freq: 4 }
  )
}).map(({ interrupt, ...rest }) => ({
  ...rest,
  interrupt: interrupt === undefined ? undefined : { at: rest.at + interrupt.after, turns: interrupt.turns }
}))

const outcomeArb = fc.oneof(
  { weight: 24, arbitrary: fc.constant<Outcome>("ok") },
  { weight: 2, arbitrary: fc.constant<Outcome>("fail") },
  { weight: 1, arbitrary: fc.constant<Outcome>("die") },
  { weight: 1, arbitrary: fc.constant<Outcome>("throw") },
  { weight: 1, arbitrary: fc.constant<Outcome>("wrong") },
  { weight: 1, arbitrary: fc.constant<Outcome>("nonarray") },
  { weight: 1, arbitrary: fc.constant<Outcome>("interrupt") },
  { weight: 1, arbitrary: fc.constant<Outcome>("shutdown") }
)

const caseArb: fc.Arbitrary<CaseSpec> = fc
  .record({
    maxBatchSize: fc.integer({ min: 1, max: 64 }),
    minBatchSizeSeed: fc.integer({ min: 1, max: 64 }),
    targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 5, max: 500 }).map((n) => n / 10)),
    batchTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
    maxQueueSize: fc.integer({ min: 1, max: 64 }),
    prefetchBatches: fc.integer({ min: 1, max: 4 }),
    dispatch: fc.constantFrom<"full" | "idle">("full", "idle"),
    shutdownTimeout: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined, freq: 5 }),
    producers: fc.array(producerArb, { minLength: 0, maxLength: 60, size: "large" }),
    outcomes: fc.array(outcomeArb, { minLength: 1, maxLength: 12 }),
    latencies: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 6 }),
    shutdownAt: fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }) },
      { weight: 4, arbitrary: fc.integer({ min: 20, max: 120 }) }
    ),
    shutdownVia: fc.constantFrom<"shutdown" | "scope">("shutdown", "scope")
  })
  .map(({ minBatchSizeSeed, ...rest }) => ({
    ...rest,
    minBatchSize: 1 + ((minBatchSizeSeed - 1) % rest.maxBatchSize)
  }))

// -----------------------------------------------------------------------------
// running a case
// -----------------------------------------------------------------------------

interface Rec {
  readonly id: number
  readonly cost: number
  readonly producer: number
}

class Boom extends Data.TaggedError("Boom")<{ readonly batch: number }> {}

class BatchDefect extends Error {
  readonly batch: number
  constructor(batch: number, kind: string) {
    super(`batch ${batch} ${kind}`)
    this.batch = batch
  }
}

const resultOf = (rec: Rec) => rec.id * 2 + 1

interface BatchLog {
  readonly index: number
  readonly ids: ReadonlyArray<number>
  readonly cost: number
  readonly outcome: Outcome
  /** Interrupted from outside (shutdownTimeout), not by its own `Effect.interrupt`. */
  interrupted: boolean
}

/** One call of a producer (a producer with `repeat` > 1 has several, sharing its fiber). */
interface ProducerRun {
  readonly spec: ProducerSpec
  readonly recs: ReadonlyArray<Rec>
  fiber: Fiber.Fiber<void> | undefined
  /** The API call was entered. */
  called: boolean
  /** The call's own exit (undefined if the producer was interrupted during the call). */
  exit: Exit.Exit<unknown, unknown> | undefined
  /** offer/offerAll: the deferreds it got back. */
  deferreds: ReadonlyArray<Deferred.Deferred<number, Boom | BatcherError>> | undefined
  /** Number of process calls started when the interruption completed. */
  interruptedAfterBatches: number | undefined
}

interface CaseRun {
  readonly spec: CaseSpec
  readonly batches: Array<BatchLog>
  readonly estimated: Array<number>
  readonly producers: Array<ProducerRun>
  readonly problems: Array<string>
  finalStats: BatchStats | undefined
  isRunningAfter: boolean | undefined
  /** The shutdown took longer than shutdownTimeout (so it gave up on the undelivered records). */
  shutdownTimedOut: boolean
}

const expectedStatsSampleBound = (spec: CaseSpec) => spec.maxQueueSize + spec.maxBatchSize * (spec.prefetchBatches + 1)

const runCase = (spec: CaseSpec): Effect.Effect<CaseRun> =>
  Effect.gen(function*() {
    const run: CaseRun = {
      spec,
      batches: [],
      estimated: [],
      producers: [],
      problems: [],
      finalStats: undefined,
      isRunningAfter: undefined,
      shutdownTimedOut: false
    }
    const problem = (message: string) => {
      if (run.problems.length < 20) run.problems.push(message)
    }
    let nextId = 0
    const groups: Array<Array<ProducerRun>> = []
    for (let p = 0; p < spec.producers.length; p++) {
      const producer = spec.producers[p]
      const count = producer.api === "submit" || producer.api === "offer" ? 1 : producer.costs.length
      const group: Array<ProducerRun> = []
      for (let k = 0; k < producer.repeat; k++) {
        const recs = producer.costs.slice(0, count).map((cost) => ({ id: nextId++, cost, producer: p }))
        group.push({
          spec: producer,
          recs,
          fiber: undefined,
          called: false,
          exit: undefined,
          deferreds: undefined,
          interruptedAfterBatches: undefined
        })
      }
      groups.push(group)
      run.producers.push(...group)
    }

    let inFlight = 0
    /** process calls running right now: never more than one. */
    let active = 0
    const ref: { batcher?: Batcher.Batcher<Rec, number, Boom> } = {}
    const process = (batch: ReadonlyArray<Rec>): Effect.Effect<ReadonlyArray<number>, Boom> => {
      const index = run.batches.length
      const outcome = spec.outcomes[index % spec.outcomes.length]
      const log: BatchLog = {
        index,
        ids: batch.map((r) => r.id),
        cost: batch.reduce((sum, r) => sum + r.cost, 0),
        outcome,
        interrupted: false
      }
      run.batches.push(log)
      if (active > 0) problem(`batch ${index} started while another process call was still running`)
      if (outcome === "throw") throw new BatchDefect(index, "threw")
      inFlight = batch.length
      active++
      const latency = spec.latencies[index % spec.latencies.length]
      const body: Effect.Effect<ReadonlyArray<number>, Boom> = Effect.suspend(() => {
        switch (outcome) {
          case "ok":
            return Effect.succeed(batch.map(resultOf))
          case "fail":
            return Effect.fail(new Boom({ batch: index }))
          case "die":
            return Effect.die(new BatchDefect(index, "died"))
          case "wrong":
            return Effect.succeed(batch.length > 1 ? batch.slice(1).map(resultOf) : [1, 2])
          case "nonarray":
            return Effect.succeed({ length: batch.length } as unknown as ReadonlyArray<number>)
          case "interrupt":
            return Effect.interrupt
          case "shutdown":
            return Effect.as(ref.batcher!.shutdown, batch.map(resultOf))
        }
      })
      // process can only be interrupted from outside (shutdownTimeout) while it sleeps
      const sleep = Effect.onInterrupt(Effect.sleep(latency), () =>
        Effect.sync(() => {
          log.interrupted = true
        }))
      return (latency === 0 ? body : Effect.andThen(sleep, body)).pipe(
        Effect.ensuring(Effect.sync(() => {
          inFlight = 0
          active--
        }))
      )
    }

    const scope = yield* Scope.make()
    const b = yield* Batcher.make({
      process,
      costEstimator: (rec: Rec) => {
        run.estimated.push(rec.id)
        return rec.cost
      },
      maxBatchSize: spec.maxBatchSize,
      minBatchSize: spec.minBatchSize,
      targetBatchCost: spec.targetBatchCost,
      batchTimeout: spec.batchTimeout,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches,
      dispatch: spec.dispatch,
      shutdownTimeout: spec.shutdownTimeout
    }).pipe(
      Scope.provide(scope),
      Effect.provideService(Scheduler.PreventSchedulerYield, true),
      Effect.orDie
    )
    ref.batcher = b

    // producers: one fiber per producer, making its calls one after the other
    const callOf = (producer: ProducerRun): Effect.Effect<void> => {
      const { spec: ps, recs } = producer
      return Effect.suspend(() => {
        producer.called = true
        switch (ps.api) {
          case "submit":
            return Effect.map(Effect.exit(b.submit(recs[0])), (exit) => {
              producer.exit = exit
            })
          case "submitAll":
            return Effect.map(Effect.exit(b.submitAll(recs)), (exit) => {
              producer.exit = exit
            })
          case "offer":
            return Effect.map(Effect.exit(b.offer(recs[0])), (exit) => {
              producer.exit = exit
              if (Exit.isSuccess(exit)) producer.deferreds = [exit.value]
            })
          case "offerAll":
            return Effect.map(Effect.exit(b.offerAll(recs)), (exit) => {
              producer.exit = exit
              if (Exit.isSuccess(exit)) producer.deferreds = exit.value
            })
        }
      })
    }
    for (const group of groups) {
      const ps = group[0].spec
      const calls = Effect.forEach(group, callOf, { discard: true })
      const body = ps.at === 0 ? calls : Effect.andThen(Effect.sleep(ps.at), calls)
      const fiber = yield* Effect.forkChild(Effect.provideService(body, Scheduler.MaxOpsBeforeYield, ps.opsBudget))
      for (const producer of group) producer.fiber = fiber
    }

    // the driver: 1 ms steps while events remain, then bigger steps
    const interrupts = groups
      .filter((group) => group[0].spec.interrupt !== undefined)
      .sort((a, b) => a[0].spec.interrupt!.at - b[0].spec.interrupt!.at)
    let nextInterrupt = 0
    let shutdownFiber: Fiber.Fiber<void> | undefined
    let shutdownDoneAt: number | undefined
    let shutdownElapsed = 0
    const lastEvent = Math.max(
      spec.shutdownAt,
      ...run.producers.map((p) => Math.max(p.spec.at, p.spec.interrupt?.at ?? 0))
    )
    const sample = (now: number) => {
      const stats = Effect.runSync(b.stats)
      for (const p of statsProblems(stats, inFlight)) problem(`t=${now}: ${p}`)
      if (stats.queueSize > expectedStatsSampleBound(spec)) {
        problem(`t=${now}: queueSize ${stats.queueSize} exceeds maxQueueSize + open + prefetched batches`)
      }
    }
    let now = 0
    for (let step = 0;; step++) {
      if (now === spec.shutdownAt && shutdownFiber === undefined) {
        const stop = spec.shutdownVia === "shutdown" ? b.shutdown : Scope.close(scope, Exit.void)
        shutdownFiber = yield* Effect.forkChild(Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          yield* stop
          shutdownElapsed = (yield* Clock.currentTimeMillis) - start
        }))
      }
      while (nextInterrupt < interrupts.length && interrupts[nextInterrupt][0].spec.interrupt!.at <= now) {
        const group = interrupts[nextInterrupt++]
        yield* settle(group[0].spec.interrupt!.turns)
        const fiber = group[0].fiber!
        const wasDone = isDone(fiber)
        yield* Fiber.interrupt(fiber)
        // the call in progress (if any) was interrupted; the later ones never start
        for (const victim of group) {
          if (!wasDone && victim.called && victim.exit === undefined) {
            victim.interruptedAfterBatches = run.batches.length
          }
        }
      }
      sample(now)
      if (shutdownFiber !== undefined && shutdownDoneAt === undefined && isDone(shutdownFiber)) shutdownDoneAt = now
      if (shutdownDoneAt !== undefined && now > lastEvent) break
      if (step > 20_000) {
        problem(`shutdown did not finish by t=${now} (hang)`)
        break
      }
      const dt = now < lastEvent ? 1 : 7
      yield* TestClock.adjust(dt)
      now += dt
    }
    yield* settle(20)
    run.shutdownTimedOut = spec.shutdownTimeout !== undefined && shutdownElapsed >= spec.shutdownTimeout
    for (const producer of run.producers) {
      if (!isDone(producer.fiber!)) problem(`producer ${producer.recs[0]?.id} still running after shutdown`)
    }
    run.finalStats = yield* b.stats
    run.isRunningAfter = yield* b.isRunning
    if (spec.shutdownVia === "shutdown") yield* Scope.close(scope, Exit.void)
    return run
  })

// -----------------------------------------------------------------------------
// the invariants
// -----------------------------------------------------------------------------

const EPSILON = 1e-9

/** What a record's result must look like when its batch ran through process. */
const expectedFor = (rec: Rec, batch: BatchLog, exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (batch.interrupted) {
    const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
    return error?._tag === "Some" && error.value instanceof BatcherShutdownError
      ? undefined
      : `record ${rec.id} was in batch ${batch.index} interrupted by shutdownTimeout but did not get BatcherShutdownError`
  }
  const describeExit = () => Exit.isSuccess(exit) ? `success ${String(exit.value)}` : Cause.pretty(exit.cause)
  const failWith = (ok: boolean, what: string) =>
    ok
      ? undefined
      : `record ${rec.id} (batch ${batch.index}, ${batch.outcome}): expected ${what}, got ${describeExit()}`
  const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
  const defect = Exit.isFailure(exit) ? Cause.findDefect(exit.cause) : undefined
  switch (batch.outcome) {
    case "ok":
    case "shutdown":
      return failWith(Exit.isSuccess(exit) && exit.value === resultOf(rec), `its own value ${resultOf(rec)}`)
    case "fail":
      return failWith(
        error?._tag === "Some" && error.value instanceof Boom && error.value.batch === batch.index,
        `Boom of batch ${batch.index}`
      )
    case "die":
    case "throw":
      return failWith(
        defect?._tag === "Success" && defect.success instanceof BatchDefect && defect.success.batch === batch.index,
        `the defect of batch ${batch.index}`
      )
    case "wrong":
      return failWith(
        error?._tag === "Some" && error.value instanceof ResultCountMismatchError &&
          error.value.expected === batch.ids.length,
        "ResultCountMismatchError"
      )
    case "nonarray":
      return failWith(defect?._tag === "Success" && defect.success instanceof TypeError, "a TypeError defect")
    case "interrupt":
      return failWith(Exit.isFailure(exit) && Cause.hasInterrupts(exit.cause), "an interruption")
  }
}

const isShutdownError = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return false
  const error = Cause.findErrorOption(exit.cause)
  return error._tag === "Some" && error.value instanceof BatcherShutdownError
}

/**
 * The invariants of every case:
 * 1. process sees each record at most once, never an empty batch;
 * 2. no batch exceeds maxBatchSize, nor targetBatchCost unless it is one record; process runs one
 *    batch at a time;
 * 3. records reach process in submission order (the order of the cost estimator's calls);
 * 4. an interrupted submit/submitAll's records never reach a process call started after the interruption;
 * 5. every accepted record whose producer is not interrupted gets exactly its result: its own
 *    value or its batch's failure / defect / ResultCountMismatchError / interruption, or
 *    BatcherShutdownError only if process never finished it; no producer hangs;
 * 6. stats add up at every sampled moment and at the end: submitted = completed + withdrawn +
 *    queueSize + in flight, failed <= completed, completed = records process saw (without a
 *    shutdownTimeout), failed = records of failed batches, batches = process calls;
 * 7. after shutdown nothing is pending (queueSize 0) and isRunning is false.
 */
const checkCase = (run: CaseRun): Array<string> => {
  const problems = [...run.problems]
  const { batches, spec } = run
  const recById = new Map<number, Rec>()
  for (const p of run.producers) for (const r of p.recs) recById.set(r.id, r)

  // 1
  const batchOf = new Map<number, BatchLog>()
  for (const batch of batches) {
    if (batch.ids.length === 0) problems.push(`batch ${batch.index} is empty`)
    for (const id of batch.ids) {
      if (batchOf.has(id)) {
        problems.push(`record ${id} reached process twice (batches ${batchOf.get(id)!.index}, ${batch.index})`)
      }
      batchOf.set(id, batch)
    }
  }
  // 2
  for (const batch of batches) {
    if (batch.ids.length > spec.maxBatchSize) {
      problems.push(`batch ${batch.index} has ${batch.ids.length} records > maxBatchSize ${spec.maxBatchSize}`)
    }
    if (batch.ids.length > 1 && batch.cost > spec.targetBatchCost + EPSILON) {
      problems.push(
        `batch ${batch.index} costs ${batch.cost} > targetBatchCost ${spec.targetBatchCost} with ${batch.ids.length} records`
      )
    }
  }
  // 3
  const order = new Map<number, number>()
  run.estimated.forEach((id, i) => {
    if (!order.has(id)) order.set(id, i)
  })
  let last = -1
  for (const batch of batches) {
    for (const id of batch.ids) {
      const position = order.get(id)
      if (position === undefined) problems.push(`record ${id} reached process without being submitted`)
      else if (position < last) problems.push(`record ${id} reached process out of submission order`)
      else last = position
    }
  }
  // 4 (submit and submitAll only: offer/offerAll hand the records over once they return, and an
  // interruption that lands after they returned but before the caller resumed loses the Deferred
  // while the records stay accepted — Effect's usual "result of a completed effect" race)
  for (const producer of run.producers) {
    const cutoff = producer.interruptedAfterBatches
    if (cutoff === undefined || producer.spec.api === "offer" || producer.spec.api === "offerAll") continue
    for (const rec of producer.recs) {
      const batch = batchOf.get(rec.id)
      if (batch !== undefined && batch.index >= cutoff) {
        problems.push(
          `record ${rec.id}: its producer was interrupted before batch ${batch.index} started, yet process saw it`
        )
      }
    }
  }
  // 5
  for (const producer of run.producers) {
    const { spec: ps, recs, exit } = producer
    if (!producer.called) continue
    if (exit === undefined) {
      if (producer.interruptedAfterBatches === undefined) problems.push(`producer of ${recs[0].id} has no result`)
      continue
    }
    const checkOne = (rec: Rec, recExit: Exit.Exit<unknown, unknown>) => {
      const batch = batchOf.get(rec.id)
      if (batch === undefined) {
        if (!isShutdownError(recExit)) {
          problems.push(`record ${rec.id} never reached process, yet its result is not BatcherShutdownError`)
        }
        return
      }
      const wrong = expectedFor(rec, batch, recExit)
      if (wrong !== undefined) problems.push(wrong)
    }
    if (ps.api === "submit") checkOne(recs[0], exit)
    else if (ps.api === "submitAll") {
      const allOk = recs.every((r) => {
        const batch = batchOf.get(r.id)
        return batch !== undefined && !batch.interrupted && (batch.outcome === "ok" || batch.outcome === "shutdown")
      })
      if (allOk) {
        const expected = recs.map(resultOf)
        if (!Exit.isSuccess(exit) || JSON.stringify(exit.value) !== JSON.stringify(expected)) {
          problems.push(`submitAll of ${recs.map((r) => r.id)} expected ${JSON.stringify(expected)}`)
        }
      } else if (Exit.isSuccess(exit)) {
        problems.push(
          `submitAll of ${recs.map((r) => r.id)} succeeded although one of its records failed or was not processed`
        )
      } else {
        const explained = recs.some((r) => {
          const batch = batchOf.get(r.id)
          return batch === undefined ? isShutdownError(exit) : expectedFor(r, batch, exit) === undefined
        })
        if (!explained) problems.push(`submitAll of ${recs.map((r) => r.id)} failed with ${Cause.pretty(exit.cause)}`)
      }
    } else if (Exit.isSuccess(exit)) {
      producer.deferreds!.forEach((deferred, i) => {
        const polled = Effect.runSync(Deferred.poll(deferred))
        if (polled._tag === "None") {
          problems.push(`record ${recs[i].id}: its Deferred is not done after shutdown`)
          return
        }
        checkOne(recs[i], Effect.runSync(Effect.exit(polled.value)))
      })
    } else if (!isShutdownError(exit)) {
      problems.push(`${ps.api} of ${recs.map((r) => r.id)} failed with ${Cause.pretty(exit.cause)}`)
    }
  }
  // 6, 7
  const stats = run.finalStats!
  problems.push(...statsProblems(stats))
  if (stats.queueSize !== 0) problems.push(`queueSize ${stats.queueSize} after shutdown`)
  if (run.isRunningAfter !== false) problems.push("isRunning is still true after shutdown")
  const seen = batches.reduce((n, b) => n + b.ids.length, 0)
  // records abandoned by shutdownTimeout count as completed and failed without reaching process
  const timedOut = run.shutdownTimedOut
  if (!timedOut && stats.totalCompleted !== seen) {
    problems.push(`totalCompleted ${stats.totalCompleted} != ${seen} records seen by process`)
  }
  if (stats.totalCompleted < seen) {
    problems.push(`totalCompleted ${stats.totalCompleted} < ${seen} records seen by process`)
  }
  const counted = batches.filter((b) => !b.interrupted)
  if (stats.totalBatches !== counted.length) {
    problems.push(`totalBatches ${stats.totalBatches} != ${counted.length} process calls that returned`)
  }
  const failedSeen = counted.filter((b) => b.outcome !== "ok" && b.outcome !== "shutdown").reduce(
    (n, b) => n + b.ids.length,
    0
  )
  if (!timedOut && stats.totalFailed !== failedSeen) {
    problems.push(`totalFailed ${stats.totalFailed} != ${failedSeen} records of failed batches`)
  }
  if (stats.totalFailed < failedSeen) {
    problems.push(`totalFailed ${stats.totalFailed} < ${failedSeen} records of failed batches`)
  }
  const costSeen = counted.reduce((sum, b) => sum + b.cost, 0)
  if (Math.abs(stats.totalBatchCost - costSeen) > 1e-6) {
    problems.push(`totalBatchCost ${stats.totalBatchCost} != ${costSeen}`)
  }
  return problems
}

// -----------------------------------------------------------------------------
// greedy packing (dispatch "full", every record known up front)
// -----------------------------------------------------------------------------

/** The batches the spec's packing rule makes of `costs`, as index lists. */
const greedy = (costs: ReadonlyArray<number>, maxBatchSize: number, target: number): Array<Array<number>> => {
  const out: Array<Array<number>> = []
  let open: Array<number> = []
  let cost = 0
  costs.forEach((c, i) => {
    const full = open.length >= maxBatchSize || cost >= target || (open.length > 0 && cost + c > target)
    if (full) {
      out.push(open)
      open = []
      cost = 0
    }
    open.push(i)
    cost += c
  })
  if (open.length > 0) out.push(open)
  return out
}

interface PackingSpec {
  readonly costs: ReadonlyArray<number>
  readonly maxBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly latency: number
  readonly shutdownAfter: number
}

/**
 * With batchTimeout 0 a batch takes only what is queued at that moment, so a
 * producer still waiting for room may legitimately find the first batch
 * already gone: the greedy shape is then only guaranteed when the whole
 * offerAll fits in the queue at once.
 */
const packingArb: fc.Arbitrary<PackingSpec> = fc.record({
  costs: fc.array(costArb, { minLength: 1, maxLength: 150, size: "large" }),
  maxBatchSize: fc.integer({ min: 1, max: 64 }),
  targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 5, max: 500 }).map((n) => n / 10)),
  batchTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
  maxQueueSize: fc.integer({ min: 1, max: 64 }),
  prefetchBatches: fc.integer({ min: 1, max: 4 }),
  latency: fc.integer({ min: 0, max: 10 }),
  shutdownAfter: fc.integer({ min: 0, max: 200 })
}).map((spec) => spec.batchTimeout === 0 ? { ...spec, maxQueueSize: spec.maxQueueSize + spec.costs.length } : spec)

const runPacking = (spec: PackingSpec) =>
  Effect.gen(function*() {
    const seen: Array<Array<number>> = []
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<number>) => {
        seen.push([...batch])
        const result = Effect.succeed(batch.map((i) => i + 1000))
        return spec.latency === 0 ? result : Effect.andThen(Effect.sleep(spec.latency), result)
      },
      dispatch: "full",
      maxBatchSize: spec.maxBatchSize,
      targetBatchCost: spec.targetBatchCost,
      batchTimeout: spec.batchTimeout,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches
    }).pipe(Effect.orDie)
    const records = spec.costs.map((_, i) => i)
    const offered = yield* Effect.forkChild(batcher.offerAll(records, { costs: spec.costs }))
    let now = 0
    yield* settle()
    while (!isDone(offered)) {
      yield* TestClock.adjust(1)
      yield* settle()
      if (++now > 100_000) return [`offerAll never admitted (t=${now})`]
    }
    const deferreds = yield* Fiber.join(offered).pipe(Effect.orDie)
    yield* TestClock.adjust(spec.shutdownAfter)
    const shutdown = yield* Effect.forkChild(batcher.shutdown)
    while (!isDone(shutdown)) {
      yield* TestClock.adjust(5)
      if (++now > 100_000) return ["shutdown never finished"]
    }
    const results = yield* Effect.forEach(deferreds, (d) => Deferred.await(d)).pipe(Effect.orDie)
    const problems: Array<string> = []
    const expected = greedy(spec.costs, spec.maxBatchSize, spec.targetBatchCost)
    if (JSON.stringify(seen) !== JSON.stringify(expected)) {
      problems.push(`batches ${JSON.stringify(seen)} != greedy packing ${JSON.stringify(expected)}`)
    }
    if (JSON.stringify(results) !== JSON.stringify(records.map((i) => i + 1000))) problems.push("wrong results")
    return problems
  }).pipe(Effect.scoped)

// -----------------------------------------------------------------------------
// dispatch "idle" is work-conserving
// -----------------------------------------------------------------------------

interface IdleSpec {
  readonly arrivals: ReadonlyArray<{ readonly at: number; readonly cost: number }>
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly targetBatchCost: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly latencies: ReadonlyArray<number>
}

const idleArb: fc.Arbitrary<IdleSpec> = fc.record({
  arrivals: fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), cost: costArb }), {
    minLength: 1,
    maxLength: 120,
    size: "large"
  }),
  maxBatchSize: fc.integer({ min: 1, max: 64 }),
  targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 5, max: 500 }).map((n) => n / 10)),
  maxQueueSize: fc.integer({ min: 1, max: 64 }),
  prefetchBatches: fc.integer({ min: 1, max: 4 }),
  latencies: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 6 }),
  minBatchSizeSeed: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 }))
}).map(({ minBatchSizeSeed, ...rest }) => ({ ...rest, minBatchSize: 1 + ((minBatchSizeSeed - 1) % rest.maxBatchSize) }))

/**
 * With dispatch "idle" a free processor never waits for the (one hour)
 * batchTimeout while the queue holds a batch's worth: whenever nothing is in
 * process and every fiber has settled, fewer than minBatchSize records are
 * waiting. With minBatchSize 1 that means every result is delivered by the
 * last arrival plus the time process itself took.
 */
const runIdle = (spec: IdleSpec) =>
  Effect.gen(function*() {
    let busy = 0
    let calls = 0
    let inFlight = 0
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<number>) => {
        const latency = spec.latencies[calls++ % spec.latencies.length]
        busy += latency
        inFlight = batch.length
        const result = Effect.sync(() => {
          inFlight = 0
          return batch.map((i) => i + 1000)
        })
        return latency === 0 ? result : Effect.andThen(Effect.sleep(latency), result)
      },
      dispatch: "idle",
      minBatchSize: spec.minBatchSize,
      batchTimeout: "1 hour",
      maxBatchSize: spec.maxBatchSize,
      targetBatchCost: spec.targetBatchCost,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches
    }).pipe(Effect.orDie)
    const producers = yield* Effect.forEach(spec.arrivals, ({ at, cost }, i) =>
      Effect.forkChild(Effect.andThen(Effect.sleep(at), batcher.submit(i, { cost }))))
    const lastArrival = Math.max(...spec.arrivals.map((a) =>
      a.at
    ))
    yield* settle()
    for (let now = 0; !producers.every(isDone); now++) {
      const stats = Effect.runSync(batcher.stats)
      if (inFlight === 0 && stats.queueSize >= spec.minBatchSize) {
        return [
          `t=${now}: the processor is free, yet ${stats.queueSize} records (minBatchSize ${spec.minBatchSize}) wait`
        ]
      }
      if (now > lastArrival + busy) {
        if (spec.minBatchSize === 1) {
          return [`t=${now}: results still pending after the last arrival (${lastArrival}) + process time (${busy})`]
        }
        break // the last records may be fewer than minBatchSize: they go on the timeout or at shutdown
      }
      yield* TestClock.adjust(1)
      yield* settle()
    }
    const shutdown = yield* Effect.forkChild(batcher.shutdown)
    for (let steps = 0; !isDone(shutdown); steps++) {
      if (steps > 10_000) return ["shutdown never finished"]
      yield* TestClock.adjust(5)
    }
    const results = yield* Fiber.joinAll(producers).pipe(Effect.orDie)
    if (JSON.stringify(results) !== JSON.stringify(spec.arrivals.map((_, i) => i + 1000))) return ["wrong results"]
    return []
  }).pipe(Effect.scoped)

// -----------------------------------------------------------------------------
// timeliness: no record waits longer than batchTimeout for a free processor
// -----------------------------------------------------------------------------

interface TimelySpec {
  readonly arrivals: ReadonlyArray<{ readonly at: number; readonly costs: ReadonlyArray<number> }>
  readonly maxBatchSize: number
  readonly minBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly dispatch: "full" | "idle"
}

const timelyArb: fc.Arbitrary<TimelySpec> = fc
  .record({
    arrivals: fc.array(
      fc.record({ at: fc.integer({ min: 0, max: 60 }), costs: fc.array(costArb, { minLength: 1, maxLength: 4 }) }),
      { minLength: 1, maxLength: 80, size: "large" }
    ),
    maxBatchSize: fc.integer({ min: 1, max: 64 }),
    minBatchSizeSeed: fc.integer({ min: 1, max: 64 }),
    targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 5, max: 500 }).map((n) => n / 10)),
    batchTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 25 })),
    maxQueueSize: fc.integer({ min: 1, max: 64 }),
    prefetchBatches: fc.integer({ min: 1, max: 4 }),
    dispatch: fc.constantFrom<"full" | "idle">("full", "idle")
  })
  .map(({ minBatchSizeSeed, ...rest }) => ({ ...rest, minBatchSize: 1 + ((minBatchSizeSeed - 1) % rest.maxBatchSize) }))

/**
 * With an instant process the processor is always free, so every record must
 * be delivered at most batchTimeout after it was submitted (at once with
 * batchTimeout 0): a full batch goes at once, any other one at the latest
 * when the timeout of its first record expires. A lost wake-up of the
 * aggregation loop shows up here as a record that waits longer.
 */
const runTimely = (spec: TimelySpec) =>
  Effect.gen(function*() {
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<number>) => Effect.succeed(batch.map((i) => i + 1000)),
      dispatch: spec.dispatch,
      minBatchSize: spec.minBatchSize,
      batchTimeout: spec.batchTimeout,
      maxBatchSize: spec.maxBatchSize,
      targetBatchCost: spec.targetBatchCost,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches
    }).pipe(Effect.orDie)
    let nextId = 0
    const producers = yield* Effect.forEach(spec.arrivals, ({ at, costs }) => {
      const ids = costs.map(() => nextId++)
      const call = costs.length === 1
        ? Effect.map(batcher.submit(ids[0], { cost: costs[0] }), (r) => [r])
        : batcher.submitAll(ids, { costs })
      return Effect.map(
        Effect.forkChild(Effect.andThen(Effect.sleep(at), call)),
        (fiber) => ({ at, ids, fiber })
      )
    })
    const last = Math.max(...spec.arrivals.map((a) => a.at))
    yield* settle()
    for (let now = 0; now <= last + spec.batchTimeout + 1; now++) {
      for (const p of producers) {
        if (p.at + spec.batchTimeout <= now && !isDone(p.fiber)) {
          return [`t=${now}: records ${p.ids} submitted at t=${p.at} still waiting (batchTimeout ${spec.batchTimeout})`]
        }
      }
      if (producers.every((p) => isDone(p.fiber))) break
      yield* TestClock.adjust(1)
      yield* settle()
    }
    for (const p of producers) {
      const results = yield* Fiber.join(p.fiber).pipe(Effect.orDie)
      if (JSON.stringify(results) !== JSON.stringify(p.ids.map((i) => i + 1000))) return [`wrong results for ${p.ids}`]
    }
    return []
  }).pipe(Effect.scoped)

// Found BUG-6 (fixed in 6525804).
// -----------------------------------------------------------------------------
// chained producers: each submits again as soon as it has its result
// -----------------------------------------------------------------------------

interface ChainSpec {
  readonly chains: ReadonlyArray<ReadonlyArray<{ readonly api: Api; readonly costs: ReadonlyArray<number> }>>
  readonly maxBatchSize: number
  readonly targetBatchCost: number
  readonly batchTimeout: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
  readonly dispatch: "full" | "idle"
  readonly failing: ReadonlyArray<boolean>
  readonly latencies: ReadonlyArray<number>
}

const chainArb: fc.Arbitrary<ChainSpec> = fc.record({
  chains: fc.array(
    fc.array(
      fc.record({
        api: fc.constantFrom<Api>("submit", "submit", "submitAll", "offer", "offerAll"),
        costs: fc.array(costArb, { minLength: 1, maxLength: 4 })
      }),
      { minLength: 1, maxLength: 12 }
    ),
    { minLength: 1, maxLength: 8 }
  ),
  maxBatchSize: fc.integer({ min: 1, max: 8 }),
  targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 5, max: 100 }).map((n) => n / 10)),
  batchTimeout: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
  maxQueueSize: fc.integer({ min: 1, max: 6 }),
  prefetchBatches: fc.integer({ min: 1, max: 4 }),
  dispatch: fc.constantFrom<"full" | "idle">("full", "idle"),
  failing: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }).map((xs) => xs.map((x, i) => x && i % 2 === 1)),
  latencies: fc.array(
    fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
    {
      minLength: 1,
      maxLength: 4
    }
  )
})

/**
 * Producers that call again the moment they are resumed are the hardest case
 * for FIFO: results are delivered (and producers resumed) while the loops are
 * in the middle of their steps. Every record must still reach process once,
 * in the order of the calls, and every call must get its records' results.
 */
const runChains = (spec: ChainSpec) =>
  Effect.gen(function*() {
    const estimated: Array<number> = []
    const batches: Array<{ readonly ids: ReadonlyArray<number>; readonly failed: boolean }> = []
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<Rec>) => {
        const index = batches.length
        const failed = spec.failing[index % spec.failing.length]
        batches.push({ ids: batch.map((r) => r.id), failed })
        const latency = spec.latencies[index % spec.latencies.length]
        const result: Effect.Effect<ReadonlyArray<number>, Boom> = failed
          ? Effect.fail(new Boom({ batch: index }))
          : Effect.succeed(batch.map(resultOf))
        return latency === 0 ? result : Effect.andThen(Effect.sleep(latency), result)
      },
      costEstimator: (rec: Rec) => {
        estimated.push(rec.id)
        return rec.cost
      },
      maxBatchSize: spec.maxBatchSize,
      targetBatchCost: spec.targetBatchCost,
      batchTimeout: spec.batchTimeout,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches,
      dispatch: spec.dispatch
    }).pipe(Effect.orDie)
    let nextId = 0
    interface Call {
      readonly kind: Api
      readonly recs: ReadonlyArray<Rec>
      exits: ReadonlyArray<Exit.Exit<number, unknown>> | undefined
    }
    const calls: Array<Call> = []
    const producers = yield* Effect.forEach(spec.chains, (chain, p) =>
      Effect.forkChild(Effect.forEach(chain, ({ api, costs }) =>
        Effect.suspend(() => {
          const recs = (api === "submit" || api === "offer" ? costs.slice(0, 1) : costs).map((cost) => ({
            id: nextId++,
            cost,
            producer: p
          }))
          const call: Call = { kind: api, recs, exits: undefined }
          calls.push(call)
          const each = <E>(effect: Effect.Effect<ReadonlyArray<Deferred.Deferred<number, E>>, unknown>) =>
            Effect.flatMap(Effect.orDie(effect), (ds) =>
              Effect.forEach(ds, (d) => Effect.exit(Deferred.await(d))))
          const run: Effect.Effect<ReadonlyArray<Exit.Exit<number, unknown>>> = api === "submit"
            ? Effect.map(Effect.exit(batcher.submit(recs[0])), (e) => [e])
            : api === "submitAll"
            ? Effect.map(Effect.exit(batcher.submitAll(recs)), (e): ReadonlyArray<Exit.Exit<number, unknown>> =>
              Exit.isSuccess(e)
                ? e.value.map((v) => Exit.succeed(v))
                : recs.map(() => Exit.failCause(e.cause)))
            : api === "offer"
            ? each(Effect.map(batcher.offer(recs[0]), (d) => [d]))
            : each(batcher.offerAll(recs))
          return Effect.map(run, (exits) => {
            call.exits = exits
          })
        }), { discard: true })))
    yield* settle()
    for (let now = 0; !producers.every(isDone); now++) {
      if (now > 2_000) {
        return [`producers never finished (t=${now})`]
      }
      yield* TestClock.adjust(1)
      yield* settle()
    }
    // a failed submitAll returns before its later records were processed: drain them
    const shutdown = yield* Effect.forkChild(batcher.shutdown)
    for (let steps = 0; !isDone(shutdown); steps++) {
      if (steps > 2_000) {
        return ["shutdown never finished"]
      }
      yield* TestClock.adjust(1)
    }
    const problems: Array<string> = []
    const batchOf = new Map<number, { readonly index: number; readonly failed: boolean }>()
    batches.forEach((b, index) => {
      for (const id of b.ids) {
        if (batchOf.has(id)) {
          problems.push(`record ${id} reached process twice`)
        }
        batchOf.set(id, { index, failed: b.failed })
      }
    })
    const position = new Map(estimated.map((id, i) =>
      [id, i] as const
    ))
    let last = -1
    for (const b of batches) {
      for (const id of b.ids) {
        const at = position.get(id) ?? -1
        if (at < last) problems.push(`record ${id} reached process out of submission order`)
        else last = at
      }
    }
    for (const call of calls) {
      if (call.exits === undefined) {
        problems.push(`call of ${call.recs.map((r) => r.id)} got no result`)
        continue
      }
      // submitAll fails as a whole with the first failure; the other APIs have one result per record
      const anyFailed = call.recs.some((rec) => batchOf.get(rec.id)?.failed === true)
      call.recs.forEach((rec, i) => {
        const batch = batchOf.get(rec.id)
        const exit = call.exits![i]
        const failed = call.kind === "submitAll" ? anyFailed : batch?.failed === true
        if (batch === undefined) problems.push(`record ${rec.id} never reached process`)
        else if (!failed && (!Exit.isSuccess(exit) || exit.value !== resultOf(rec))) {
          problems.push(`record ${rec.id} expected ${resultOf(rec)}`)
        } else if (failed && Exit.isSuccess(exit)) {
          problems.push(`record ${rec.id} succeeded although its batch failed`)
        }
      })
    }
    const stats = yield* batcher.stats
    problems.push(...statsProblems(stats))
    if (stats.totalCompleted !== nextId) problems.push(`totalCompleted ${stats.totalCompleted} != ${nextId} records`)
    return problems
  }).pipe(Effect.scoped)

// Found BUG-7 (fixed in d064183).
// -----------------------------------------------------------------------------
// dispatch "full": a batch goes the moment it is full, never later
// -----------------------------------------------------------------------------

interface PromptSpec {
  readonly arrivals: ReadonlyArray<{ readonly at: number; readonly cost: number }>
  readonly maxBatchSize: number
  readonly targetBatchCost: number
  readonly maxQueueSize: number
  readonly prefetchBatches: number
}

const promptArb: fc.Arbitrary<PromptSpec> = fc.record({
  arrivals: fc
    .array(fc.record({ at: fc.integer({ min: 0, max: 60 }), cost: costArb }), {
      minLength: 1,
      maxLength: 100,
      size: "large"
    })
    .map((xs) => [...xs].sort((a, b) => a.at - b.at)),
  maxBatchSize: fc.integer({ min: 1, max: 16 }),
  targetBatchCost: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 5, max: 300 }).map((n) => n / 10)),
  maxQueueSize: fc.integer({ min: 1, max: 64 }),
  prefetchBatches: fc.integer({ min: 1, max: 4 })
})

/**
 * With an instant process and a one-hour batchTimeout, each batch must reach
 * process exactly when it became full: at the arrival of its last record when
 * it is full by size or cost, or at the arrival of the record that did not
 * fit; a batch that never fills goes at shutdown. Catches wake-ups of the
 * aggregation loop that are missed (e.g. by floating-point drift of the
 * queued cost) and only made up for by the timeout.
 */
const runPrompt = (spec: PromptSpec) =>
  Effect.gen(function*() {
    const calls: Array<{ readonly at: number; readonly ids: ReadonlyArray<number> }> = []
    const batcher = yield* Batcher.make({
      process: (batch: ReadonlyArray<number>) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          calls.push({ at, ids: [...batch] })
          return batch
        }),
      dispatch: "full",
      batchTimeout: "1 hour",
      maxBatchSize: spec.maxBatchSize,
      targetBatchCost: spec.targetBatchCost,
      maxQueueSize: spec.maxQueueSize,
      prefetchBatches: spec.prefetchBatches
    }).pipe(Effect.orDie)
    // one producer per millisecond, submitting that millisecond's records in order
    const byTime = new Map<number, Array<number>>()
    spec.arrivals.forEach(({ at }, i) => byTime.set(at, [...(byTime.get(at) ?? []), i]))
    const producers = yield* Effect.forEach([...byTime], ([at, ids]) =>
      Effect.forkChild(Effect.andThen(
        Effect.sleep(at),
        Effect.forEach(ids, (i) => batcher.offer(i, { cost: spec.arrivals[i].cost }), { discard: true })
      )))
    const last = spec.arrivals[spec.arrivals.length - 1].at
    yield* settle()
    for (let now = 0; now <= last; now++) {
      yield* TestClock.adjust(1)
      yield* settle()
    }
    const shutdownAt = last + 1
    yield* batcher.shutdown
    yield* Fiber.joinAll(producers).pipe(Effect.orDie)
    const costs = spec.arrivals.map((a) => a.cost)
    const expected = greedy(costs, spec.maxBatchSize, spec.targetBatchCost)
    if (JSON.stringify(calls.map((c) => c.ids)) !== JSON.stringify(expected)) {
      return [`batches ${JSON.stringify(calls.map((c) => c.ids))} != greedy packing ${JSON.stringify(expected)}`]
    }
    const problems: Array<string> = []
    expected.forEach((ids, b) => {
      const cost = ids.reduce((sum, i) => sum + costs[i], 0)
      const fullNow = ids.length >= spec.maxBatchSize || cost >= spec.targetBatchCost
      const closer = expected[b + 1]?.[0]
      const due = fullNow
        ? Math.max(...ids.map((i) => spec.arrivals[i].at))
        : closer !== undefined
        ? spec.arrivals[closer].at
        : shutdownAt
      if (calls[b].at !== due) {
        problems.push(
          `batch ${b} ${JSON.stringify(ids)} (cost ${cost}) reached process at t=${calls[b].at}, due at t=${due}`
        )
      }
    })
    return problems
  }).pipe(Effect.scoped)

// -----------------------------------------------------------------------------
// the properties
// -----------------------------------------------------------------------------

const assertProperties = propertyAsserter(SEED, "packages/dynamic-batcher/test/property.test.ts")
const assertProperty = <T>(
  name: string,
  arb: fc.Arbitrary<T>,
  check: (value: T) => Promise<Array<string>>,
  runs = RUNS
) => assertProperties(name, arb, check, runs)

describe("property", () => {
  it("nothing is lost, duplicated or reordered under random options, faults, interruptions and shutdown", async () => {
    await assertProperty("the batcher invariants", caseArb, async (spec) => {
      const run = await runEffect(runCase(spec))
      if (process.env.PROPERTY_DEBUG) {
        const s = run.finalStats!
        console.log(JSON.stringify({
          producers: spec.producers.length,
          batches: run.batches.length,
          submitted: s.totalSubmitted,
          completed: s.totalCompleted,
          failed: s.totalFailed,
          withdrawn: s.totalWithdrawn,
          interruptedCalls: run.producers.filter((p) => p.interruptedAfterBatches !== undefined).length,
          timedOut: run.batches.some((b) => b.interrupted),
          shutdownAt: spec.shutdownAt
        }))
      }
      return checkCase(run)
    }, MAIN_RUNS)
  }, 120_000)

  it("producers that submit again as soon as they are resumed keep FIFO and get every result", async () => {
    await assertProperty("chained producers", chainArb, (spec) => runEffect(runChains(spec)))
  }, 120_000)
  // Regression test for BUG-7 (found by the full-batches-go-at-once property, fixed in d064183).
  it("dispatch \"full\": a batch reaches process the moment it is full, never later", async () => {
    await assertProperty("full batches go at once", promptArb, (spec) => runEffect(runPrompt(spec)))
  }, 120_000)
  it("no record waits longer than batchTimeout while the processor is free", async () => {
    await assertProperty("timeliness", timelyArb, (spec) => runEffect(runTimely(spec)))
  }, 120_000)

  it(
    "dispatch \"idle\": a free processor never waits for the batch timeout while minBatchSize records are queued",
    async () => {
      await assertProperty("idle dispatch", idleArb, (spec) => runEffect(runIdle(spec)))
    },
    120_000
  )

  it(
    "dispatch \"full\" packs batches greedily: full at maxBatchSize, at the budget, or before the record that would exceed it",
    async () => {
      await assertProperty("greedy packing", packingArb, (spec) => runEffect(runPacking(spec)))
    },
    120_000
  )
})
