/**
 * The batcher's constructor and its implementation of the `Batcher`
 * interface: validates the options, wires the engine to its two fibers, and
 * turns each call into one engine transition.
 */
import type { Scope, Stream } from "effect"
import { Cause, Clock, Deferred, Effect, Fiber, Option, Queue } from "effect"
import { constVoid } from "effect/Function"
import type { Batcher, Options, SubmitAllOptions, SubmitOptions } from "../Batcher.ts"
import type { BatcherError } from "../BatcherError.ts"
import { BatcherConfigError, countOf, InvalidCostError } from "../BatcherError.ts"
import type { BatchStats } from "../BatchStats.ts"
import type { EstimateMethod } from "./cost.ts"
import { canEstimateItself, costMethods, CostOf } from "./cost.ts"
import type { Sealed } from "./engine.ts"
import { Engine, inertEngine, shutdownError } from "./engine.ts"
import type { Entry } from "./entry.ts"
import type { OfferEntries } from "./entry.ts"
import { EntryGroup, Group, GroupEntry, offerEntries, ResumeEntry } from "./entry.ts"
import { aggregationLoop, InsideProcess, processingLoop } from "./loops.ts"
import { defaults, validateTuning } from "./options.ts"
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
    if (typeof options?.process !== "function") {
      return yield* new BatcherConfigError({
        option: "process",
        expected: "a function (batch) => Effect of one result per record",
        actual: options?.process
      })
    }
    if (options.costEstimator !== undefined && typeof options.costEstimator !== "function") {
      return yield* new BatcherConfigError({
        option: "costEstimator",
        expected: "a function (record) => number",
        actual: options.costEstimator
      })
    }
    const tuning = yield* validateTuning(options)
    const handoff = yield* Queue.bounded<Sealed<Rec, Res, E | BatcherError>, Cause.Done>(tuning.prefetchBatches)
    const telemetry = new Telemetry(tuning.name, yield* Effect.context<never>())
    const engine = new Engine<Rec, Res, E | BatcherError>(tuning, handoff, yield* Clock.Clock, telemetry)
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
    // Started at once, so both loops are parked by the time `make` returns and
    // the first submits already wake them inline.
    const aggregator = yield* Effect.forkDetach(supervise(aggregationLoop(engine)), { startImmediately: true })
    const processor = yield* Effect.forkDetach(
      Effect.ensuring(supervise(processingLoop(engine, options.process, tuning.name, publishStats)), stopped),
      { startImmediately: true }
    )
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
            processor.interruptUnsafe()
            // Every record is settled now; the processor ends whenever its `process` yields.
            return Effect.andThen(Fiber.await(aggregator), stopped)
          })
      })
    )
    const batcher = new BatcherImpl<Rec, Res, E>(
      engine,
      new CostOf(options.costEstimator, tuning.defaultCost, estimateMethods),
      statsFeed,
      Effect.flatMap(InsideProcess, (inside) =>
        Effect.suspend(() => {
          engine.beginShutdown()
          return inside.has(engine) ? Effect.void : awaitStopped
        })),
      offers
    )
    yield* Effect.addFinalizer(() => batcher.shutdown)
    return batcher
  })

type Err<E> = E | BatcherError

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
  readonly engine: Engine<Rec, Res, Err<E>>
  readonly costOf: CostOf<Rec>
  private readonly offers: OfferEntries
  private readonly parentSpan = new ParentSpanReader()

  constructor(
    engine: Engine<Rec, Res, Err<E>>,
    costOf: CostOf<Rec>,
    statsFeed: StatsFeed,
    shutdown: Effect.Effect<void>,
    offers: OfferEntries = offerEntries
  ) {
    this.offers = offers
    this.engine = engine
    this.costOf = costOf
    this.shutdown = shutdown
    this.stats = Effect.sync(() => engine.snapshot())
    this.statsChanges = statsFeed.changes(engine)
    this.isRunning = Effect.sync(() => engine.accepting)
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
      const entry = new ResumeEntry<Rec, Res, Err<E>>(record, cost, resume)
      const span = this.parentSpan.read()
      if (span !== undefined) entry.span = span
      return engine.acceptOne(entry)
        ? Effect.sync(() => engine.withdraw(entry))
        : this.waitForRoom(new EntryGroup([entry], cost), resume)
    })
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
        options?.costs,
        (record, cost, index) => new GroupEntry(record, cost, group, index)
      )
      if (!(entries instanceof EntryGroup)) return resume(Effect.fail(entries))
      if (entries.entries.length === 0) return resume(Effect.succeed([]))
      return this.waitForRoom(entries, resume)
    })
  }

  offer(record: Rec, options?: SubmitOptions): Effect.Effect<Deferred.Deferred<Res, Err<E>>, BatcherError> {
    return Effect.map(
      this.offerAll([record], options?.cost === undefined ? undefined : { costs: [options.cost] }),
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
      const made = this.entriesOf(listOf(records), options?.costs, offers.make<Rec, Res, Err<E>>)
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
   * One entry per record, made by `make` with the record's checked cost, and
   * carrying the producer's span, with their total cost; or the first reason
   * the records cannot be accepted, before anything is enqueued.
   * `explicitCosts` must have one entry per record. One pass over the
   * records, since each one's cost is needed only to make its entry.
   */
  entriesOf<En extends Entry<Rec, Res, Err<E>>>(
    list: ReadonlyArray<Rec>,
    explicitCosts: ReadonlyArray<number> | undefined,
    make: (record: Rec, cost: number, index: number) => En
  ): EntryGroup<En> | BatcherError {
    if (!this.engine.accepting) return notAccepting()
    const size = list.length
    if (explicitCosts !== undefined && explicitCosts.length !== size) {
      return new InvalidCostError({
        reason: `costs must have one entry per record: got ${explicitCosts.length} costs for ${size} records`
      })
    }
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
    keepShape(Effect.runSync(makeStatsFeed)),
    Effect.void
  )
)
