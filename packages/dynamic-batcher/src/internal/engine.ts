/**
 * The batcher's shared state and every transition of it: the orchestrator of
 * the intake (admission, backpressure, deadlines), the lanes (`lanes.ts`,
 * where batches form) and the executor (`executor.ts`, the slots that run
 * `process`).
 *
 * All methods here are synchronous: each runs inside one fiber step, so the
 * producers, the aggregation loop and the slots see a consistent state
 * without locks. The loops themselves (`loops.ts`) only sequence these
 * transitions with waits.
 *
 * Where a record can be (its `state`, see `entry.ts`):
 *
 * | state     | where                                                 | leaves by                              |
 * | --------- | ----------------------------------------------------- | -------------------------------------- |
 * | NEW       | its producer waits for room                           | admitted → QUEUED; cancelled, deadline |
 * | QUEUED    | a lane's queue, or a sealed batch in the handoff      | fill → OPEN; take → IN_FLIGHT          |
 * | OPEN      | a lane's open batch while the aggregation loop waits  | seal → QUEUED (in the handoff)         |
 * | IN_FLIGHT | inside `process`                                      | settle → DONE; retry, bisect → QUEUED  |
 * | WITHDRAWN | its producer was interrupted before `process`         | (final; skipped where it lies)         |
 * | EXPIRED   | its deadline passed before `process`: it has failed   | (final; skipped where it lies)         |
 * | DONE      | its result was delivered                              | (final)                                |
 *
 * With a failure policy (`recovery.ts`), a record that runs again (a retry,
 * a bisected half) is QUEUED again: waiting for its retry's delay, or in a
 * batch at the front of the handoff; a record that finally fails may wait for
 * its dead letter to be reported, still IN_FLIGHT, before its producer hears.
 *
 * A batch taken from its records collected at seal (`Prepared`, in
 * `executor.ts`) starts `process` with them still QUEUED; they become
 * IN_FLIGHT as soon as `process` has started (`Executor.markStarted`), and
 * before any withdrawal, expiry or abandon reads them.
 *
 * Shutdown (`beginShutdown`) stops intake and makes every open batch due;
 * `abandon` (a `shutdownTimeout` or a dead loop) fails whatever is left.
 */
import type { Cause } from "effect"
import { Clock, Context, Deferred, Exit } from "effect"
import { constVoid } from "effect/Function"
import { BatcherConfigError, BatcherShutdownError, DeadlineExceededError } from "../BatcherError.ts"
import type { BatchStats } from "../BatchStats.ts"
import type { Setting } from "./adaptive.ts"
import { AdaptiveController, BatchTimeModel, predictedStartMs } from "./adaptive.ts"
import { Deadlines } from "./deadlines.ts"
import type { EntryGroup } from "./entry.ts"
import { DONE, Entry, EXPIRED, IN_FLIGHT, isPending, NEW, OPEN, QUEUED, WITHDRAWN } from "./entry.ts"
import type { InFlight, Outcome, Slot } from "./executor.ts"
import { deadlineError, Executor, prepare, release } from "./executor.ts"
import { Fifo } from "./fifo.ts"
import type { FillResult, Lane, Level } from "./lane.ts"
import { Lanes } from "./lanes.ts"
import type { AdaptiveTarget, Reconfigurable, Tuning } from "./options.ts"
import { defaults, reconfigured, validateTuningUnsafe } from "./options.ts"
import { keepShape } from "./shapes.ts"
import { Signal } from "./signal.ts"
import { Counters, snapshotOf, Telemetry } from "./telemetry.ts"

/** How a producer that waits for room hears back. */
export interface Admission {
  /** Every record of the producer was accepted. */
  readonly onAdmitted: () => void
  /** Shutdown started, or the records' deadline passed, first: the records not yet accepted never will be. */
  readonly onRejected: (error: BatcherShutdownError | DeadlineExceededError) => void
}

/** A producer suspended until its records fit in the queue. */
export interface RoomWaiter<Rec, Res, Err> {
  readonly entries: ReadonlyArray<Entry<Rec, Res, Err>>
  offset: number
  cancelled: boolean
  readonly admission: Admission
}

/** What the aggregation loop does after a step. */
export type AggregatorNext =
  /** Everything accepted has been sealed and shutdown was requested: end the handoff. */
  | { readonly _tag: "Finished" }
  /** Wait for a signal (a record, room in the handoff, an idle slot, shutdown). */
  | { readonly _tag: "Park" }
  /** Wait for a signal, or until `at` (engine time), `millis` from now: a batch timeout or a deadline. */
  | { readonly _tag: "ParkUntil"; readonly millis: number; readonly at: number }
  /** A batch was sealed and processed inline: step again. */
  | { readonly _tag: "Continue" }
  /** Wait for a signal, or the next scheduler round at the latest. */
  | { readonly _tag: "ParkUntilNextRound" }

/** `tuning` with adaptive batching's cap and wait. */
const inForce = (tuning: Tuning, setting: Setting): Tuning => ({
  ...tuning,
  maxBatchSize: setting.cap,
  batchTimeoutMs: setting.waitMs
})

const finished: AggregatorNext = { _tag: "Finished" }
const park: AggregatorNext = { _tag: "Park" }
const continueStep: AggregatorNext = { _tag: "Continue" }
const recheckStep: AggregatorNext = { _tag: "ParkUntilNextRound" }

export class Engine<Rec, Res, Err> {
  /** The knobs in force. With `adaptive`, its cap and wait are the controller's, within `configured`. */
  tuning: Tuning
  /** The knobs as configured (`make`, `reconfigure`): what `batcher.tuning` reports. */
  configured: Tuning
  /** Completed once the loops have stopped and every result is delivered. */
  readonly stopped: Deferred.Deferred<void> = Deferred.makeUnsafe<void>()
  /** False from the moment shutdown starts: no record is accepted after that. */
  accepting = true
  readonly counters = new Counters()
  readonly executor: Executor<Rec, Res, Err>
  /** Wakes the aggregation loop: records arrived, room freed, a slot went idle, shutdown, a reconfiguration. */
  readonly aggregatorSignal = new Signal()

  /** Where records wait and batches form, and the fair choice between keys. */
  private readonly lanes: Lanes<Entry<Rec, Res, Err>>
  /** Records with a deadline, and producers waiting for room with one, earliest first. */
  private readonly deadlines = new Deadlines<Entry<Rec, Res, Err>, RoomWaiter<Rec, Res, Err>>()
  private readonly fillResult: FillResult = { left: 0, expired: 0 }

  /** Records in the lanes' queues (withdrawn ones until they leave them). */
  private queued = 0
  /** Arrival numbers: every record accepted gets the next one. */
  private arrivals = 0
  private readonly waiters = new Fifo<RoomWaiter<Rec, Res, Err>>()
  /** Producers admitted during the current aggregation step, told once it ends. */
  private admitted: Array<Admission> = []
  /** Whether the aggregation loop yielded since it found a batch ready for an idle slot. */
  private burstEnded = false
  /** Set once shutdown made every open batch due. */
  private shutdownSwept = false
  /** Set when the last aggregation step stopped sealing because the handoff was full: a started batch wakes it. */
  private handoffFull = false
  /**
   * When the aggregation loop wakes by itself at the latest (its timer), as
   * its last step said: a record with an earlier deadline must wake it now,
   * or nobody would expire the record in time.
   */
  private wakeAt = Number.POSITIVE_INFINITY

  /** The learnt batch time, with `adaptive` or `admission: "predictive"`. */
  private model: BatchTimeModel | undefined = undefined
  private adaptive: AdaptiveController | undefined = undefined
  private predictive = false

  private readonly clock: Clock.Clock
  private readonly telemetry: Telemetry
  /**
   * When the batcher started, in Clock milliseconds. The engine's times count
   * from it, so they stay small integers (V8 Smis, stored unboxed).
   */
  private readonly epoch: number

  constructor(tuning: Tuning, keyed: boolean, clock: Clock.Clock, telemetry: Telemetry) {
    this.tuning = tuning
    this.configured = tuning
    this.lanes = new Lanes(keyed)
    this.clock = clock
    this.epoch = clock.currentTimeMillisUnsafe()
    this.executor = new Executor(this.counters, telemetry, (entry, now) => this.expire(entry, now))
    this.executor.allowed = tuning.maxConcurrentBatches
    this.telemetry = telemetry
  }

  /** Milliseconds since the batcher started. */
  now(): number {
    return this.clock.currentTimeMillisUnsafe() - this.epoch
  }

  /**
   * The acceptance time of a record, read once per synchronous run of submits
   * (until the next microtask): it only feeds the queue-wait and latency
   * metrics and the aging of priorities, and a clock read per submit was 5% of
   * a burst's cost. Whole milliseconds, the real clock's unit.
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
    if (this.waiters.size > 0 || this.occupied() >= this.tuning.maxQueueSize) return false
    const lanes = this.lanes
    if (lanes.keyed || !isPlain(entry)) {
      if (this.acceptInto(entry, this.acceptedNow())) this.aggregatorSignal.notify()
      return true
    }
    const lane = lanes.single
    lane.base.queue.push(entry)
    if (this.arrived(lane, lane.base, 1, entry.cost, this.acceptedNow())) this.aggregatorSignal.notify()
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
    const room = this.waiters.size === 0 ? Math.max(0, this.tuning.maxQueueSize - this.occupied()) : 0
    const now = this.acceptedNow()
    const general = this.lanes.keyed || (entries.length > 0 && !isPlain(entries[0]))
    if (entries.length <= room) {
      let wake: boolean
      if (general) {
        wake = this.acceptEach(entries, 0, entries.length, now)
      } else {
        const lane = this.lanes.single
        lane.base.queue.pushAll(entries, 0, entries.length)
        wake = this.arrived(lane, lane.base, entries.length, group.cost, now)
      }
      if (wake) this.aggregatorSignal.notify()
      return undefined
    }
    for (let i = room; i < entries.length; i++) entries[i].state = NEW
    this.acceptEach(entries, 0, room, now)
    // Signals resume fibers inline, and they may re-enter the engine: every
    // transition completes before its signal (here: the waiter is queued first).
    const waiter: RoomWaiter<Rec, Res, Err> = { entries, offset: room, cancelled: false, admission }
    this.waiters.push(waiter)
    this.deadlines.trackWaiter(waiter)
    this.aggregatorSignal.notify()
    return waiter
  }

  /**
   * The records `maxQueueSize` bounds: those queued, and with `groupBy` those
   * in open batches beyond one batch's worth (`maxBatchSize`).
   */
  private occupied(): number {
    const lanes = this.lanes
    return lanes.keyed ? this.queued + Math.max(0, lanes.openRecords - this.tuning.maxBatchSize) : this.queued
  }

  /**
   * Accepts `entries[from..to)` one by one into their lanes and levels,
   * noting where keyed records and records with a deadline went. Returns
   * whether they can change what the aggregation loop does: the caller
   * signals it once its own transition is complete.
   */
  private acceptEach(entries: ReadonlyArray<Entry<Rec, Res, Err>>, from: number, to: number, now: number): boolean {
    let wake = false
    for (let i = from; i < to; i++) wake = this.acceptInto(entries[i], now) || wake
    return wake
  }

  /** `acceptEach` of one entry (a `submit`'s, without an array around it). */
  private acceptInto(entry: Entry<Rec, Res, Err>, now: number): boolean {
    entry.state = QUEUED
    const lanes = this.lanes
    const lane = lanes.laneOf(entry.key)
    const level = lane.levelOf(entry.priority)
    const deadline = entry.deadline
    let wake = false
    if (lanes.keyed || deadline !== Number.POSITIVE_INFINITY) {
      entry.level = level
      entry.position = level.accepted
      if (deadline !== Number.POSITIVE_INFINITY) {
        this.deadlines.track(entry)
        wake = deadline < this.wakeAt
      }
    }
    level.queue.push(entry)
    return this.arrived(lane, level, 1, entry.cost, now) || wake
  }

  /**
   * Counts `count` records of total `cost` as accepted into `level` of `lane`
   * at `now`; returns whether they can change what the aggregation loop does.
   */
  private arrived(
    lane: Lane<Entry<Rec, Res, Err>>,
    level: Level<Entry<Rec, Res, Err>>,
    count: number,
    cost: number,
    now: number
  ): boolean {
    level.arrived(count, now, this.arrivals)
    this.arrivals += count
    this.queued += count
    lane.queued += count
    lane.queuedCost += cost
    if (this.executor.isDelivering) this.executor.fedByDelivery = true
    this.counters.submitted += count
    this.counters.pending += count
    this.lanes.markDirty(lane)
    return lane.queued >= lane.wakeAtCount ||
      (lane.wakeOnCost && lane.openCost + lane.queuedCost >= this.tuning.targetBatchCost)
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
    this.executor.markStarted()
    if (!isPending(entry)) return
    if (entry.state === OPEN) this.leaveOpen(entry)
    entry.state = WITHDRAWN
    this.counters.pending--
    this.counters.withdrawn++
  }

  /** An OPEN record leaves its lane's open batch: the batch has room again, for the next step to fill. */
  private leaveOpen(entry: Entry<Rec, Res, Err>): void {
    const lane = entry.level === undefined ? this.lanes.single : (entry.level as Level<Entry<Rec, Res, Err>>).lane
    lane.openLive--
    lane.openCost -= entry.cost
    this.lanes.leftOpen(1)
    this.lanes.markDirty(lane)
  }

  /**
   * The record's deadline passed before it reached `process`: it fails with
   * `DeadlineExceededError` and gives back its room in the queue or its batch.
   */
  private expire(entry: Entry<Rec, Res, Err>, now: number): void {
    if (entry.state === OPEN) {
      this.leaveOpen(entry)
    } else {
      const level = entry.level as Level<Entry<Rec, Res, Err>>
      if (level.holds(entry.position)) {
        // Still queued: its room is free now; it leaves the queue when a fill passes it.
        this.queued--
        level.lane.queuedCost -= entry.cost
        this.lanes.markDirty(level.lane)
      }
    }
    const counters = this.counters
    counters.pending--
    counters.completed++
    counters.failed++
    counters.expired++
    this.telemetry.recordsSettled(1, true)
    const recovery = this.executor.recovery
    if (recovery !== undefined) return recovery.expired(entry, this.expiry(entry, now).error)
    release(entry, EXPIRED)
    entry.deliver(this.expiry(entry, now).exit as Exit.Exit<never, Err>)
  }

  /**
   * The failure of a record expiring at `now`, shared with the records that
   * expire with it: a burst submitted together expires together, and an error
   * (with its stack trace) per record made expiring cost more than processing.
   */
  private expiry(entry: Entry<Rec, Res, Err>, now: number): Expiry {
    const waited = now - (entry.deadline - entry.timeoutMillis)
    const last = this.lastExpiry
    if (last !== undefined && last.error.waitedMillis === waited && last.error.timeoutMillis === entry.timeoutMillis) {
      return last
    }
    const error = deadlineError(entry, now)
    return this.lastExpiry = { error, exit: Exit.fail(error) }
  }
  private lastExpiry: Expiry | undefined = undefined

  /**
   * A record with a deadline is queued again (a retry, a bisected half): its
   * deadline is watched again, as while it first waited.
   */
  watchDeadline(entry: Entry<Rec, Res, Err>): void {
    if (entry.deadline === Number.POSITIVE_INFINITY) return
    this.deadlines.track(entry)
    this.aggregatorSignal.notify()
  }

  /** Expires every record and waiting producer whose deadline is `now` or earlier. */
  private expireDue(now: number): void {
    // A batch `process` has just started may still hold records that read as QUEUED.
    this.executor.markStarted()
    this.deadlines.due(now, (entry) => this.expire(entry, now), (waiter) => {
      // Its records already accepted expire on their own (same deadline); the rest never enter.
      waiter.cancelled = true
      waiter.admission.onRejected(deadlineError(waiter.entries[waiter.offset], now))
    })
  }

  // ---------------------------------------------------------------------------
  // aggregation
  // ---------------------------------------------------------------------------

  /**
   * One aggregation step: expire what passed its deadline, fill the open
   * batches from the queues, admit waiting producers into the room that
   * freed, seal the due batches (oldest first) while the handoff has room
   * (stopping after one that ran inline), tell admitted producers, and say
   * what to wait for next.
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
    // Until this step says when to wake next, any deadline is earlier.
    this.wakeAt = Number.NEGATIVE_INFINITY
    this.aggregatorSignal.clear()
    this.handoffFull = false
    if (!this.deadlines.isEmpty) this.expireDue(now)
    const lanes = this.lanes
    if (!this.accepting && !this.shutdownSwept) {
      this.shutdownSwept = true
      lanes.allReady()
    }
    for (;;) {
      this.fillDirty(now)
      lanes.timedOut(now, this.tuning.batchTimeoutMs)
      // Room freed by filling admits waiting producers, whose records may fill further.
      if (this.admitWaiters(now)) continue
      const { prefetchBatches } = this.tuning
      if (this.executor.handoff.size >= prefetchBatches) {
        this.handoffFull = true
        break
      }
      let lane = lanes.nextReady()
      if (lane === undefined) {
        lane = this.tuning.dispatch === "idle" && this.executor.hasIdleSlot
          ? lanes.oldestWith(this.tuning.minBatchSize)
          : undefined
        if (lane === undefined) break
        if (!this.burstEnded) {
          // Submits resume the loops inline: let the current burst of submits
          // end (one scheduler round) before a batch goes to an idle slot,
          // or a synchronous burst would make batches of one. Meanwhile the
          // loop stays parked, so full batches still go inline as they fill.
          this.burstEnded = true
          this.parkLanes()
          return recheckStep
        }
      }
      this.burstEnded = false
      // A sealed batch that woke a slot was processed inline, and its
      // producers may have submitted again: return to the loop, which yields
      // now and then, rather than loop here unboundedly.
      if (this.seal(lane)) {
        this.parkLanes()
        return continueStep
      }
    }
    this.parkLanes()
    return this.nextWait(now)
  }

  /** Fills the open batch of every dirty lane; full ones (or all, in shutdown) become ready. */
  private fillDirty(now: number): void {
    const lanes = this.lanes
    if (!lanes.hasDirty) return
    const dirty = lanes.takeDirty()
    const { maxBatchSize, priorityAgingMs, targetBatchCost } = this.tuning
    const result = this.fillResult
    for (let i = 0; i < dirty.length; i++) {
      const lane = dirty[i]
      // Every record it had was withdrawn or expired: it starts over, but the records it
      // takes now waited in its queue since then, so its timeout still counts from its start.
      let startedAt = now
      if (lane.openLive === 0 && lane.open.length > 0) {
        startedAt = lane.openStartedAt
        lanes.closeOpen(lane)
      }
      const openBefore = lane.openLive
      const full = lane.fill(now, maxBatchSize, targetBatchCost, priorityAgingMs, result)
      this.queued -= result.left - result.expired
      lanes.openGrew(lane.openLive - openBefore)
      if (lane.openLive > 0) {
        if (openBefore === 0) {
          lane.openStartedAt = startedAt
          lanes.opened(lane)
        }
        if (full || !this.accepting) lanes.makeReady(lane)
      } else if (lane.open.length > 0) {
        // Nothing live was taken: drop what it passed over.
        lanes.closeOpen(lane)
      } else {
        lanes.dropIfEmpty(lane)
      }
    }
  }

  /**
   * Hands the lane's open batch (at most the caps' worth of it, when they
   * were lowered) to the executor; returns whether that woke a slot (and it
   * ran inline).
   */
  private seal(lane: Lane<Entry<Rec, Res, Err>>): boolean {
    const open = lane.open
    const { maxBatchSize, targetBatchCost } = this.tuning
    const whole = lane.openLive <= maxBatchSize && (lane.openCost <= targetBatchCost || lane.openLive === 1)
    let batch: Array<Entry<Rec, Res, Err>>
    let rest: Array<Entry<Rec, Res, Err>> | undefined
    if (whole) {
      for (let i = 0; i < lane.openMarked; i++) {
        if (open[i].state === OPEN) open[i].state = QUEUED
      }
      batch = lane.openLive === open.length ? open : open.filter(isPending)
    } else {
      ;[batch, rest] = splitOpen(open, maxBatchSize, targetBatchCost)
    }
    const sealed = {
      entries: batch,
      acceptedAt: lane.openAcceptedAt,
      key: lane.key,
      attempt: 1,
      split: 0,
      lineage: undefined,
      prepared: prepare(batch, this.executor.drops)
    }
    this.lanes.leftOpen(batch.length)
    if (rest === undefined) {
      this.lanes.closeOpen(lane)
    } else {
      let cost = 0
      for (const entry of rest) cost += entry.cost
      lane.open = rest
      lane.openMarked = rest.length
      lane.openLive = rest.length
      lane.openCost = cost
      this.lanes.readyAgain(lane)
    }
    if (lane.queued > 0) this.lanes.markDirty(lane)
    return this.executor.hand(sealed)
  }

  /**
   * The open batches wait past the end of this step: their records become
   * OPEN, so that a producer withdrawing one makes room in its batch; and
   * each lane's wake thresholds are set.
   */
  private parkLanes(): void {
    const touched = this.lanes.takeTouched()
    for (let i = 0; i < touched.length; i++) this.parkLane(touched[i])
  }

  private parkLane(lane: Lane<Entry<Rec, Res, Err>>): void {
    const open = lane.open
    for (let i = lane.openMarked; i < open.length; i++) {
      if (open[i].state === QUEUED) open[i].state = OPEN
    }
    lane.openMarked = open.length
    if (lane.openLive === 0) {
      lane.wakeAtCount = 1
      lane.wakeOnCost = false
      return
    }
    if (lane.ready) {
      // A due batch waits for room in the handoff, not for records.
      lane.wakeAtCount = Number.POSITIVE_INFINITY
      lane.wakeOnCost = false
      return
    }
    const { dispatch, maxBatchSize, minBatchSize } = this.tuning
    lane.wakeAtCount = dispatch === "idle" && this.executor.hasIdleSlot && !this.burstEnded
      ? Math.max(1, Math.min(maxBatchSize, minBatchSize) - lane.openLive)
      : Math.max(1, maxBatchSize - lane.openLive)
    lane.wakeOnCost = true
  }

  /** What to wait for after a step: the next timeout or deadline, or a signal; or the end. */
  private nextWait(now: number): AggregatorNext {
    const deadlines = this.deadlines
    const pendingDeadlines = deadlines.hasPendingRecords(this.counters.pending)
    if (!this.accepting && this.queued === 0 && this.lanes.openCount === 0 && this.waiters.size === 0) {
      // Sealed records with a deadline may still wait for a slot: the loop keeps their deadlines.
      if (!pendingDeadlines) return finished
    }
    let at = this.accepting ? this.lanes.nextTimeout(this.tuning.batchTimeoutMs) : Number.POSITIVE_INFINITY
    at = Math.min(at, deadlines.next())
    this.wakeAt = at
    if (at === Number.POSITIVE_INFINITY) return park
    return { _tag: "ParkUntil", millis: Math.max(0, at - now), at }
  }

  /**
   * Accepts waiting producers' records while the queue has room; returns
   * whether any was. Producers whose records are all in are told after the
   * aggregation step (`admitted`), never in the middle of it.
   */
  private admitWaiters(now: number): boolean {
    let admitted = false
    const max = this.tuning.maxQueueSize
    while (this.waiters.size > 0 && this.occupied() < max) {
      const waiter = this.waiters.peek()
      if (waiter.cancelled) {
        this.waiters.shift()
        continue
      }
      const { entries, offset } = waiter
      waiter.offset = Math.min(entries.length, offset + max - this.occupied())
      this.acceptEach(entries, offset, waiter.offset, now)
      admitted ||= waiter.offset > offset
      if (waiter.offset === entries.length) {
        this.waiters.shift()
        this.admitted.push(waiter.admission)
      }
    }
    return admitted
  }

  /** The aggregation loop sealed every accepted record after shutdown: no batch will follow. */
  endHandoff(): void {
    this.executor.handoffEnded = true
    this.executor.wakeAll()
  }

  // ---------------------------------------------------------------------------
  // slots
  // ---------------------------------------------------------------------------

  /** The slot is about to park on an empty handoff: with "idle" dispatch that can make a batch due. */
  slotWaiting(slot: Slot): void {
    if (this.executor.slotWaiting(slot)) this.aggregatorSignal.notify()
  }

  /** Whether `slot` must leave: fewer slots were configured, or the handoff ended with nothing left. */
  slotDone(slot: Slot): boolean {
    const executor = this.executor
    return slot.index >= this.tuning.maxConcurrentBatches ||
      (executor.handoffEnded && executor.handoff.size === 0 && executor.held === 0)
  }

  /**
   * Takes the next sealed batch, if one is ready, and puts its records in
   * flight. The caller reports it (`processStarted`) once `process` started.
   */
  takeBatch(): InFlight<Rec, Res, Err> | undefined {
    const executor = this.executor
    if (executor.handoff.size === 0 || !executor.canStart) return undefined
    return executor.take(this.now())
  }

  /**
   * The batch's `process` has started: report it, and tell the aggregation
   * loop the handoff has room if it waits for that (waking it for nothing
   * would cost a fiber resume per batch).
   */
  processStarted(batch: InFlight<Rec, Res, Err>, running: boolean): void {
    this.executor.started(batch, running)
    if (this.handoffFull) this.aggregatorSignal.notify()
  }

  settleBatch(
    batch: InFlight<Rec, Res, Err>,
    exit: Exit.Exit<ReadonlyArray<Res>, unknown>
  ): Outcome<Res, Err> | undefined {
    const executor = this.executor
    const outcome = executor.settle(batch, exit, this.now())
    if (outcome !== undefined && this.model !== undefined) this.learnFrom(batch, outcome, this.model)
    // A slot freed: one parked while the others ran `maxConcurrentBatches` batches may start one.
    if (executor.handoff.size > 0) executor.wakeOne()
    return outcome
  }

  deliver(batch: InFlight<Rec, Res, Err>, outcome: Outcome<Res, Err>): void {
    this.executor.deliver(batch, outcome)
  }

  // ---------------------------------------------------------------------------
  // reconfiguration
  // ---------------------------------------------------------------------------

  /**
   * Applies `patch` over the current knobs, validated together with them: an
   * invalid patch changes nothing. Effective from the next aggregation step;
   * returns the new tuning (the caller starts slots when there are more).
   */
  reconfigure(patch: Reconfigurable): Tuning | BatcherConfigError {
    const next = reconfigured(this.configured, patch)
    if (next instanceof BatcherConfigError) return next
    this.configured = next
    const setting = this.adaptive?.rebound(next)
    this.apply(setting === undefined ? next : inForce(next, setting))
    this.executor.wakeAll()
    return next
  }

  /** Puts `next` in force: every lane is looked at again under its caps and timeouts. */
  private apply(next: Tuning): void {
    const previous = this.tuning
    this.tuning = next
    this.executor.allowed = next.maxConcurrentBatches
    if (previous.maxBatchSize !== next.maxBatchSize || previous.batchTimeoutMs !== next.batchTimeoutMs) {
      this.telemetry.tuned(next.maxBatchSize, next.batchTimeoutMs)
    }
    for (const lane of this.lanes.all()) {
      if (lane.queued > 0) this.lanes.markDirty(lane)
      const full = lane.openLive >= next.maxBatchSize || lane.openCost >= next.targetBatchCost
      if (lane.openLive > 0 && full) this.lanes.makeReady(lane)
      lane.wakeAtCount = 1
    }
    this.aggregatorSignal.notify()
  }

  // ---------------------------------------------------------------------------
  // learning: adaptive batching and predictive admission (`adaptive.ts`)
  // ---------------------------------------------------------------------------

  /** Turns on adaptive batching toward `adaptive`, and predictive admission; called once, before any record. */
  learn(adaptive: AdaptiveTarget | undefined, predictive: boolean): void {
    if (adaptive === undefined && !predictive) return
    const model = new BatchTimeModel()
    this.model = model
    this.predictive = predictive
    if (adaptive === undefined) return
    const controller = new AdaptiveController(model, adaptive.targetMs, adaptive.percentile, this.configured)
    this.adaptive = controller
    this.apply(inForce(this.configured, controller))
  }

  /**
   * A batch settled: a first run that returned results teaches the model its
   * time, and the controller sees its latency and the backlog.
   */
  private learnFrom(batch: InFlight<Rec, Res, Err>, outcome: Outcome<Res, Err>, model: BatchTimeModel): void {
    const size = batch.entries.length
    if (Array.isArray(outcome) && batch.info.attempt === 1 && batch.info.split === 0) {
      model.observe(size, batch.settledMillis)
    }
    const adaptive = this.adaptive
    if (adaptive === undefined) return
    const backlogged = this.queued >= this.tuning.maxBatchSize || this.waiters.size > 0
    const setting = adaptive.observe(size, batch.settledAt - batch.acceptedAt, backlogged)
    const tuning = this.tuning
    if (setting.cap !== tuning.maxBatchSize || setting.waitMs !== tuning.batchTimeoutMs) {
      this.apply(inForce(tuning, setting))
    }
  }

  /**
   * With `admission: "predictive"`, the failure of a call whose `count`
   * records of `priority` may wait `timeoutMillis` for `process`, when the
   * learnt batch time says the records ahead of them (all but those of a
   * lower priority still queued) keep them from it longer; undefined when
   * they may wait, or nothing is predicted yet.
   */
  predictedLate(count: number, priority: number, timeoutMillis: number): DeadlineExceededError | undefined {
    const model = this.model
    if (!this.predictive || model === undefined || !model.ready || timeoutMillis === Number.POSITIVE_INFINITY) {
      return undefined
    }
    const executor = this.executor
    const ahead = this.counters.pending - this.lanes.queuedBelow(priority) + count - 1
    const soonestFree = executor.canStart ? 0 : executor.soonestFreeMs(this.now(), model)
    const { maxBatchSize, maxConcurrentBatches } = this.tuning
    const start = predictedStartMs(model, ahead, maxBatchSize, maxConcurrentBatches, soonestFree)
    return start > timeoutMillis
      ? new DeadlineExceededError({ waitedMillis: 0, timeoutMillis, reason: "predicted" })
      : undefined
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
    this.aggregatorSignal.notify()
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
      const state = entry.state
      if (state === NEW || state === WITHDRAWN || state === DONE || state === EXPIRED) return
      if (state !== IN_FLIGHT) this.counters.pending--
      this.counters.completed++
      this.counters.failed++
      settled++
      release(entry)
      entry.deliver(exit)
    }
    this.executor.abandon(settle)
    for (const lane of this.lanes.all()) {
      lane.open.forEach(settle)
      for (const level of lane.levels) level.queue.drain().forEach(settle)
      lane.queued = 0
      lane.queuedCost = 0
    }
    this.lanes.clear()
    this.deadlines.clear()
    this.queued = 0
    this.telemetry.recordsSettled(settled, true)
    this.telemetry.sync(this.counters)
  }

  // ---------------------------------------------------------------------------
  // stats
  // ---------------------------------------------------------------------------

  snapshot(): BatchStats {
    return snapshotOf(this.counters, this.tuning)
  }
}

/**
 * Splits an open batch that outgrew lowered caps: the first records that fit
 * go now, the rest stay open (in order; withdrawn and expired ones dropped).
 */
const splitOpen = <E extends Entry<any, any, any>>(
  open: ReadonlyArray<E>,
  maxBatchSize: number,
  targetBatchCost: number
): [Array<E>, Array<E>] => {
  const batch: Array<E> = []
  const rest: Array<E> = []
  let cost = 0
  for (const entry of open) {
    if (!isPending(entry)) continue
    if (
      rest.length === 0 && batch.length < maxBatchSize &&
      (batch.length === 0 || cost + entry.cost <= targetBatchCost)
    ) {
      if (entry.state === OPEN) entry.state = QUEUED
      batch.push(entry)
      cost += entry.cost
    } else {
      entry.state = OPEN
      rest.push(entry)
    }
  }
  return [batch, rest]
}

/** A `DeadlineExceededError` and its `Exit`, as records expiring together share them. */
interface Expiry {
  readonly error: DeadlineExceededError
  readonly exit: Exit.Exit<never, DeadlineExceededError>
}

/** Whether the record needs none of the general path: no key, no priority, no deadline. */
const isPlain = (entry: Entry<any, any, any>): boolean =>
  entry.priority === 0 && entry.deadline === Number.POSITIVE_INFINITY && entry.key === undefined

/** A `BatcherShutdownError` with `reason`. */
export const shutdownError = (reason: string): BatcherShutdownError => new BatcherShutdownError({ reason })

/**
 * An engine that no fiber drives, kept with its parts for their hidden
 * classes (see `keepShape`); the inert batchers use it.
 */
export const inertEngine: Engine<unknown, unknown, unknown> = keepShape(
  new Engine(
    validateTuningUnsafe({}) as Tuning,
    false,
    Clock.Clock.defaultValue(),
    new Telemetry(defaults.name, Context.empty())
  )
)
keepShape(inertEngine.executor)
// The engine's records of open batches and waiting producers, for the same reason.
keepShape<RoomWaiter<unknown, unknown, unknown>>({
  entries: [],
  offset: 0,
  cancelled: false,
  admission: { onAdmitted: constVoid, onRejected: constVoid }
})
