/**
 * The batcher's fibers. Each only sequences the engine's synchronous
 * transitions with waits; all decisions live in `engine.ts`.
 *
 * - The aggregation loop fills the open batches from the queues and seals
 *   them into the handoff (at most `prefetchBatches` batches).
 * - Each slot (`maxConcurrentBatches` of them) takes one sealed batch at a
 *   time, runs `process` in a span linked to every producer's span, and
 *   delivers each record's result.
 *
 * Each parks on a `Signal` that the other side notifies, and Effect resumes a
 * parked fiber inline: a burst of submits is batched and processed inside the
 * submits themselves, with no scheduler round trip per batch.
 */
import { Context, Effect, type Exit, Fiber, Tracer } from "effect"
import type { BatchInfo } from "../Batcher.ts"
import type { Engine } from "./engine.ts"
import type { InFlight, Outcome, Slot } from "./executor.ts"

/**
 * The engines whose `process` call the current fiber runs in (or was forked
 * from). A batcher's `shutdown` reads it to start its own shutdown without
 * waiting for itself; any other batcher's shutdown still waits.
 */
export const InsideProcess = Context.Reference<ReadonlySet<object>>("effect-dynamic-batcher/InsideProcess", {
  defaultValue: () => new Set()
})

/**
 * Each loop yields to the scheduler after this many steps in a row that did
 * not wait: delivering results resumes producers inline and they refill the
 * queue, so without it a synchronous `process` would starve the event loop.
 */
const stepsBetweenYields = 8

/**
 * The processing loop also yields after this many batches in a row whose
 * deliveries made producers submit again: parked loops are resumed inline, so
 * such producers chain batch after batch in one synchronous run. A burst of
 * new submits is still processed inline, as it arrives.
 */
const fedBatchesBetweenYields = 64

/**
 * Fills and seals batches until shutdown has sealed every accepted record.
 *
 * The earliest batch timeout or record deadline is kept by one timer fiber
 * that notifies the loop's signal when it fires. It stays armed while the
 * loop is woken for other reasons and while later batches open (their
 * timeouts are later: the loop re-arms when it fires), so a burst of batches
 * that fill before their timeout arms about one timer per `batchTimeout`,
 * not one per batch.
 */
export const aggregationLoop = <Rec, Res, Err>(engine: Engine<Rec, Res, Err>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const signal = engine.aggregatorSignal
    /** The deadline (engine time) the armed timer fires at; infinite when none is armed. */
    let timerAt = Number.POSITIVE_INFINITY
    let timer: Fiber.Fiber<void> | undefined
    const fired = Effect.sync(() => {
      timer = undefined
      timerAt = Number.POSITIVE_INFINITY
      signal.notify()
    })
    for (let spins = 0;;) {
      const next = engine.aggregate()
      if (next._tag === "Finished") {
        timer?.interruptUnsafe()
        return engine.endHandoff()
      }
      if (next._tag === "ParkUntilNextRound") {
        yield* Effect.withFiber((fiber) => {
          fiber.currentDispatcher.scheduleTask(() => signal.notify(), 0)
          return signal.wait
        })
        continue
      }
      if (next._tag === "Continue" || signal.isPending) {
        if (++spins % stepsBetweenYields === 0) yield* Effect.yieldNow
        if (next._tag === "Continue") continue
      } else {
        spins = 0
      }
      if (next._tag === "ParkUntil" && next.at < timerAt) {
        timer?.interruptUnsafe()
        timerAt = next.at
        timer = yield* Effect.forkChild(Effect.andThen(Effect.sleep(next.millis), fired), { startImmediately: true })
      }
      yield* signal.wait
    }
  })

/**
 * One slot: runs sealed batches through `process`, one at a time, until the
 * handoff ends or the slot is no longer configured (`maxConcurrentBatches`
 * lowered). When the next batch is already waiting as one finishes, its
 * `process` starts before the finished batch's results are delivered, so
 * the resource never idles while producers are resumed.
 */
export const slotLoop = <Rec, Res, E, R>(
  engine: Engine<Rec, Res, any>,
  slot: Slot,
  process: (batch: ReadonlyArray<Rec>, info: BatchInfo) => Effect.Effect<ReadonlyArray<Res>, E, R>,
  name: string,
  afterBatch: () => void
): Effect.Effect<void, never, R> =>
  Effect.flatMap(InsideProcess, (outer) =>
    Effect.provideService(
      runBatches(engine, slot, process, name, afterBatch),
      InsideProcess,
      new Set(outer).add(engine)
    ))

/** The slot loop itself; it runs with its engine in `InsideProcess`, which each `process` inherits. */
const runBatches = <Rec, Res, E, R>(
  engine: Engine<Rec, Res, any>,
  slot: Slot,
  process: (batch: ReadonlyArray<Rec>, info: BatchInfo) => Effect.Effect<ReadonlyArray<Res>, E, R>,
  name: string,
  afterBatch: () => void
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    // Effect's built-in tracer exports nothing: without another tracer, a
    // batch gets its span only to link producer spans. A span costs several
    // microseconds right where the resource waits for its next batch.
    const tracerExports = (yield* Effect.tracer) !== Tracer.nativeTracer
    /** `process` on a batch `takeBatch` just put in flight, with its span when it has one, as an `Exit`. */
    const run = (batch: InFlight<Rec, Res, any>) => {
      const records = batch.records
      const info = batch.info
      const producerSpans = batch.spans
      const run = Effect.suspend(() => process(records, info))
      const traced = !tracerExports && producerSpans === undefined ? run : run.pipe(
        Effect.withSpan("Batcher.process", {
          // One link per distinct producer span, as Effect's `RequestResolver.withSpan` does.
          links: producerSpans === undefined ? [] : Array.from(producerSpans, (span) => ({ span, attributes: {} })),
          attributes: info.key === undefined
            ? { "batcher.name": name, "batcher.batch_size": records.length, "batcher.batch_cost": info.cost }
            : {
              "batcher.name": name,
              "batcher.batch_size": records.length,
              "batcher.batch_cost": info.cost,
              "batcher.group": info.key
            }
        }, noStackTrace)
      )
      return Effect.exit(traced)
    }
    /**
     * What waits for the batch in `process` to first wait: reporting its start
     * (which wakes the aggregation loop to seal the next batch) and delivering
     * the batch before it. Both run on a microtask, once `process` waits, or
     * before the batch settles, whichever comes first: the resource gets its
     * next batch before producers are resumed.
     */
    let starting: InFlight<Rec, Res, any> | undefined
    let finished: InFlight<Rec, Res, any> | undefined
    let finishedOutcome: Outcome<Res, any> | undefined
    /** `running`: `process` is still waiting (false when it already returned). */
    const afterStart = (running: boolean) => {
      const batch = starting
      if (batch === undefined) return
      starting = undefined
      engine.processStarted(batch, running)
      const previous = finished
      if (previous === undefined) return
      const outcome = finishedOutcome!
      finished = undefined
      finishedOutcome = undefined
      engine.deliver(previous, outcome)
    }
    const afterStartWhileRunning = () => afterStart(true)
    let spins = 0
    let fedBatches = 0
    let yieldDue = false
    // The slot keeps a batch and its outcome only until they are delivered:
    // waiting for the next batch, it holds no record, entry or result of the last one.
    let batch: InFlight<Rec, Res, any> | undefined
    let exit: Exit.Exit<ReadonlyArray<Res>, E> | undefined
    let outcome: Outcome<Res, any> | undefined
    for (;;) {
      if (batch === undefined) {
        // Wait for the next batch as long as this slot is needed.
        while (!engine.slotDone(slot) && (batch = engine.takeBatch()) === undefined) {
          engine.slotWaiting(slot)
          if (!slot.signal.isPending) spins = 0
          yield* slot.signal.wait
        }
        if (batch === undefined) return
        starting = batch
        queueMicrotask(afterStartWhileRunning)
      }
      exit = yield* run(batch)
      // A due yield waits until `process` returned: before it started, the
      // resource would idle through the yield and the last batch's delivery.
      if (yieldDue) {
        yieldDue = false
        yield* Effect.yieldNow
      }
      afterStart(false)
      outcome = engine.settleBatch(batch, exit)
      exit = undefined
      const next = engine.slotDone(slot) ? undefined : engine.takeBatch()
      if (next === undefined) {
        if (outcome !== undefined) engine.deliver(batch, outcome)
      } else {
        starting = next
        if (outcome !== undefined) {
          finished = batch
          finishedOutcome = outcome
        }
        queueMicrotask(afterStartWhileRunning)
      }
      batch = next
      outcome = undefined
      afterBatch()
      const executor = engine.executor
      fedBatches = executor.fedByDelivery ? fedBatches + 1 : 0
      executor.fedByDelivery = false
      if (++spins % stepsBetweenYields === 0 || fedBatches === fedBatchesBetweenYields) {
        fedBatches = 0
        yieldDue = true
      }
    }
  })

/** A stack trace per batch would point into this loop, not the user's code, and costs more than the span. */
const noStackTrace = { captureStackTrace: false } as const
