/**
 * The set of lanes and the fair choice between them. A batcher without
 * `groupBy` has one lane; with it, one lane per key that holds records, made
 * on its first record and dropped once it holds none, so keys seen once leave
 * no state behind. The set knows which lanes have records to fill (dirty),
 * which have an open batch and when each one's timeout passes (open batches
 * time out in the order they opened, so a FIFO keeps them), and which are
 * ready; ready batches go to a slot oldest first, by their oldest record, so
 * a busy key never starves a quiet one.
 */
import type { Entry } from "./entry.ts"
import { Fifo } from "./fifo.ts"
import { Heap } from "./heap.ts"
import type { LaneKey } from "./lane.ts"
import { Lane } from "./lane.ts"
import { keepShape } from "./shapes.ts"

/** A lane's open batch as it was when it opened: its timeout, unless it was sealed since. */
interface OpenMark<E extends Entry<any, any, any>> {
  readonly lane: Lane<E>
  readonly generation: number
  readonly startedAt: number
}

export class Lanes<E extends Entry<any, any, any>> {
  /** The one lane without `groupBy`. */
  readonly single = new Lane<E>(undefined)
  readonly keyed: boolean
  private readonly byKey = new Map<LaneKey, Lane<E>>()
  /** Lanes with records not yet filled into their open batch. */
  private dirty: Array<Lane<E>> = []
  /** With `groupBy`: the lanes filled during the current step, whose open batches park when it ends. */
  private readonly touched: Array<Lane<E>> = []
  /** Lanes whose open batch is due (full, timed out, or shutdown), oldest record first. */
  private readonly ready = new Heap<Lane<E>>()
  /** Lanes with an open batch, for shutdown and for idle slots. */
  private readonly open = new Set<Lane<E>>()
  /** Open batches in the order they opened, which is their timeouts' order. */
  private readonly timeouts = new Fifo<OpenMark<E>>()
  /**
   * Live records in the open batches. With `groupBy`, all but one batch's
   * worth of them count against `maxQueueSize`: otherwise every key could
   * hold an open batch beyond it. A batcher without keys has one open batch,
   * which never counts.
   */
  openRecords = 0

  constructor(keyed: boolean) {
    this.keyed = keyed
  }

  /** The lane of `key`, made when it has none. */
  laneOf(key: LaneKey): Lane<E> {
    if (!this.keyed) return this.single
    let lane = this.byKey.get(key)
    if (lane === undefined) {
      lane = new Lane(key)
      this.byKey.set(key, lane)
    }
    return lane
  }

  /** Records still queued, in every lane, at a priority below `priority` (withdrawn ones until they leave). */
  queuedBelow(priority: number): number {
    let below = 0
    for (const lane of this.all()) {
      for (const level of lane.levels) if (level.priority < priority) below += level.accepted - level.taken
    }
    return below
  }

  /** Every lane that holds something. */
  all(): Iterable<Lane<E>> {
    return this.keyed ? [...this.byKey.values()] : [this.single]
  }

  /** How many lanes have an open batch. */
  get openCount(): number {
    return this.open.size
  }

  /** The lane has records to fill, or room freed in its open batch: the next step fills it. */
  markDirty(lane: Lane<E>): void {
    if (lane.dirty) return
    lane.dirty = true
    this.dirty.push(lane)
  }

  get hasDirty(): boolean {
    return this.dirty.length > 0
  }

  /** The dirty lanes, no longer dirty; with `groupBy` they are remembered to `park` at the end of the step. */
  takeDirty(): Array<Lane<E>> {
    const lanes = this.dirty
    this.dirty = []
    for (let i = 0; i < lanes.length; i++) lanes[i].dirty = false
    if (this.keyed) { for (const lane of lanes) this.touched.push(lane) }
    return lanes
  }

  /** The lanes whose open batch may have changed this step: every lane without `groupBy`. */
  takeTouched(): ReadonlyArray<Lane<E>> {
    if (!this.keyed) return [this.single]
    const touched = this.touched.splice(0)
    return touched
  }

  /** The lane's open batch took its first record: its timeout starts. */
  opened(lane: Lane<E>): void {
    this.open.add(lane)
    this.timeouts.push({ lane, generation: lane.generation, startedAt: lane.openStartedAt })
  }

  /** The lane's open batch is gone (sealed, or every record left it); a keyed lane that holds nothing is dropped. */
  closeOpen(lane: Lane<E>): void {
    lane.resetOpen()
    this.open.delete(lane)
    this.dropIfEmpty(lane)
  }

  /** Drops a keyed lane that holds nothing; a lane that keeps only records in its queues forgets its other levels. */
  dropIfEmpty(lane: Lane<E>): void {
    if (this.keyed && lane.isEmpty) this.byKey.delete(lane.key)
    else if (lane.queued === 0) lane.compactLevels()
  }

  makeReady(lane: Lane<E>): void {
    if (lane.ready) return
    lane.ready = true
    this.ready.push(lane, lane.openSeq)
  }

  /** The lane's open batch took `count` more records. */
  openGrew(count: number): void {
    this.openRecords += count
  }

  /** `count` records left the open batches (withdrawn, expired, or sealed). */
  leftOpen(count: number): void {
    this.openRecords -= count
  }

  /** What is left of a sealed lane's open batch (lowered caps) is ready again. */
  readyAgain(lane: Lane<E>): void {
    this.ready.push(lane, lane.openSeq)
  }

  /** Shutdown: every open batch is due. */
  allReady(): void {
    for (const lane of this.open) this.makeReady(lane)
  }

  /** The ready lane with the oldest record, if any (stale heap items are dropped). */
  nextReady(): Lane<E> | undefined {
    const ready = this.ready
    while (ready.size > 0) {
      const lane = ready.peek()
      if (lane.ready && lane.openLive > 0 && ready.peekRank() === lane.openSeq) return lane
      ready.pop()
    }
    return undefined
  }

  /** The oldest open batch with at least `min` records (for an idle slot under "idle" dispatch). */
  oldestWith(min: number): Lane<E> | undefined {
    if (!this.keyed) return this.single.openLive >= min ? this.single : undefined
    let oldest: Lane<E> | undefined
    for (const lane of this.open) {
      if (lane.openLive >= min && (oldest === undefined || lane.openSeq < oldest.openSeq)) oldest = lane
    }
    return oldest
  }

  /** Open batches whose timeout (`timeoutMs` from their first record) passed by `now` become ready. */
  timedOut(now: number, timeoutMs: number): void {
    const timeouts = this.timeouts
    while (timeouts.size > 0) {
      const mark = timeouts.peek()
      if (mark.lane.generation === mark.generation && mark.lane.openLive > 0) {
        if (mark.startedAt + timeoutMs > now) return
        this.makeReady(mark.lane)
      }
      timeouts.shift()
    }
  }

  /** When the next open batch that is not yet ready times out; infinite when none will. */
  nextTimeout(timeoutMs: number): number {
    const timeouts = this.timeouts
    while (timeouts.size > 0) {
      const mark = timeouts.peek()
      if (mark.lane.generation === mark.generation && mark.lane.openLive > 0 && !mark.lane.ready) {
        return mark.startedAt + timeoutMs
      }
      timeouts.shift()
    }
    return Number.POSITIVE_INFINITY
  }

  /** Forgets every lane (after shutdown gave up on their records). */
  clear(): void {
    for (const lane of this.all()) lane.resetOpen()
    this.byKey.clear()
    this.open.clear()
    this.dirty = []
    this.touched.length = 0
    this.ready.clear()
    this.timeouts.drain()
    this.openRecords = 0
  }
}

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new Lanes<Entry<unknown, unknown, unknown>>(false))
keepShape<OpenMark<Entry<unknown, unknown, unknown>>>({ lane: new Lane(undefined), generation: 0, startedAt: 0 })
