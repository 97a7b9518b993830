/**
 * The deadlines of records (`timeout`, `maxQueueDelay`) and of producers
 * still waiting for room, earliest first: the aggregation loop's one timer
 * fires at the earliest of these and of the open batches' timeouts. Records
 * that reached `process` or left stay in their heap until they reach its top
 * (lazy deletion); the heap is rebuilt once they are most of it, so it never
 * holds much more than the records still waiting.
 */
import type { Entry } from "./entry.ts"
import { isPending } from "./entry.ts"
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

export class Deadlines<E extends Entry<any, any, any>, W extends Waiting<E>> {
  private readonly records = new Heap<E>()
  private readonly waiters = new Heap<W>()

  /** Notes an accepted record's deadline. */
  track(entry: E): void {
    this.records.push(entry, entry.deadline)
  }

  /** Notes the deadline of a producer that waits for room: that of its first record not yet accepted. */
  trackWaiter(waiter: W): void {
    const deadline = waiter.entries[waiter.offset].deadline
    if (deadline !== Number.POSITIVE_INFINITY) this.waiters.push(waiter, deadline)
  }

  get isEmpty(): boolean {
    return this.records.size === 0 && this.waiters.size === 0
  }

  /**
   * Hands every pending record, then every waiting producer, whose deadline
   * is `now` or earlier to `expire` / `expireWaiter`.
   */
  due(now: number, expire: (entry: E) => void, expireWaiter: (waiter: W) => void): void {
    const records = this.records
    while (records.size > 0 && records.peekRank() <= now) {
      const entry = records.pop()
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
    if (records.size > 1024 && records.size > 2 * pending) records.retain(isPending)
    return records.size > 0
  }

  /** The earliest deadline still to come, or infinity (call after `hasPendingRecords`). */
  next(): number {
    const waiters = this.waiters
    while (waiters.size > 0 && !stillWaiting(waiters.peek())) waiters.pop()
    const record = this.records.size > 0 ? this.records.peekRank() : Number.POSITIVE_INFINITY
    return waiters.size > 0 ? Math.min(record, waiters.peekRank()) : record
  }

  clear(): void {
    this.records.clear()
    this.waiters.clear()
  }
}

keepShape(new Deadlines())
