/**
 * The processing side: sealed batches waiting for a slot (the handoff, at most
 * `prefetchBatches`), the slots that run `process` (`maxConcurrentBatches` at
 * once), and the settling and delivery of each batch's results. Batches start
 * in the order they were sealed; each one's results go out as soon as its own
 * `process` ends, whatever the others do.
 */
import type { Tracer } from "effect"
import { Exit } from "effect"
import type { BatchInfo } from "../Batcher.ts"
import { countOf, DeadlineExceededError, ResultCountMismatchError } from "../BatcherError.ts"
import type { Entry } from "./entry.ts"
import type { EXPIRED } from "./entry.ts"
import { DONE, IN_FLIGHT, isPending } from "./entry.ts"
import { Fifo } from "./fifo.ts"
import type { LaneKey } from "./lane.ts"
import type { Recovery } from "./recovery.ts"
import { keepShape } from "./shapes.ts"
import { Signal } from "./signal.ts"
import type { Counters, Telemetry } from "./telemetry.ts"

/** A sealed batch as it waits in the handoff, with when its oldest record arrived (for its metrics). */
export interface Sealed<E> {
  readonly entries: Array<E>
  readonly acceptedAt: number
  readonly key: LaneKey
  /** Which run of these records it is (1: the first) and how often they were bisected; see `BatchInfo`. */
  readonly attempt: number
  readonly split: number
  /** What `recovery.ts` keeps across the runs of these records (their retry schedule); undefined for a first run. */
  readonly lineage: unknown
  /** What `process` gets, collected as the batch was sealed; undefined for a batch that runs again. */
  readonly prepared: Prepared | undefined
}

/**
 * A sealed batch's records, cost, producer spans and earliest deadline,
 * collected while the aggregation loop has its entries at hand: `take` then
 * starts `process` without a pass over them, which would cost a cache miss
 * per record right where the resource waits for its next batch. Valid while
 * no record was withdrawn or expired since (`drops`) and the earliest
 * deadline is ahead.
 */
export interface Prepared {
  readonly records: Array<unknown>
  readonly cost: number
  readonly spans: Set<Tracer.AnySpan> | undefined
  readonly earliestDeadline: number
  /** `Executor.drops` when it was collected. */
  readonly drops: number
}

/** Collects `entries`' `Prepared` (see there); `drops` is `Executor.drops` now. */
export const prepare = (entries: ReadonlyArray<Entry<any, any, any>>, drops: number): Prepared => {
  const size = entries.length
  const records = new Array<unknown>(size)
  let cost = 0
  let earliestDeadline = Number.POSITIVE_INFINITY
  let spans: Set<Tracer.AnySpan> | undefined
  for (let i = 0; i < size; i++) {
    const entry = entries[i]
    records[i] = entry.record
    cost += entry.cost
    if (entry.deadline < earliestDeadline) earliestDeadline = entry.deadline
    if (entry.span !== undefined) (spans ??= new Set()).add(entry.span)
  }
  return { records, cost, spans, earliestDeadline, drops }
}

/** What the records of a settled batch get: one result each, or the failure all of them get. */
export type Outcome<Res, Err> = ReadonlyArray<Res> | Exit.Exit<never, Err>

/** A batch inside `process`: its records, what `process` and its span are given, and its times. */
export class InFlight<Rec, Res, Err> {
  /** Set when shutdown gave up on it: its records already have their results. */
  abandoned = false
  /** Set once `settle` ran. */
  settledAt = 0
  settledMillis = 0
  readonly entries: Array<Entry<Rec, Res, Err>>
  readonly records: ReadonlyArray<Rec>
  readonly info: BatchInfo
  readonly spans: ReadonlySet<Tracer.AnySpan> | undefined
  readonly startedAt: number
  readonly acceptedAt: number
  readonly lineage: unknown
  constructor(
    entries: Array<Entry<Rec, Res, Err>>,
    records: ReadonlyArray<Rec>,
    info: BatchInfo,
    spans: ReadonlySet<Tracer.AnySpan> | undefined,
    startedAt: number,
    acceptedAt: number,
    lineage: unknown
  ) {
    this.lineage = lineage
    this.entries = entries
    this.records = records
    this.info = info
    this.spans = spans
    this.startedAt = startedAt
    this.acceptedAt = acceptedAt
  }
}

/** One of the `maxConcurrentBatches` fibers that run batches; `index` from 0. */
export class Slot {
  readonly signal = new Signal()
  /** Parked on an empty handoff. */
  idle = false
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
}

/**
 * Gives `entry` its final state (DONE, or EXPIRED for a record whose deadline
 * passed) and lets go of its record and span, just before its result goes out.
 */
export const release = (entry: Entry<any, any, any>, state: typeof DONE | typeof EXPIRED = DONE): void => {
  entry.state = state
  entry.record = undefined
  if (entry.span !== undefined) entry.span = undefined
}

/** The failure of a record whose deadline passed at `now` (engine time). */
export const deadlineError = (entry: Entry<any, any, any>, now: number): DeadlineExceededError =>
  new DeadlineExceededError({
    waitedMillis: now - (entry.deadline - entry.timeoutMillis),
    timeoutMillis: entry.timeoutMillis
  })

export class Executor<Rec, Res, Err> {
  readonly handoff = new Fifo<Sealed<Entry<Rec, Res, Err>>>()
  /** Set once the aggregation loop sealed everything after shutdown: no batch will follow. */
  handoffEnded = false
  readonly slots: Array<Slot> = []
  /** Slots parked on an empty handoff, the latest last. */
  private readonly idleSlots: Array<Slot> = []
  readonly inFlight = new Set<InFlight<Rec, Res, Err>>()
  /** How many batches may be in `process` at once (`maxConcurrentBatches`, kept current by the engine). */
  allowed = 1
  /** When the number of batches in `process` last went from 0 to 1, or to 0 (idle from then). */
  private busySince = 0
  private idleSince = 0
  /** How many deliveries run right now (a delivery can start another inline); see `fedByDelivery`. */
  private delivering = 0
  /**
   * Set when a producer submits from inside a delivery: its records feed the
   * next batch synchronously, so the slot must yield now and then. The slot
   * reads and clears it after each delivery.
   */
  fedByDelivery = false
  /** The failure policy (`processExits`, `retry`, `onBatchFailure`, `onDeadLetter`); undefined: every batch settles as one. */
  recovery: Recovery<Rec, Res, Err> | undefined = undefined
  /**
   * Work `recovery` still holds outside the handoff and the slots (retries
   * waiting for their delay, dead letters being reported): the slots stay
   * until it is done.
   */
  held = 0

  /**
   * Batches `take` started from their `Prepared` records whose entries are not
   * marked IN_FLIGHT yet: `started` marks them once `process` has started, and
   * `markStarted` before anything reads a record's state (a withdrawal, an
   * expiry, an abandon).
   */
  private readonly unmarked: Array<InFlight<Rec, Res, Err>> = []

  private readonly counters: Counters
  private readonly telemetry: Telemetry
  /** Expires a record found past its deadline (the engine gives its room back). */
  readonly expired: (entry: Entry<Rec, Res, Err>, now: number) => void
  constructor(
    counters: Counters,
    telemetry: Telemetry,
    expired: (entry: Entry<Rec, Res, Err>, now: number) => void
  ) {
    this.counters = counters
    this.telemetry = telemetry
    this.expired = expired
  }

  /** How many records were withdrawn or expired so far: a `Prepared` collected at another count may hold one. */
  get drops(): number {
    return this.counters.withdrawn + this.counters.expired
  }

  get isDelivering(): boolean {
    return this.delivering > 0
  }

  /** Whether a slot waits for a batch, may start one, and no batch is waiting for a slot. */
  get hasIdleSlot(): boolean {
    return this.idleSlots.length > 0 && this.handoff.size === 0 && this.inFlight.size < this.allowed
  }

  /**
   * How long until the first batch in `process` is predicted to end, by
   * `model` (a batch's size to milliseconds): 0 when none runs or it is overdue.
   */
  soonestFreeMs(now: number, model: { predict(size: number): number }): number {
    let soonest = Number.POSITIVE_INFINITY
    for (const batch of this.inFlight) {
      soonest = Math.min(soonest, batch.startedAt + model.predict(batch.entries.length) - now)
    }
    return soonest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, soonest)
  }

  /** Whether another batch may start now. */
  get canStart(): boolean {
    return this.inFlight.size < this.allowed
  }

  /**
   * Puts a sealed batch in the handoff and wakes an idle slot, if one is
   * parked; returns whether it did (it then ran inline, until it first waited).
   */
  hand(sealed: Sealed<Entry<Rec, Res, Err>>): boolean {
    this.handoff.push(sealed)
    if (!this.canStart) return false
    const slot = this.idleSlots.pop()
    if (slot === undefined) return false
    slot.idle = false
    return slot.signal.notify()
  }

  /**
   * The slot is about to park: nothing to take, or `maxConcurrentBatches`
   * batches run. Returns whether it became idle.
   */
  slotWaiting(slot: Slot): boolean {
    if (slot.idle) return false
    slot.idle = true
    this.idleSlots.push(slot)
    return true
  }

  /** A slot leaves (fewer slots, or the end): it is no longer idle. */
  slotLeft(slot: Slot): void {
    const index = this.idleSlots.indexOf(slot)
    if (index >= 0) this.idleSlots.splice(index, 1)
    slot.idle = false
  }

  /** Wakes the slot that parked last, if one is parked. */
  wakeOne(): void {
    if (!this.canStart) return
    const slot = this.idleSlots.pop()
    if (slot === undefined) return
    slot.idle = false
    slot.signal.notify()
  }

  /** Wakes every idle slot (the handoff ended, or slots must leave). */
  wakeAll(): void {
    const idle = this.idleSlots.splice(0)
    for (const slot of idle) {
      slot.idle = false
      slot.signal.notify()
    }
  }

  /**
   * Takes the next sealed batch that still has records and puts them in
   * flight (withdrawn and expired ones are dropped here, and records whose
   * deadline has passed expire now, so `process` never sees them).
   */
  take(now: number): InFlight<Rec, Res, Err> | undefined {
    while (this.handoff.size > 0) {
      const sealed = this.handoff.shift()
      const started = this.start(sealed, now)
      if (started !== undefined) return started
    }
    return undefined
  }

  /**
   * Puts the sealed batch's pending records in flight with what `process` and
   * its span need. From its `Prepared` records when no record can have left
   * it since it was sealed (their state is set once `process` has started:
   * `markStarted`); otherwise in one pass: a batch that waited in the handoff
   * was last touched when it was filled, so each pass over it costs cache
   * misses just before `process` starts.
   */
  private start(sealed: Sealed<Entry<Rec, Res, Err>>, now: number): InFlight<Rec, Res, Err> | undefined {
    const prepared = sealed.prepared
    if (prepared !== undefined && prepared.drops === this.drops && prepared.earliestDeadline > now) {
      const running = this.inFlightFrom(
        sealed,
        sealed.entries,
        prepared.records as Array<Rec>,
        prepared.cost,
        prepared.spans,
        now
      )
      this.unmarked.push(running)
      return running
    }
    const batch = sealed.entries
    const size = batch.length
    const records = new Array<Rec>(size)
    let live = batch
    let count = 0
    let cost = 0
    let spans: Set<Tracer.AnySpan> | undefined
    for (let i = 0; i < size; i++) {
      const entry = batch[i]
      if (!isPending(entry) || (entry.deadline <= now && this.expire(entry, now))) {
        if (live === batch) live = batch.slice(0, i)
        continue
      }
      if (live !== batch) live.push(entry)
      entry.state = IN_FLIGHT
      cost += entry.cost
      records[count++] = entry.record as Rec
      if (entry.span !== undefined) (spans ??= new Set()).add(entry.span)
    }
    if (count === 0) return undefined
    records.length = count
    return this.inFlightFrom(sealed, live, records, cost, spans, now)
  }

  /** Counts `entries` (all pending) as in flight and makes their `InFlight`. */
  private inFlightFrom(
    sealed: Sealed<Entry<Rec, Res, Err>>,
    entries: Array<Entry<Rec, Res, Err>>,
    records: Array<Rec>,
    cost: number,
    spans: Set<Tracer.AnySpan> | undefined,
    now: number
  ): InFlight<Rec, Res, Err> {
    const count = entries.length
    const counters = this.counters
    if (this.inFlight.size === 0) {
      counters.idleMs += now - this.idleSince
      this.busySince = now
    }
    counters.pending -= count
    counters.inFlight += count
    counters.inFlightBatches++
    const running = new InFlight<Rec, Res, Err>(
      entries,
      records,
      { key: sealed.key, size: count, cost, attempt: sealed.attempt, split: sealed.split },
      spans,
      now,
      sealed.acceptedAt,
      sealed.lineage
    )
    this.inFlight.add(running)
    return running
  }

  /** Marks the records of the batches started from their `Prepared` records IN_FLIGHT. */
  markStarted(): void {
    const unmarked = this.unmarked
    for (let b = 0; b < unmarked.length; b++) {
      const entries = unmarked[b].entries
      for (let i = 0; i < entries.length; i++) entries[i].state = IN_FLIGHT
    }
    unmarked.length = 0
  }

  /** Expires a pending record found past its deadline as its batch starts; returns true (it is skipped). */
  private expire(entry: Entry<Rec, Res, Err>, now: number): boolean {
    this.expired(entry, now)
    return true
  }

  /** The batch's `process` has started: report it (`running` is false when it already returned). */
  started(batch: InFlight<Rec, Res, Err>, running: boolean): void {
    if (this.unmarked.length > 0) this.markStarted()
    this.telemetry.batchStarted(
      batch.entries.length,
      batch.info.cost,
      batch.startedAt,
      batch.acceptedAt,
      this.counters,
      running
    )
  }

  /**
   * `process` ran `batch` and exited with `exit`: updates the stats and
   * returns what its records get (their results, or the failure every one of
   * them gets) for `deliver`; undefined when the batch was abandoned meanwhile.
   */
  settle(
    batch: InFlight<Rec, Res, Err>,
    exit: Exit.Exit<ReadonlyArray<Res>, unknown>,
    now: number
  ): Outcome<Res, Err> | undefined {
    if (batch.abandoned || !this.inFlight.delete(batch)) return undefined
    const size = batch.entries.length
    const counters = this.counters
    // Busy time is counted up to each settle, so a batcher whose slots never all idle still reports it.
    counters.busyMs += now - this.busySince
    this.busySince = now
    if (this.inFlight.size === 0) this.idleSince = now
    counters.inFlight -= size
    counters.inFlightBatches--
    counters.batches++
    counters.batchedRecords += size
    counters.batchCost += batch.info.cost
    // With a recovery policy, records count as completed when they finally settle.
    const final = this.recovery === undefined
    if (final) counters.completed += size
    let outcome: Outcome<Res, Err>
    if (Exit.isFailure(exit)) {
      outcome = exit as Exit.Exit<never, Err>
    } else {
      outcome = (resultsMismatch(exit.value, size, "process") as Exit.Exit<never, Err> | undefined) ?? exit.value
    }
    if (final && !Array.isArray(outcome)) counters.failed += size
    batch.settledMillis = now - batch.startedAt
    batch.settledAt = now
    return outcome
  }

  /**
   * Delivers every record of a settled batch its result, exactly once, after
   * reporting the batch's metrics (kept out of the way of the next `process`,
   * which the slot starts between `settle` and this).
   */
  deliver(batch: InFlight<Rec, Res, Err>, outcome: Outcome<Res, Err>): void {
    if (this.recovery !== undefined) {
      this.delivering++
      try {
        return this.recovery.deliver(batch, outcome)
      } finally {
        this.delivering--
      }
    }
    const entries = batch.entries
    this.telemetry.batchFinished(
      entries.length,
      batch.settledMillis,
      !Array.isArray(outcome),
      batch.settledAt,
      batch.acceptedAt,
      this.counters
    )
    this.delivering++
    try {
      if (!Array.isArray(outcome)) {
        const exit = outcome as Exit.Exit<never, Err>
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i]
          release(entry)
          entry.deliver(exit)
        }
        return
      }
      succeedAll(entries, outcome)
    } finally {
      this.delivering--
    }
  }

  /**
   * Puts batches that run again (retries, bisected halves) at the front of
   * the handoff, in order, ahead of newer batches, and wakes idle slots.
   */
  redo(batches: ReadonlyArray<Sealed<Entry<Rec, Res, Err>>>): void {
    const newer = this.handoff.drain()
    for (const sealed of batches) this.handoff.push(sealed)
    for (const sealed of newer) this.handoff.push(sealed)
    for (let i = 0; i < batches.length; i++) {
      const slot = this.idleSlots.pop()
      if (slot === undefined) return
      slot.idle = false
      slot.signal.notify()
    }
  }

  /** `recovery` let go of work it held: once none is left, idle slots look whether they may leave. */
  release(): void {
    if (--this.held === 0 && this.handoffEnded) this.wakeAll()
  }

  /**
   * Gives up on every batch in `process` and in the handoff: `settle` (an
   * entry in flight, or not yet started) is called on each record.
   */
  abandon(settle: (entry: Entry<Rec, Res, Err>) => void): void {
    this.markStarted()
    this.recovery?.abandon(settle)
    this.held = 0
    for (const batch of this.inFlight) {
      batch.abandoned = true
      batch.entries.forEach(settle)
    }
    this.inFlight.clear()
    this.counters.inFlight = 0
    this.counters.inFlightBatches = 0
    for (const sealed of this.handoff.drain()) sealed.entries.forEach(settle)
    this.handoffEnded = true
    this.wakeAll()
  }
}

/**
 * Releases each entry and gives it its result, in order. An awaiter resumes
 * inline: one awaiting these offers in order (`offerAll`, then
 * `Deferred.await` on each) would reach the next entry before this loop did
 * and park again on every record of the batch. So the entries someone awaits
 * get their results once every other one has its.
 */
export const succeedAll = <Res>(entries: ReadonlyArray<Entry<any, Res, any>>, results: ReadonlyArray<Res>): void => {
  let awaited: Array<number> | undefined
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]
    release(entry)
    if (!entry.succeedUnlessAwaited(results[i])) (awaited ??= []).push(i)
  }
  if (awaited !== undefined) { for (const i of awaited) entries[i].succeed(results[i]) }
}

/**
 * What the records of a batch of `size` get when `results`, returned by
 * `option` (`process`, or the Promise API's `processFn`), is not one result
 * per record: a defect when it is not an array, a `ResultCountMismatchError`
 * when its length differs; undefined when it is right.
 */
export const resultsMismatch = (
  results: unknown,
  size: number,
  option: "process" | "processFn"
): Exit.Exit<never, ResultCountMismatchError> | undefined => {
  if (!Array.isArray(results)) {
    return Exit.die(
      new TypeError(`${option} must return an array of ${countOf(size, "result")}, got ${describe(results)}`)
    )
  }
  if (results.length === size) return undefined
  return Exit.fail(
    new ResultCountMismatchError(
      option === "process"
        ? { expected: size, actual: results.length }
        : { expected: size, actual: results.length, option }
    )
  )
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? `an array of ${value.length}` : typeof value

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new Slot(0))
keepShape<Sealed<unknown>>({
  entries: [],
  acceptedAt: 0,
  key: undefined,
  attempt: 1,
  split: 0,
  lineage: undefined,
  prepared: undefined
})
keepShape(prepare([], 0))
keepShape(
  new InFlight<unknown, unknown, unknown>(
    [],
    [],
    { key: undefined, size: 0, cost: 0, attempt: 1, split: 0 },
    undefined,
    0,
    0,
    undefined
  )
)
