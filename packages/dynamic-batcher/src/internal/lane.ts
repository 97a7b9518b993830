/**
 * A lane: where accepted records of one key wait and their batches form (a
 * batcher without `groupBy` has one lane; `lanes.ts` keeps the set). A lane
 * keeps its records in one queue per priority level (`Level`, highest first)
 * and its own open batch, filled by the policy of `fill`: highest level
 * first, FIFO within a level, records that waited `priorityAging` ahead of
 * every level in arrival order.
 */
import type { Entry } from "./entry.ts"
import { EXPIRED, QUEUED, WITHDRAWN } from "./entry.ts"
import { Fifo } from "./fifo.ts"
import { keepShape } from "./shapes.ts"

/** A lane's batch key: undefined without `groupBy`. */
export type LaneKey = string | number | undefined

/**
 * Records accepted together, at the same time (one synchronous run of
 * submits). The level's records `[start, end)` belong to it; the first has
 * arrival number `seq`, and the others the next ones, unless records of
 * other levels or lanes arrived between them: then `seqs` holds each one's.
 */
interface Arrival {
  readonly at: number
  readonly start: number
  end: number
  readonly seq: number
  seqs: Array<number> | undefined
}

/** One priority level of a lane: its records in arrival order, and when they arrived. */
export class Level<E extends Entry<any, any, any>> {
  readonly priority: number
  readonly lane: Lane<E>
  readonly queue = new Fifo<E>()
  /** Arrivals of the records still queued, oldest first: kept per arrival, not per record. */
  private readonly arrivals = new Fifo<Arrival>()
  /** Records ever accepted into, and taken from, this level (withdrawn and expired ones included). */
  accepted = 0
  taken = 0
  constructor(priority: number, lane: Lane<E>) {
    this.priority = priority
    this.lane = lane
  }

  /** Notes that `count` records with arrival numbers from `seq` were accepted at `at`. */
  arrived(count: number, at: number, seq: number): void {
    const last = this.arrivals.last()
    const start = this.accepted
    this.accepted += count
    if (last === undefined || last.at !== at) {
      this.arrivals.push({ at, start, end: this.accepted, seq, seqs: undefined })
      return
    }
    // Accepted at the same time as the last ones: the same arrival, even when
    // other levels' records came between (priorities taking turns), which
    // otherwise cost an arrival per record.
    const size = last.end - last.start
    let seqs = last.seqs
    if (seqs === undefined && last.seq + size !== seq) {
      seqs = []
      for (let i = 0; i < size; i++) seqs.push(last.seq + i)
      last.seqs = seqs
    }
    if (seqs !== undefined) {
      for (let i = 0; i < count; i++) seqs.push(seq + i)
    }
    last.end = this.accepted
  }

  /** Records up to position `taken` left the queue: forgets their arrivals. */
  forgetTaken(): void {
    const arrivals = this.arrivals
    while (arrivals.size > 0 && arrivals.peek().end <= this.taken) arrivals.shift()
  }

  /** The arrival of the record at `position` (one still queued). */
  private arrivalOf(position: number): Arrival {
    for (let i = 0;; i++) {
      const arrival = this.arrivals.at(i)
      if (arrival.end > position) return arrival
    }
  }

  /** When the record at `position` (still queued) arrived. */
  arrivedAt(position: number): number {
    return this.arrivalOf(position).at
  }

  /** The arrival number of the record at `position` (still queued): the global order of arrival. */
  seqOf(position: number): number {
    const arrival = this.arrivalOf(position)
    const offset = position - arrival.start
    return arrival.seqs === undefined ? arrival.seq + offset : arrival.seqs[offset]
  }

  /** Whether the record at `position` is still in this queue. */
  holds(position: number): boolean {
    return position >= this.taken
  }
}

/** What `fill` reports about the records it passed over. */
export interface FillResult {
  /** Records that left the queues, and how many of them had expired (their room was already given back). */
  left: number
  expired: number
}

/** A lane: its queues by priority level, and its open batch. */
export class Lane<E extends Entry<any, any, any>> {
  readonly key: LaneKey
  /** Highest priority first. */
  levels: Array<Level<E>>
  /** Records in the queues (withdrawn and expired ones included until they leave them). */
  queued = 0
  /** The cost of those records (expired ones excepted). */
  queuedCost = 0

  open: Array<E> = []
  /** How many of the open batch's first records are marked OPEN (see `Engine.markOpen`). */
  openMarked = 0
  openLive = 0
  openCost = 0
  /** When the open batch took its first record (its timeout counts from then). */
  openStartedAt = 0
  /** When its oldest record arrived, and its arrival number: it ranks the batch among ready ones. */
  openAcceptedAt = 0
  openSeq = 0
  /** Bumped whenever the open batch is sealed or emptied, so stale heap items can be told apart. */
  generation = 0

  /** On the engine's list of lanes with records not yet filled into the open batch. */
  dirty = false
  /** On the engine's heap of ready batches with the current generation. */
  ready = false
  /**
   * While the aggregation loop is parked, new records wake it only once the
   * lane's queues hold this many records, or (`wakeOnCost`) enough cost to
   * fill the open batch: before that they could not change its decision.
   * So a burst wakes it once per batch, not once per record.
   */
  wakeAtCount = 1
  wakeOnCost = false

  /** The level-0 queue, where records without a priority go; always among `levels`. */
  readonly base: Level<E>

  constructor(key: LaneKey) {
    this.key = key
    this.base = new Level<E>(0, this)
    this.levels = [this.base]
  }

  /** The queue of `priority`, made when first needed. */
  levelOf(priority: number): Level<E> {
    const levels = this.levels
    if (priority === 0) return this.base
    let index = 0
    while (index < levels.length && levels[index].priority > priority) index++
    if (index < levels.length && levels[index].priority === priority) return levels[index]
    const level = new Level<E>(priority, this)
    levels.splice(index, 0, level)
    return level
  }

  /** Whether the lane holds nothing: no queued record and no open batch. */
  get isEmpty(): boolean {
    return this.queued === 0 && this.open.length === 0
  }

  /** Forgets the levels a quiet lane no longer needs (a lane keeps only its level-0 queue). */
  compactLevels(): void {
    if (this.levels.length > 1 && this.queued === 0) this.levels = [this.base]
  }

  resetOpen(): void {
    this.open = []
    this.openMarked = 0
    this.openLive = 0
    this.openCost = 0
    this.generation++
    this.ready = false
    this.wakeAtCount = 1
    this.wakeOnCost = false
  }

  /**
   * Moves records from the queues into the open batch under the caps; returns
   * whether the batch is full. Records taken stay QUEUED (the engine marks
   * those still open when its step ends). `agingMillis` is infinite without
   * `priorityAging`.
   */
  fill(
    now: number,
    maxBatchSize: number,
    targetBatchCost: number,
    agingMillis: number,
    result: FillResult
  ): boolean {
    result.left = 0
    result.expired = 0
    if (agingMillis === Number.POSITIVE_INFINITY) {
      // Without aging, the highest level with records goes first until it is
      // empty: each level in turn, its records found and moved in one step.
      const levels = this.levels
      for (let i = 0; i < levels.length; i++) {
        if (this.fillFrom(levels[i], now, maxBatchSize, targetBatchCost, result)) return true
      }
      return false
    }
    let live = this.openLive
    let cost = this.openCost
    let full = true
    while (live < maxBatchSize && cost < targetBatchCost) {
      const level = this.nextLevel(now, agingMillis, result)
      if (level === undefined) {
        full = false
        break
      }
      const entry = level.queue.peek()
      if (live > 0 && cost + entry.cost > targetBatchCost) break
      cost += entry.cost
      if (live++ === 0) this.opened(level, now)
      this.take(level)
      this.queuedCost -= entry.cost
      this.open.push(entry)
      result.left++
    }
    this.openLive = live
    this.openCost = cost
    if (this.queued === 0) this.queuedCost = 0
    return full
  }

  /**
   * `fill` from one level, without aging: its records are found first and
   * then moved in one step, the withdrawn and expired ones among them (which
   * sealing drops); adds them to `result`. Returns whether the batch is full
   * (the caps, or the next record's cost, stopped it before the level
   * emptied).
   */
  private fillFrom(
    level: Level<E>,
    now: number,
    maxBatchSize: number,
    targetBatchCost: number,
    result: FillResult
  ): boolean {
    const queue = level.queue
    const available = queue.size
    let live = this.openLive
    let cost = this.openCost
    let taken = 0
    let takenCost = 0
    let expired = 0
    let full = true
    while (live < maxBatchSize && cost < targetBatchCost) {
      if (taken === available) {
        full = false
        break
      }
      const entry = queue.at(taken)
      const state = entry.state
      if (state === QUEUED) {
        if (live > 0 && cost + entry.cost > targetBatchCost) break
        cost += entry.cost
        if (live === 0) this.opened(level, now, level.taken + taken)
        live++
        takenCost += entry.cost
      } else if (state === WITHDRAWN) {
        takenCost += entry.cost
      } else {
        expired++
      }
      taken++
    }
    if (taken > 0) {
      this.open = queue.moveTo(this.open, taken)
      level.taken += taken
      level.forgetTaken()
      this.queued -= taken
      // The cost sum restarts from 0 when the queues empty, so float drift cannot build up.
      this.queuedCost = this.queued === 0 ? 0 : this.queuedCost - takenCost
      this.openLive = live
      this.openCost = cost
    }
    result.left += taken
    result.expired += expired
    return full
  }

  /**
   * The level whose head goes next, after dropping dead heads: the oldest
   * head that waited `agingMillis`, else the highest level with a record.
   */
  private nextLevel(now: number, agingMillis: number, result: FillResult): Level<E> | undefined {
    let aged: Level<E> | undefined
    let agedSeq = Number.POSITIVE_INFINITY
    let first: Level<E> | undefined
    for (const level of this.levels) {
      const queue = level.queue
      while (queue.size > 0 && queue.peek().state !== QUEUED) {
        const dead = queue.peek()
        if (dead.state === EXPIRED) result.expired++
        else this.queuedCost -= dead.cost
        this.take(level)
        result.left++
      }
      if (queue.size === 0) continue
      first ??= level
      if (agingMillis !== Number.POSITIVE_INFINITY && now - level.arrivedAt(level.taken) >= agingMillis) {
        const seq = level.seqOf(level.taken)
        if (seq < agedSeq) {
          aged = level
          agedSeq = seq
        }
      }
    }
    return aged ?? first
  }

  /** Takes the head of `level`'s queue out of it. */
  private take(level: Level<E>): void {
    level.queue.shift()
    level.taken++
    level.forgetTaken()
    this.queued--
  }

  /** The open batch took its first record, the one at `position` of `level`. */
  private opened(level: Level<E>, now: number, position = level.taken): void {
    this.openStartedAt = now
    this.openAcceptedAt = level.arrivedAt(position)
    this.openSeq = level.seqOf(position)
  }
}

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new Lane<Entry<unknown, unknown, unknown>>(undefined))
keepShape(new Level<Entry<unknown, unknown, unknown>>(0, new Lane(undefined)))
keepShape<Arrival>({ at: 0, start: 0, end: 0, seq: 0, seqs: undefined })
