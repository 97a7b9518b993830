/**
 * The batcher's constructor and its implementation of the `Batcher`
 * interface: validates the options, wires the engine to its two fibers, and
 * turns each call into one engine transition.
 */
import type { Context, Scope, Stream } from "effect"
import { Cause, Clock, Deferred, Effect, Fiber, Option } from "effect"
import { constVoid } from "effect/Function"
import type {
  Batcher,
  BatchInfo,
  CurrentTuning,
  Options,
  Reconfiguration,
  SubmitAllOptions,
  SubmitOptions
} from "../Batcher.ts"
import type { BatcherError } from "../BatcherError.ts"
import { BatcherConfigError, countOf, InvalidCostError, InvalidSubmitError } from "../BatcherError.ts"
import type { BatchStats } from "../BatchStats.ts"
import type { EstimateMethod } from "./cost.ts"
import { canEstimateItself, costMethods, CostOf } from "./cost.ts"
import { Engine, inertEngine, shutdownError } from "./engine.ts"
import type { Entry } from "./entry.ts"
import type { OfferEntries } from "./entry.ts"
import { EntryGroup, GeneralResumeEntry, Group, GroupEntry, offerEntries, ResumeEntry } from "./entry.ts"
import { Slot } from "./executor.ts"
import { aggregationLoop, InsideProcess, slotLoop } from "./loops.ts"
import { checkRecordFunctions, defaults, knobsOf, learningOf, validateTuning } from "./options.ts"
import { keyOf, schedule, schedulingOf, unscheduled } from "./producer.ts"
import { policyOf, Recovery } from "./recovery.ts"
import { keepShape } from "./shapes.ts"
import { makeStatsFeed, StatsFeed } from "./statsFeed.ts"
import { ParentSpanReader, Telemetry } from "./telemetry.ts"

export const TypeId = "~effect-dynamic-batcher/Batcher" as const

/**
 * Starts a batcher in the current scope; see `Batcher.make`. `offers` is
 * the kind of entry an offer makes, chosen at load time (tests force the other).
 */
export const make = <Rec, Res, E = never, R = never>(
  options: Options<Rec, Res, E, R>,
  estimateMethods: ReadonlyArray<EstimateMethod> = costMethods,
  offers: OfferEntries = offerEntries
): Effect.Effect<BatcherImpl<Rec, Res, E>, BatcherConfigError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const process = options?.process ?? options?.processExits
    if (typeof process !== "function" || (options.process !== undefined && options.processExits !== undefined)) {
      return yield* new BatcherConfigError({
        option: options?.process === undefined && options?.processExits !== undefined ? "processExits" : "process",
        expected: "exactly one of process (one result per record) and processExits (one Exit per record), " +
          "a function (batch, info) => Effect",
        actual: options?.process ?? options?.processExits
      })
    }
    const policy = policyOf<Rec, E | BatcherError>(options)
    if (policy instanceof BatcherConfigError) return yield* policy
    const badFunction = checkRecordFunctions(options)
    if (badFunction !== undefined) return yield* badFunction
    const learning = learningOf(options)
    if (learning instanceof BatcherConfigError) return yield* learning
    const tuning = yield* validateTuning(options)
    const telemetry = new Telemetry(tuning.name, yield* Effect.context<never>())
    const engine = new Engine<Rec, Res, E | BatcherError>(
      tuning,
      options.groupBy !== undefined,
      yield* Clock.Clock,
      telemetry
    )
    engine.learn(learning.adaptive, learning.predictive)
    const context = yield* Effect.context<R>()
    if (policy !== undefined) {
      engine.executor.recovery = new Recovery(
        policy,
        engine.executor,
        engine.counters,
        telemetry,
        { now: () => engine.now(), watchDeadline: (entry) => engine.watchDeadline(entry) },
        context as Context.Context<never>
      )
    }
    const supervise = <R2>(loop: Effect.Effect<void, never, R2>) =>
      Effect.onExit(loop, (exit) =>
        Effect.sync(() => {
          if (exit._tag === "Failure") engine.abandon(exit.cause)
        }))
    const statsFeed = yield* makeStatsFeed
    const publishStats = () => statsFeed.publish(engine)
    // Announces the end to statsChanges subscribers and to whoever awaits the drain.
    const stopped: Effect.Effect<void> = Effect.suspend(() => {
      statsFeed.end(engine)
      return Deferred.succeed(engine.stopped, undefined)
    })
    // The loops are detached and stopped by the finalizer below, not by the scope's
    // fiber interruption: a graceful drain must let them finish, and a `process`
    // that ignores interruption must not keep the scope from closing.
    // Started at once, so every loop is parked by the time `make` returns and
    // the first submits already wake them inline.
    const aggregator = yield* Effect.forkDetach(supervise(aggregationLoop(engine)), { startImmediately: true })
    const slotFibers = new Set<Fiber.Fiber<void>>()
    const slots = engine.executor.slots
    /** Starts the slots `maxConcurrentBatches` asks for that are not running; the last to stop announces the end. */
    const startSlots = Effect.suspend(() => {
      const forks: Array<Effect.Effect<void>> = []
      for (let index = 0; index < engine.tuning.maxConcurrentBatches; index++) {
        if (slots[index] !== undefined) continue
        const slot = new Slot(index)
        slots[index] = slot
        const loop = supervise(slotLoop(engine, slot, process as Process<Rec, Res, E, R>, tuning.name, publishStats))
          .pipe(
            Effect.ensuring(Effect.suspend(() => {
              engine.executor.slotLeft(slot)
              if (slots[index] === slot) delete slots[index]
              return engine.executor.handoffEnded && slots.every((s) => s === undefined) ? stopped : Effect.void
            })),
            Effect.provideContext(context)
          )
        forks.push(Effect.map(Effect.forkDetach(loop, { startImmediately: true }), (fiber) => {
          slotFibers.add(fiber)
          fiber.addObserver(() => slotFibers.delete(fiber))
        }))
      }
      return Effect.asVoid(Effect.all(forks))
    })
    yield* startSlots
    const timeoutMs = tuning.shutdownTimeoutMs
    const drained = warnWhenSlow(Deferred.await(engine.stopped), engine, tuning.name, timeoutMs)
    const awaitStopped = timeoutMs === undefined ? drained : Effect.flatMap(
      Effect.timeoutOption(drained, timeoutMs),
      Option.match({
        onSome: () => Effect.void,
        onNone: () =>
          Effect.suspend(() => {
            engine.abandon(Cause.fail(shutdownError(`shutdownTimeout of ${timeoutMs} ms expired`)))
            aggregator.interruptUnsafe()
            for (const fiber of slotFibers) fiber.interruptUnsafe()
            // Every record is settled now; the slots end whenever their `process` yields.
            return Effect.andThen(Fiber.await(aggregator), stopped)
          })
      })
    )
    const batcher = new BatcherImpl<Rec, Res, E>(
      engine,
      new CostOf(options.costEstimator, tuning.defaultCost, estimateMethods),
      options.groupBy,
      statsFeed,
      Effect.flatMap(InsideProcess, (inside) =>
        Effect.suspend(() => {
          engine.beginShutdown()
          return inside.has(engine) ? Effect.void : awaitStopped
        })),
      startSlots,
      offers
    )
    yield* Effect.addFinalizer(() => batcher.shutdown)
    return batcher
  })

type Err<E> = E | BatcherError

/** What a slot runs; with `processExits`, its "results" are one `Exit` per record, which `recovery.ts` reads. */
type Process<Rec, Res, E, R> = (batch: ReadonlyArray<Rec>, info: BatchInfo) => Effect.Effect<ReadonlyArray<Res>, E, R>

/** How long a shutdown waits for `process` before it logs a warning. */
const slowShutdownMs = 10_000

/**
 * `drained`, logging a warning (`Effect.logWarning`) once it has waited
 * `slowShutdownMs`: how many records are still in `process` and waiting, and
 * what `shutdownTimeout` does about them. A `process` that never returns
 * would otherwise hang the shutdown without a word.
 */
const warnWhenSlow = (
  drained: Effect.Effect<void>,
  engine: Engine<any, any, any>,
  name: string,
  timeoutMs: number | undefined
): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.timeoutOption(drained, slowShutdownMs),
    Option.match({
      onSome: () => Effect.void,
      onNone: () =>
        Effect.andThen(
          Effect.suspend(() => {
            const { inFlight, pending } = engine.counters
            const waiting = pending > 0 ? `, ${countOf(pending, "record")} waiting behind them` : ""
            const bound = timeoutMs === undefined
              ? "shutdownTimeout is not set, so it waits as long as process runs: set it to bound the wait"
              : `shutdownTimeout fails them after ${timeoutMs} ms`
            return Effect.logWarning(
              `Batcher "${name}": shutdown has waited ${slowShutdownMs / 1000} s for ${
                countOf(inFlight, "record")
              } still in process${waiting}; ${bound}`
            )
          }),
          drained
        )
    })
  )

const notAccepting = () => shutdownError("the batcher is shutting down or stopped and accepts no more records")

export class BatcherImpl<Rec, Res, E> implements Batcher<Rec, Res, E> {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly stats: Effect.Effect<BatchStats>
  readonly statsChanges: Stream.Stream<BatchStats>
  readonly isRunning: Effect.Effect<boolean>
  readonly shutdown: Effect.Effect<void>
  readonly tuning: Effect.Effect<CurrentTuning>
  readonly engine: Engine<Rec, Res, Err<E>>
  readonly costOf: CostOf<Rec>
  readonly groupBy: ((record: Rec) => string | number) | undefined
  private readonly startSlots: Effect.Effect<void>
  private readonly offers: OfferEntries
  private readonly parentSpan = new ParentSpanReader()

  constructor(
    engine: Engine<Rec, Res, Err<E>>,
    costOf: CostOf<Rec>,
    groupBy: ((record: Rec) => string | number) | undefined,
    statsFeed: StatsFeed,
    shutdown: Effect.Effect<void>,
    startSlots: Effect.Effect<void>,
    offers: OfferEntries = offerEntries
  ) {
    this.offers = offers
    this.engine = engine
    this.costOf = costOf
    this.groupBy = groupBy
    this.shutdown = shutdown
    this.startSlots = startSlots
    this.stats = Effect.sync(() => engine.snapshot())
    this.statsChanges = statsFeed.changes(engine)
    this.isRunning = Effect.sync(() => engine.accepting)
    this.tuning = Effect.sync(() => knobsOf(engine.configured))
  }

  reconfigure(patch: Reconfiguration): Effect.Effect<void, BatcherConfigError> {
    return Effect.suspend(() => {
      const next = this.engine.reconfigure(patch)
      return next instanceof BatcherConfigError ? Effect.fail(next) : this.startSlots
    })
  }

  // Each submit is one callback: the records are accepted inside its
  // registration and withdrawn by its interruption cleanup, so no fiber step
  // separates "accepted" from "withdrawn if interrupted".

  submit(record: Rec, options?: SubmitOptions): Effect.Effect<Res, Err<E>> {
    return Effect.callback<Res, Err<E>>((resume) => {
      const engine = this.engine
      if (!engine.accepting) return resume(Effect.fail(notAccepting()))
      const cost = this.costOf.of(record, options?.cost)
      if (typeof cost !== "number") return resume(Effect.fail(cost))
      let entry: ResumeEntry<Rec, Res, Err<E>>
      if (
        (options !== undefined && (options.priority !== undefined || options.timeout !== undefined)) ||
        engine.tuning.maxQueueDelayMs !== undefined || this.groupBy !== undefined
      ) {
        entry = new GeneralResumeEntry<Rec, Res, Err<E>>(record, cost, resume)
        const invalid = this.prepare(entry, options)
        if (invalid !== undefined) return resume(Effect.fail(invalid))
      } else {
        entry = new ResumeEntry<Rec, Res, Err<E>>(record, cost, resume)
      }
      const span = this.parentSpan.read()
      if (span !== undefined) entry.span = span
      return engine.acceptOne(entry)
        ? Effect.sync(() => engine.withdraw(entry))
        : this.waitForRoom(new EntryGroup([entry], cost), resume)
    })
  }

  /** Stamps one submit's scheduling and key on its entry; returns why they are invalid, if they are. */
  prepare(entry: Entry<Rec, Res, Err<E>>, options: SubmitOptions | undefined): BatcherError | undefined {
    const scheduling = schedulingOf(options, this.engine.tuning.maxQueueDelayMs)
    if (scheduling instanceof InvalidSubmitError) return scheduling
    if (scheduling !== unscheduled) {
      const late = this.engine.predictedLate(1, scheduling.priority, scheduling.timeoutMillis)
      if (late !== undefined) return late
      schedule(entry, scheduling, this.engine.now())
    }
    if (this.groupBy !== undefined) {
      const key = keyOf(this.groupBy, entry.record as Rec)
      if (key instanceof InvalidSubmitError) return key
      entry.key = key
    }
    return undefined
  }

  /**
   * Enqueues the records of a producer that resumes only with their results:
   * those that do not fit wait for room. Returns the cleanup for its interruption.
   */
  private waitForRoom(
    group: EntryGroup<Entry<Rec, Res, Err<E>>>,
    resume: (effect: Effect.Effect<never, BatcherError>) => void
  ): Effect.Effect<void> {
    const engine = this.engine
    const waiter = engine.enqueue(group, {
      onAdmitted: constVoid,
      onRejected: (error) => resume(Effect.fail(error))
    })
    return Effect.sync(() => engine.cancel(group.entries, waiter))
  }

  submitAll(records: Iterable<Rec>, options?: SubmitAllOptions): Effect.Effect<Array<Res>, Err<E>> {
    return Effect.callback<Array<Res>, Err<E>>((resume) => {
      const list = listOf(records)
      const group = new Group<Res, Err<E>>(list.length, resume)
      const entries = this.entriesOf(
        list,
        options,
        (record, cost, index) => new GroupEntry(record, cost, group, index)
      )
      if (!(entries instanceof EntryGroup)) return resume(Effect.fail(entries))
      if (entries.entries.length === 0) return resume(Effect.succeed([]))
      return this.waitForRoom(entries, resume)
    })
  }

  offer(record: Rec, options?: SubmitOptions): Effect.Effect<Deferred.Deferred<Res, Err<E>>, BatcherError> {
    return Effect.map(
      this.offerAll(
        [record],
        options === undefined ? undefined : {
          costs: options.cost === undefined ? undefined : [options.cost],
          priority: options.priority,
          timeout: options.timeout
        }
      ),
      (deferreds) => deferreds[0]
    )
  }

  offerAll(
    records: Iterable<Rec>,
    options?: SubmitAllOptions
  ): Effect.Effect<Array<Deferred.Deferred<Res, Err<E>>>, BatcherError> {
    return Effect.callback<Array<Deferred.Deferred<Res, Err<E>>>, BatcherError>((resume) => {
      const engine = this.engine
      const offers = this.offers
      const made = this.entriesOf(listOf(records), options, offers.make<Rec, Res, Err<E>>)
      if (!(made instanceof EntryGroup)) return resume(Effect.fail(made))
      const entries = made.entries
      // Usually the entries themselves: each is the Deferred of its record.
      const deferreds = offers.deferreds(entries)
      const waiter = engine.enqueue(made, {
        onAdmitted: () => resume(Effect.succeed(deferreds)),
        onRejected: (error) => resume(Effect.fail(error))
      })
      if (waiter === undefined) return resume(Effect.succeed(deferreds))
      return Effect.sync(() => engine.cancel(entries, waiter))
    })
  }

  /**
   * One entry per record, made by `make` with the record's checked cost,
   * scheduling and key, and carrying the producer's span, with their total
   * cost; or the first reason the records cannot be accepted, before
   * anything is enqueued. `options.costs` must have one entry per record.
   * One pass over the records, since each one's cost is needed only to make
   * its entry.
   */
  entriesOf<En extends Entry<Rec, Res, Err<E>>>(
    list: ReadonlyArray<Rec>,
    options: SubmitAllOptions | undefined,
    make: (record: Rec, cost: number, index: number) => En
  ): EntryGroup<En> | BatcherError {
    const engine = this.engine
    if (!engine.accepting) return notAccepting()
    const size = list.length
    const explicitCosts = options?.costs
    if (explicitCosts !== undefined && explicitCosts.length !== size) {
      return new InvalidCostError({
        reason: `costs must have one entry per record: got ${explicitCosts.length} costs for ${size} records`
      })
    }
    const scheduling = schedulingOf(options, engine.tuning.maxQueueDelayMs)
    if (scheduling instanceof InvalidSubmitError) return scheduling
    const late = engine.predictedLate(size, scheduling.priority, scheduling.timeoutMillis)
    if (late !== undefined) return late
    const now = scheduling.timeoutMillis === Number.POSITIVE_INFINITY ? 0 : engine.now()
    const groupBy = this.groupBy
    const span = this.parentSpan.read()
    const costOf = this.costOf
    const primitiveCost = explicitCosts === undefined ? costOf.primitiveCost : undefined
    // Sized up front: an array grown by `push` keeps up to half its length spare.
    const entries = new Array<En>(size)
    let total = 0
    for (let i = 0; i < size; i++) {
      const record = list[i]
      const cost = primitiveCost !== undefined && !canEstimateItself(record)
        ? primitiveCost
        : costOf.of(record, explicitCosts?.[i])
      if (typeof cost !== "number") return cost
      const entry = make(record, cost, i)
      if (scheduling !== unscheduled) schedule(entry, scheduling, now)
      if (groupBy !== undefined) {
        const key = keyOf(groupBy, record)
        if (key instanceof InvalidSubmitError) return key
        entry.key = key
      }
      if (span !== undefined) entry.span = span
      entries[i] = entry
      total += cost
    }
    return new EntryGroup(entries, total)
  }
}

/** The records as an array, copied only when they are not one already. */
export const listOf = <A>(records: Iterable<A>): ReadonlyArray<A> =>
  Array.isArray(records) ? records as ReadonlyArray<A> : Array.from(records)

/** A batcher that never runs, on the inert engine, kept for its hidden class (see `keepShape`). */
export const inertBatcher: BatcherImpl<unknown, unknown, unknown> = keepShape(
  new BatcherImpl<unknown, unknown, unknown>(
    inertEngine,
    new CostOf<unknown>(undefined, defaults.defaultCost, costMethods),
    undefined,
    keepShape(Effect.runSync(makeStatsFeed)),
    Effect.void,
    Effect.void
  )
)
