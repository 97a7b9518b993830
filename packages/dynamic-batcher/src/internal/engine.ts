/**
 * The batcher's shared state and every transition of it.
 *
 * All methods here are synchronous: each runs inside one fiber step, so the
 * producers and the two loops see a consistent state without locks. The loops
 * themselves (`loops.ts`) only sequence these transitions with waits.
 *
 * Where a record can be:
 *
 *   producer ──accept──▶ intake ──fill──▶ open batch ──seal──▶ handoff ──take──▶ in flight ──▶ done
 *      │ (waiting for room)  │               │                    │
 *      └──── interrupted ────┴── withdrawn ◀─┴────────────────────┘
 */
import type { Tracer } from "effect"
import { Cause, Clock, Context, Deferred, Effect, Exit, Queue } from "effect"
import { constVoid } from "effect/Function"
import { BatcherShutdownError, countOf, ResultCountMismatchError } from "../BatcherError.ts"
import type { BatchStats } from "../BatchStats.ts"
import type { EntryGroup } from "./entry.ts"
import { DONE, Entry, IN_FLIGHT, isPending, NEW, OPEN, QUEUED, WITHDRAWN } from "./entry.ts"
import { Fifo } from "./fifo.ts"
import type { Tuning } from "./options.ts"
import { defaults, validateTuningUnsafe } from "./options.ts"
import { keepShape } from "./shapes.ts"
import { Signal } from "./signal.ts"
import { Counters, snapshotOf, Telemetry } from "./telemetry.ts"

/** A sealed batch: the entries the aggregation loop handed over, in order. */
export type Batch<Rec, Res, Err> = Array<Entry<Rec, Res, Err>>

/** A sealed batch as it waits in the handoff, with when its oldest record arrived (for its metrics). */
export interface Sealed<Rec, Res, Err> {
  readonly entries: Batch<Rec, Res, Err>
  readonly acceptedAt: number
}

/** What the records of a settled batch get: one result each, or the failure all of them get. */
export type Outcome<Res, Err> = ReadonlyArray<Res> | Exit.Exit<never, Err>

/** How a producer that waits for room hears back. */
export interface Admission {
  /** Every record of the producer was accepted. */
  readonly onAdmitted: () => void
  /** Shutdown started first: the records not yet accepted never will be. */
  readonly onRejected: (error: BatcherShutdownError) => void
}

/** A producer suspended until its records fit in the queue. */
export interface RoomWaiter<Rec, Res, Err> {
  readonly entries: ReadonlyArray<Entry<Rec, Res, Err>>
  offset: number
  cancelled: boolean
  readonly admission: Admission
}

/**
 * Records accepted together: at the same time (one synchronous run of
 * submits) and, for the metrics, in order. `end` counts every record accepted
 * up to and including these, so the record accepted `n`-th (from 0) belongs to
 * the first arrival whose `end` exceeds `n`.
 */
interface Arrival {
  readonly at: number
  end: number
}

/** What the aggregation loop does after a step. */
export type AggregatorNext =
  /** Everything accepted has been sealed and shutdown was requested: end the handoff. */
  | { readonly _tag: "Finished" }
  /** Wait for a signal (a record, room in the handoff, an idle processor, shutdown). */
  | { readonly _tag: "Park" }
  /** Wait for a signal, or until the open batch's deadline `at` (engine time), `millis` from now. */
  | { readonly _tag: "ParkUntil"; readonly millis: number; readonly at: number }
  /** A batch was sealed and processed inline: step again. */
  | { readonly _tag: "Continue" }
  /** Wait for a signal, or the next scheduler round at the latest. */
  | { readonly _tag: "ParkUntilNextRound" }

const finished: AggregatorNext = { _tag: "Finished" }
const park: AggregatorNext = { _tag: "Park" }
const continueStep: AggregatorNext = { _tag: "Continue" }
const recheckStep: AggregatorNext = { _tag: "ParkUntilNextRound" }

export class Engine<Rec, Res, Err> {
  readonly tuning: Tuning
  readonly handoff: Queue.Queue<Sealed<Rec, Res, Err>, Cause.Done>
  /** Completed once both loops have stopped and every result is delivered. */
  readonly stopped: Deferred.Deferred<void> = Deferred.makeUnsafe<void>()

  /** False from the moment shutdown starts: no record is accepted after that. */
  accepting = true
  private readonly intake = new Fifo<Entry<Rec, Res, Err>>()
  private readonly waiters = new Fifo<RoomWaiter<Rec, Res, Err>>()

  private open: Batch<Rec, Res, Err> = []
  /** How many of the open batch's first records are marked OPEN (see `markOpen`). */
  private openMarked = 0
  private openLive = 0
  private openCost = 0
  private openDeadline = 0
  /** Set by the processing loop when it waits on an empty handoff. */
  private processorIdle = false
  /** The batch inside `process` right now, if any, its cost and when it started. */
  private inFlight: Batch<Rec, Res, Err> | undefined
  inFlightCost = 0
  /** The records of the batch in flight, for `process`. */
  inFlightRecords: ReadonlyArray<Rec> = []
  /** The distinct spans of its producers, if any has one, for the links of the batch's span. */
  inFlightSpans: ReadonlySet<Tracer.AnySpan> | undefined = undefined
  private batchStartedAt = 0
  /** The last settled batch's time in `process` and end, for its metrics. */
  private settledMillis = 0
  private settledAt = 0
  /**
   * When the processing loop last finished a batch (or started): everything
   * from then to the next batch's start is idle time, including time the loop
   * waited to be scheduled, so busy + idle covers the loop's whole life.
   */
  private idleSince: number

  /** Wakes the aggregation loop: records arrived, room freed, the processor went idle, shutdown. */
  readonly aggregatorSignal = new Signal()
  /** Wakes the processing loop: a batch was sealed, or the handoff ended. */
  readonly processorSignal = new Signal()
  /** Set once the processing loop took the end of the handoff. */
  handoffEnded = false
  /**
   * When records arrived, oldest first, for the queue-wait and latency metrics
   * of each batch's oldest record: kept per arrival, not per record (8 bytes
   * less per record). `acceptedCount` and `takenCount` count every record that
   * entered and left the intake, withdrawn ones included.
   */
  private readonly arrivals = new Fifo<Arrival>()
  private acceptedCount = 0
  private takenCount = 0
  /** When the oldest record of the open batch, of the batch in flight and of the last settled batch arrived. */
  private openAcceptedAt = 0
  private inFlightAcceptedAt = 0
  private settledAcceptedAt = 0
  /** The cost of the records in the intake (withdrawn ones included until they leave it). */
  private intakeCost = 0
  /**
   * While the aggregation loop is parked, new records wake it only once the
   * intake holds this many records, or (`wakeOnCost`) enough cost to fill the
   * open batch: before that they could not change its decision (the batch
   * would not be full, nor reach `minBatchSize`). So a burst wakes it once per
   * batch, not once per record. The cost test has the same shape as `fill`'s,
   * so fractional costs round the same way in both.
   */
  private wakeAtCount = 1
  private wakeOnCost = false

  /** Whether results are being delivered right now (producers resume inline). */
  private delivering = false
  /**
   * Set when a producer submits from inside a delivery: its records feed the
   * next batch synchronously, so the processing loop must yield now and then.
   * The processing loop reads and clears it after each delivery.
   */
  fedByDelivery = false

  /** Whether the aggregation loop yielded since it found a batch ready for an idle processor. */
  private burstEnded = false

  /** Producers admitted during the current aggregation step, told once it ends. */
  private admitted: Array<Admission> = []

  readonly counters = new Counters()
  private readonly clock: Clock.Clock
  /**
   * When the batcher started, in Clock milliseconds. The engine's times count
   * from it, so they stay small integers (V8 Smis, stored unboxed).
   */
  private readonly epoch: number
  private readonly telemetry: Telemetry

  constructor(
    tuning: Tuning,
    handoff: Queue.Queue<Sealed<Rec, Res, Err>, Cause.Done>,
    clock: Clock.Clock,
    telemetry: Telemetry
  ) {
    this.tuning = tuning
    this.handoff = handoff
    this.clock = clock
    this.telemetry = telemetry
    this.epoch = clock.currentTimeMillisUnsafe()
    this.idleSince = 0
  }

  /** Milliseconds since the batcher started. */
  private now(): number {
    return this.clock.currentTimeMillisUnsafe() - this.epoch
  }

  /**
   * The acceptance time of a record, read once per synchronous run of submits
   * (until the next microtask): it only feeds the queue-wait and latency
   * metrics, and a clock read per submit was 5% of a burst's cost. Whole
   * milliseconds, the real clock's unit, also under a test clock.
   */
  private acceptedNow(): number {
    if (this.runStartedAt < 0) {
      this.runStartedAt = Math.floor(this.now())
      queueMicrotask(this.endRun)
    }
    return this.runStartedAt
  }
  /** When the current synchronous run of submits started, or -1 between runs. */
  private runStartedAt = -1
  private readonly endRun = () => {
    this.runStartedAt = -1
  }

  // ---------------------------------------------------------------------------
  // producers
  // ---------------------------------------------------------------------------

  /** Accepts one record if the queue has room and nobody waits ahead; returns whether it did. */
  acceptOne(entry: Entry<Rec, Res, Err>): boolean {
    if (this.waiters.size > 0 || this.intake.size >= this.tuning.maxQueueSize) return false
    this.intake.push(entry)
    this.counted(1, entry.cost, this.acceptedNow())
    this.recordsArrived()
    return true
  }

  /**
   * Accepts a producer's entries in order: at once while the queue has room
   * and nobody waits ahead, the rest as room frees (then
   * `admission.onAdmitted`). Returns the waiter when some records must wait,
   * so an interrupted producer can `cancel` it. Call only while `accepting`.
   */
  enqueue(group: EntryGroup<Entry<Rec, Res, Err>>, admission: Admission): RoomWaiter<Rec, Res, Err> | undefined {
    const entries = group.entries
    const room = this.waiters.size === 0 ? this.tuning.maxQueueSize - this.intake.size : 0
    if (entries.length <= room) {
      this.intake.pushAll(entries, 0, entries.length)
      this.counted(entries.length, group.cost, this.acceptedNow())
      this.recordsArrived()
      return undefined
    }
    for (let i = room; i < entries.length; i++) entries[i].state = NEW
    this.accept(entries, 0, room, this.acceptedNow())
    // Signals resume fibers inline, and they may re-enter the engine: every
    // transition completes before its signal (here: the waiter is queued first).
    const waiter: RoomWaiter<Rec, Res, Err> = { entries, offset: room, cancelled: false, admission }
    this.waiters.push(waiter)
    this.signalAggregator()
    return waiter
  }

  /**
   * The producer gave up: it stops waiting for room, and its records not yet
   * in `process` are withdrawn.
   */
  cancel(entries: ReadonlyArray<Entry<Rec, Res, Err>>, waiter: RoomWaiter<Rec, Res, Err> | undefined): void {
    if (waiter !== undefined) waiter.cancelled = true
    for (let i = 0; i < entries.length; i++) this.withdraw(entries[i])
  }

  /** Withdraws `entry` if it was accepted and has not reached `process`. */
  withdraw(entry: Entry<Rec, Res, Err>): void {
    if (!isPending(entry)) return
    if (entry.state === OPEN) {
      this.openLive--
      this.openCost -= entry.cost
    }
    entry.state = WITHDRAWN
    this.counters.pending--
    this.counters.withdrawn++
  }

  /** Accepts `entries[from..to)` into the queue. */
  private accept(entries: ReadonlyArray<Entry<Rec, Res, Err>>, from: number, to: number, now: number): void {
    let cost = 0
    for (let i = from; i < to; i++) {
      const entry = entries[i]
      entry.state = QUEUED
      cost += entry.cost
    }
    this.intake.pushAll(entries, from, to)
    this.counted(to - from, cost, now)
  }

  /** Counts `count` records of total `cost` as accepted into the queue at `now`. */
  private counted(count: number, cost: number, now: number): void {
    if (count === 0) return
    const last = this.arrivals.last()
    this.acceptedCount += count
    if (last !== undefined && last.at === now) last.end = this.acceptedCount
    else this.arrivals.push({ at: now, end: this.acceptedCount })
    if (this.delivering) this.fedByDelivery = true
    this.intakeCost += cost
    this.counters.submitted += count
    this.counters.pending += count
  }

  /** Records were accepted: wake the aggregation loop if they can change what it does. */
  private recordsArrived(): void {
    if (
      this.intake.size >= this.wakeAtCount ||
      (this.wakeOnCost && this.openCost + this.intakeCost >= this.tuning.targetBatchCost)
    ) this.signalAggregator()
  }

  // ---------------------------------------------------------------------------
  // aggregation
  // ---------------------------------------------------------------------------

  /** Wakes the aggregation loop, or makes its next park return at once. */
  signalAggregator(): void {
    this.aggregatorSignal.notify()
  }

  /**
   * One aggregation step: fill the open batch from the queue, admit waiting
   * producers into the room that freed, seal the batches that are due while
   * the handoff has room (stopping after one that ran inline), tell admitted
   * producers, and say what to wait for next.
   */
  aggregate(): AggregatorNext {
    const next = this.step()
    if (this.admitted.length > 0) {
      const admitted = this.admitted
      this.admitted = []
      for (const admission of admitted) admission.onAdmitted()
    }
    return next
  }

  private step(): AggregatorNext {
    const now = this.now()
    this.aggregatorSignal.clear()
    if (this.openLive === 0 && this.open.length > 0) this.resetOpen()
    for (;;) {
      let full = this.fill(now)
      // Room freed by filling admits waiting producers, whose records may fill further.
      while (this.admitWaiters(now) && !full) full = this.fill(now)
      const due = this.openLive > 0 && !Queue.isFullUnsafe(this.handoff) ? this.dueToSeal(full, now) : "no"
      if (due === "for an idle processor" && !this.burstEnded) {
        // Submits resume the loops inline: let the current burst of submits
        // end (one scheduler round) before a batch goes to an idle processor,
        // or a synchronous burst would make batches of one. Meanwhile the
        // loop stays parked, so full batches still go inline as they fill.
        this.burstEnded = true
        this.markOpen()
        this.setWakeThresholds(full)
        return recheckStep
      }
      if (due !== "no") {
        this.burstEnded = false
        // A sealed batch that woke the processor was processed inline, and its
        // producers may have submitted again: return to the loop, which yields
        // now and then, rather than loop here unboundedly.
        if (this.seal()) return continueStep
        continue
      }
      if (this.openLive > 0) {
        this.markOpen()
        this.setWakeThresholds(full)
        const waitMillis = this.openDeadline - now
        return full || !this.accepting || waitMillis <= 0
          ? park
          : { _tag: "ParkUntil", millis: waitMillis, at: this.openDeadline }
      }
      if (this.open.length > 0) this.resetOpen()
      this.wakeAtCount = 1
      this.wakeOnCost = false
      return !this.accepting && this.intake.size === 0 ? finished : park
    }
  }

  /**
   * Moves records from the queue into the open batch; returns whether the
   * batch is full. The records are found first and then moved in one step
   * (with the withdrawn ones among them, which `seal` drops). They stay
   * QUEUED: no producer runs before this step ends, and `markOpen` marks
   * those still in the open batch then.
   */
  private fill(now: number): boolean {
    const { maxBatchSize, targetBatchCost } = this.tuning
    const intake = this.intake
    const available = intake.size
    let live = this.openLive
    let cost = this.openCost
    let taken = 0
    let takenCost = 0
    let full = true
    while (live < maxBatchSize && cost < targetBatchCost) {
      if (taken === available) {
        full = false
        break
      }
      const entry = intake.at(taken)
      if (entry.state !== WITHDRAWN) {
        if (live > 0 && cost + entry.cost > targetBatchCost) break
        cost += entry.cost
        if (live++ === 0) {
          this.openDeadline = now + this.tuning.batchTimeoutMs
          this.openAcceptedAt = this.arrivedAt(this.takenCount + taken)
        }
      }
      takenCost += entry.cost
      taken++
    }
    if (taken > 0) {
      this.open = intake.moveTo(this.open, taken)
      this.takenCount += taken
      while (this.arrivals.size > 0 && this.arrivals.peek().end <= this.takenCount) this.arrivals.shift()
      // The cost sum restarts from 0 when the queue empties, so float drift cannot build up.
      this.intakeCost = intake.size === 0 ? 0 : this.intakeCost - takenCost
      this.openLive = live
      this.openCost = cost
    }
    return full
  }

  /**
   * The open batch waits past the end of this step: its records become OPEN,
   * so that a producer withdrawing one makes room in the batch.
   */
  private markOpen(): void {
    const open = this.open
    for (let i = this.openMarked; i < open.length; i++) {
      if (open[i].state === QUEUED) open[i].state = OPEN
    }
    this.openMarked = open.length
  }

  /** When the record accepted `count`-th (from 0) arrived; it must still be in the intake. */
  private arrivedAt(count: number): number {
    for (let i = 0;; i++) {
      const arrival = this.arrivals.at(i)
      if (arrival.end > count) return arrival.at
    }
  }

  /**
   * Before parking with an open batch: new records matter once they could
   * fill it (by size or cost) or, with "idle" dispatch and a free processor,
   * bring it to `minBatchSize`. A full batch waits for room, not records.
   */
  private setWakeThresholds(full: boolean): void {
    if (full) {
      this.wakeAtCount = Number.POSITIVE_INFINITY
      this.wakeOnCost = false
      return
    }
    const { dispatch, maxBatchSize, minBatchSize } = this.tuning
    this.wakeAtCount = dispatch === "idle" && this.processorIdle && !this.burstEnded
      ? Math.min(maxBatchSize, minBatchSize) - this.openLive
      : maxBatchSize - this.openLive
    this.wakeOnCost = true
  }

  private dueToSeal(full: boolean, now: number): "yes" | "for an idle processor" | "no" {
    if (full || !this.accepting || now >= this.openDeadline) return "yes"
    return this.tuning.dispatch === "idle" && this.processorIdle && this.openLive >= this.tuning.minBatchSize &&
        Queue.sizeUnsafe(this.handoff) === 0
      ? "for an idle processor"
      : "no"
  }

  /** Hands the open batch to the processor; returns whether that woke it (and it ran inline). */
  private seal(): boolean {
    const open = this.open
    for (let i = 0; i < this.openMarked; i++) {
      if (open[i].state === OPEN) open[i].state = QUEUED
    }
    const batch: Batch<Rec, Res, Err> = this.openLive === open.length ? open : open.filter(isPending)
    Queue.offerUnsafe(this.handoff, { entries: batch, acceptedAt: this.openAcceptedAt })
    this.processorIdle = false
    this.resetOpen()
    return this.processorSignal.notify()
  }

  private resetOpen(): void {
    this.open = []
    this.openMarked = 0
    this.openLive = 0
    this.openCost = 0
  }

  /**
   * Accepts waiting producers' records while the queue has room; returns
   * whether any was. Producers whose records are all in are told after the
   * aggregation step (`admitted`), never in the middle of it.
   */
  private admitWaiters(now: number): boolean {
    let admitted = false
    while (this.waiters.size > 0 && this.intake.size < this.tuning.maxQueueSize) {
      const waiter = this.waiters.peek()
      if (waiter.cancelled) {
        this.waiters.shift()
        continue
      }
      const { entries, offset } = waiter
      waiter.offset = Math.min(entries.length, offset + this.tuning.maxQueueSize - this.intake.size)
      this.accept(entries, offset, waiter.offset, now)
      admitted ||= waiter.offset > offset
      if (waiter.offset === entries.length) {
        this.waiters.shift()
        this.admitted.push(waiter.admission)
      }
    }
    return admitted
  }

  // ---------------------------------------------------------------------------
  // processing
  // ---------------------------------------------------------------------------

  /** The aggregation loop sealed every accepted record after shutdown: no batch will follow. */
  endHandoff(): void {
    Queue.endUnsafe(this.handoff)
    this.processorSignal.notify()
  }

  /** The processing loop is about to park: with an empty handoff, it is idle. */
  processorWaiting(): void {
    if (Queue.sizeUnsafe(this.handoff) === 0) {
      this.processorIdle = true
      this.signalAggregator()
    }
  }

  /**
   * Takes the next sealed batch that still has records, if one is ready, and
   * puts its records in flight (withdrawn ones are dropped here, so `process`
   * never sees them). Sets `handoffEnded` when the handoff has ended. The
   * caller signals the aggregation loop (room freed) once `process` started.
   */
  takeBatch(): Batch<Rec, Res, Err> | undefined {
    for (;;) {
      const taken = Queue.takeUnsafe(this.handoff)
      if (taken === undefined) return undefined
      if (Exit.isFailure(taken)) {
        this.handoffEnded = true
        return undefined
      }
      const live = this.startBatch(taken.value.entries)
      if (live !== undefined) {
        this.inFlightAcceptedAt = taken.value.acceptedAt
        return live
      }
    }
  }

  /**
   * Puts the sealed batch's pending records in flight and collects what
   * `process` and its span need (`inFlightRecords`, `inFlightSpans`), in one
   * pass: a batch that waited in the handoff was last touched when it was
   * filled, so each pass over it costs cache misses just before `process`
   * starts. Returns the
   * records in flight (the batch itself unless some were withdrawn), or
   * undefined when none is left.
   */
  private startBatch(sealed: Batch<Rec, Res, Err>): Batch<Rec, Res, Err> | undefined {
    const size = sealed.length
    const records = new Array<Rec>(size)
    let live = sealed
    let count = 0
    let cost = 0
    let spans: Set<Tracer.AnySpan> | undefined
    for (let i = 0; i < size; i++) {
      const entry = sealed[i]
      if (!isPending(entry)) {
        if (live === sealed) live = sealed.slice(0, i)
        continue
      }
      if (live !== sealed) live.push(entry)
      entry.state = IN_FLIGHT
      cost += entry.cost
      records[count++] = entry.record as Rec
      if (entry.span !== undefined) (spans ??= new Set()).add(entry.span)
    }
    if (count === 0) return undefined
    records.length = count
    const now = this.now()
    this.counters.idleMs += now - this.idleSince
    this.counters.pending -= live.length
    this.counters.inFlight = live.length
    this.inFlight = live
    this.inFlightCost = cost
    this.inFlightRecords = records
    this.inFlightSpans = spans
    this.batchStartedAt = now
    return live
  }

  /**
   * The taken batch's `process` has started: report it, and tell the
   * aggregation loop the handoff has room. Kept apart from `takeBatch` so that
   * neither the metrics nor the aggregation step delay `process`. `running`
   * is false when `process` already returned (it ran synchronously): then the
   * gauges are left to `deliver`, since they would show the batch in flight
   * for no time at all.
   */
  processStarted(running: boolean): void {
    if (this.inFlight !== undefined) {
      this.telemetry.batchStarted(
        this.inFlight.length,
        this.inFlightCost,
        this.batchStartedAt,
        this.inFlightAcceptedAt,
        this.counters,
        running
      )
    }
    this.signalAggregator()
  }

  /**
   * `process` ran `batch` and exited with `exit`: updates the stats and
   * metrics, and returns what its records get (their results, or the failure
   * every one of them gets) for `deliver`. Returns undefined when the batch
   * was abandoned meanwhile: every record already has its result.
   */
  settleBatch(batch: Batch<Rec, Res, Err>, exit: Exit.Exit<ReadonlyArray<Res>, Err>): Outcome<Res, Err> | undefined {
    if (this.inFlight !== batch) return undefined
    const now = this.now()
    const size = batch.length
    const busyMillis = now - this.batchStartedAt
    this.idleSince = now
    const counters = this.counters
    this.inFlight = undefined
    // Let go of the records: an idle batcher keeps none of them.
    this.inFlightRecords = []
    this.inFlightSpans = undefined
    counters.inFlight = 0
    counters.busyMs += busyMillis
    counters.batches++
    counters.batchedRecords += size
    counters.batchCost += this.inFlightCost
    counters.completed += size
    let outcome: Outcome<Res, Err>
    if (Exit.isFailure(exit)) {
      outcome = Exit.failCause(exit.cause)
    } else if (!Array.isArray(exit.value)) {
      outcome = Exit.die(
        new TypeError(`process must return an array of ${countOf(size, "result")}, got ${describe(exit.value)}`)
      )
    } else if (exit.value.length !== size) {
      outcome = Exit.fail(new ResultCountMismatchError({ expected: size, actual: exit.value.length }) as Err)
    } else {
      outcome = exit.value
    }
    const failed = !Array.isArray(outcome)
    if (failed) counters.failed += size
    this.settledMillis = busyMillis
    this.settledAt = now
    this.settledAcceptedAt = this.inFlightAcceptedAt
    return outcome
  }

  /**
   * Delivers every record of a settled batch its result, exactly once, after
   * reporting the batch's metrics (kept out of the way of the next `process`,
   * which the loop starts between `settleBatch` and this).
   */
  deliver(batch: Batch<Rec, Res, Err>, outcome: Outcome<Res, Err>): void {
    this.telemetry.batchFinished(
      batch.length,
      this.settledMillis,
      !Array.isArray(outcome),
      this.settledAt,
      this.settledAcceptedAt,
      this.counters
    )
    this.delivering = true
    try {
      if (!Array.isArray(outcome)) return this.failAll(batch, outcome as Exit.Exit<never, Err>)
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i]
        release(entry)
        entry.succeed(outcome[i])
      }
    } finally {
      this.delivering = false
    }
  }

  private failAll(batch: ReadonlyArray<Entry<Rec, Res, Err>>, exit: Exit.Exit<never, Err>): void {
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]
      release(entry)
      entry.deliver(exit)
    }
  }

  // ---------------------------------------------------------------------------
  // shutdown
  // ---------------------------------------------------------------------------

  /**
   * Stops intake at once: producers still waiting for room fail with
   * `BatcherShutdownError` (their records already accepted are withdrawn), and
   * the aggregation loop seals what it holds without waiting for timeouts.
   * Idempotent.
   */
  beginShutdown(): void {
    if (!this.accepting) return
    this.accepting = false
    const error = shutdownError("the batcher shut down while this producer waited for room in the queue")
    while (this.waiters.size > 0) {
      const waiter = this.waiters.shift()
      if (waiter.cancelled) continue
      this.cancel(waiter.entries, waiter)
      waiter.admission.onRejected(error)
    }
    this.signalAggregator()
  }

  /**
   * Fails every record not yet delivered with `cause`, wherever it is, and
   * counts it as completed and failed. Used when shutdown gives up
   * (`shutdownTimeout`) or a loop died.
   */
  abandon(cause: Cause.Cause<Err | BatcherShutdownError>): void {
    this.beginShutdown()
    const exit = Exit.failCause(cause) as Exit.Exit<never, Err>
    let settled = 0
    const settle = (entry: Entry<Rec, Res, Err>) => {
      if (entry.state === NEW || entry.state === WITHDRAWN || entry.state === DONE) return
      if (entry.state !== IN_FLIGHT) this.counters.pending--
      this.counters.completed++
      this.counters.failed++
      settled++
      release(entry)
      entry.deliver(exit)
    }
    if (this.inFlight !== undefined) this.inFlight.forEach(settle)
    this.inFlight = undefined
    this.counters.inFlight = 0
    this.open.forEach(settle)
    this.resetOpen()
    this.intake.drain().forEach(settle)
    this.arrivals.drain()
    this.takenCount = this.acceptedCount
    this.intakeCost = 0
    for (let taken = Queue.takeUnsafe(this.handoff); taken !== undefined && Exit.isSuccess(taken);) {
      taken.value.entries.forEach(settle)
      taken = Queue.takeUnsafe(this.handoff)
    }
    Queue.endUnsafe(this.handoff)
    this.processorSignal.notify()
    this.telemetry.recordsSettled(settled, true)
    this.telemetry.sync(this.counters)
  }

  // ---------------------------------------------------------------------------
  // stats
  // ---------------------------------------------------------------------------

  snapshot(): BatchStats {
    return snapshotOf(this.counters)
  }
}

/**
 * Marks `entry` done, just before its result goes out, and lets go of its
 * record and span: its producer may hold the entry (an offer's `Deferred`)
 * long after, and the processing loop holds its last batch until the next.
 */
const release = (entry: Entry<any, any, any>): void => {
  entry.state = DONE
  entry.record = undefined
  if (entry.span !== undefined) entry.span = undefined
}

/** A `BatcherShutdownError` with `reason`. */
export const shutdownError = (reason: string): BatcherShutdownError => new BatcherShutdownError({ reason })

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? `an array of ${value.length}` : typeof value

/**
 * An engine that no fiber drives, kept with its queue, signals and telemetry
 * for their hidden classes (see `keepShape`); the inert batchers use it.
 */
export const inertEngine: Engine<unknown, unknown, unknown> = keepShape(
  new Engine(
    validateTuningUnsafe({}) as Tuning,
    Effect.runSync(Queue.bounded<Sealed<unknown, unknown, unknown>, Cause.Done>(1)),
    Clock.Clock.defaultValue(),
    new Telemetry(defaults.name, Context.empty())
  )
)
// The engine's records of arrivals, sealed batches and waiting producers, for the same reason.
keepShape<Arrival>({ at: 0, end: 0 })
keepShape<Sealed<unknown, unknown, unknown>>({ entries: [], acceptedAt: 0 })
keepShape<RoomWaiter<unknown, unknown, unknown>>({
  entries: [],
  offset: 0,
  cancelled: false,
  admission: { onAdmitted: constVoid, onRejected: constVoid }
})
