/**
 * The deadlines of records (`timeout`, `maxQueueDelay`) and of producers
 * still waiting for room, earliest first: the aggregation loop's one timer
 * fires at the earliest of these and of the open batches' timeouts.
 *
 * Records accepted with the same timeout expire in the order they were
 * accepted (the clock only moves forward), so each of the first few
 * timeouts seen keeps its records in a FIFO (`Run`): O(1) per record, where
 * a heap costs a sift-down per record leaving it. Records whose deadline
 * would break a run's order (a retry, the clock set back) and timeouts
 * beyond those few go to a heap. Records that reached `process` or left stay
 * where they are until they reach the front (lazy deletion); everything is
 * compacted once they are most of it, so it never holds much more than the
 * records still waiting.
 */
import type { Entry } from "./entry.ts"
import { isPending } from "./entry.ts"
import { Fifo } from "./fifo.ts"
import { Heap } from "./heap.ts"
import { keepShape } from "./shapes.ts"

/** A producer waiting for room, as far as its deadline goes. */
export interface Waiting<E extends Entry<any, any, any>> {
  readonly entries: ReadonlyArray<E>
  offset: number
  cancelled: boolean
}

/** Whether the producer still waits for room for some of its records. */
const stillWaiting = (waiter: Waiting<any>): boolean => !waiter.cancelled && waiter.offset < waiter.entries.length

/** Records accepted with one timeout, in the order of their deadlines. */
class Run<E extends Entry<any, any, any>> {
  readonly timeoutMillis: number
  readonly records = new Fifo<E>()
  /** The deadline of the newest record: the next one keeps the order if its deadline is not earlier. */
  latest = Number.NEGATIVE_INFINITY
  constructor(timeoutMillis: number) {
    this.timeoutMillis = timeoutMillis
  }

  /** Drops the records on top that no longer wait; returns the earliest deadline left, or infinity. */
  next(): number {
    const records = this.records
    while (records.size > 0 && !isPending(records.peek())) records.shift()
    return records.size > 0 ? records.peek().deadline : Number.POSITIVE_INFINITY
  }

  /** Keeps only the records still waiting, in order. */
  compact(): void {
    const records = this.records
    const kept = records.drain().filter(isPending)
    records.pushAll(kept, 0, kept.length)
  }
}

/** How many timeouts get a run of their own; a call's `timeout` and `maxQueueDelay` are the usual few. */
const maxRuns = 4

export class Deadlines<E extends Entry<any, any, any>, W extends Waiting<E>> {
  private readonly runs: Array<Run<E>> = []
  /** Records that fit no run, earliest first. */
  private readonly records = new Heap<E>()
  private readonly waiters = new Heap<W>()

  /** Notes an accepted record's deadline. */
  track(entry: E): void {
    const deadline = entry.deadline
    const run = this.runOf(entry.timeoutMillis)
    if (run !== undefined && deadline >= run.latest) {
      run.latest = deadline
      run.records.push(entry)
    } else {
      this.records.push(entry, deadline)
    }
  }

  /** The run of `timeoutMillis`, made (or an empty one reused) while there are fewer than `maxRuns`. */
  private runOf(timeoutMillis: number): Run<E> | undefined {
    const runs = this.runs
    for (let i = 0; i < runs.length; i++) {
      if (runs[i].timeoutMillis === timeoutMillis) return runs[i]
    }
    if (runs.length < maxRuns) {
      const run = new Run<E>(timeoutMillis)
      runs.push(run)
      return run
    }
    for (let i = 0; i < runs.length; i++) {
      if (runs[i].records.size === 0) return runs[i] = new Run<E>(timeoutMillis)
    }
    return undefined
  }

  /** Notes the deadline of a producer that waits for room: that of its first record not yet accepted. */
  trackWaiter(waiter: W): void {
    const deadline = waiter.entries[waiter.offset].deadline
    if (deadline !== Number.POSITIVE_INFINITY) this.waiters.push(waiter, deadline)
  }

  get isEmpty(): boolean {
    if (this.records.size > 0 || this.waiters.size > 0) return false
    const runs = this.runs
    for (let i = 0; i < runs.length; i++) {
      if (runs[i].records.size > 0) return false
    }
    return true
  }

  /**
   * Hands every pending record, then every waiting producer, whose deadline
   * is `now` or earlier to `expire` / `expireWaiter`; records earliest
   * deadline first.
   */
  due(now: number, expire: (entry: E) => void, expireWaiter: (waiter: W) => void): void {
    const records = this.records
    const runs = this.runs
    for (;;) {
      let earliest = records.size > 0 ? records.peekRank() : Number.POSITIVE_INFINITY
      let from: Run<E> | undefined
      for (let i = 0; i < runs.length; i++) {
        const queue = runs[i].records
        if (queue.size > 0 && queue.peek().deadline < earliest) {
          earliest = queue.peek().deadline
          from = runs[i]
        }
      }
      if (earliest > now) break
      const entry = from === undefined ? records.pop() : from.records.shift()
      if (isPending(entry)) expire(entry)
    }
    const waiters = this.waiters
    while (waiters.size > 0 && waiters.peekRank() <= now) {
      const waiter = waiters.pop()
      if (stillWaiting(waiter)) expireWaiter(waiter)
    }
  }

  /** Whether a record with a deadline still waits to reach `process` (after dropping the moot ones on top). */
  hasPendingRecords(pending: number): boolean {
    const records = this.records
    while (records.size > 0 && !isPending(records.peek())) records.pop()
    let size = records.size
    let waiting = false
    const runs = this.runs
    for (let i = 0; i < runs.length; i++) {
      if (runs[i].next() !== Number.POSITIVE_INFINITY) waiting = true
      size += runs[i].records.size
    }
    if (size > 1024 && size > 2 * pending) {
      records.retain(isPending)
      for (let i = 0; i < runs.length; i++) runs[i].compact()
    }
    return waiting || records.size > 0
  }

  /** The earliest deadline still to come, or infinity (call after `hasPendingRecords`). */
  next(): number {
    const waiters = this.waiters
    while (waiters.size > 0 && !stillWaiting(waiters.peek())) waiters.pop()
    let earliest = this.records.size > 0 ? this.records.peekRank() : Number.POSITIVE_INFINITY
    const runs = this.runs
    for (let i = 0; i < runs.length; i++) {
      const records = runs[i].records
      if (records.size > 0) earliest = Math.min(earliest, records.peek().deadline)
    }
    return waiters.size > 0 ? Math.min(earliest, waiters.peekRank()) : earliest
  }

  clear(): void {
    this.runs.length = 0
    this.records.clear()
    this.waiters.clear()
  }
}

keepShape(new Deadlines())
keepShape(new Run(0))
