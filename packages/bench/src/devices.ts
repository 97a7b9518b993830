/**
 * What `process` calls in W2 and W4, in plain callbacks so that Effect and
 * Promise peers drive the very same device.
 */

/**
 * A simulated accelerator: runs one batch at a time, for
 * `fixedMs + perRecordMs × n`; batches offered while it is busy wait in FIFO
 * order (a peer that runs batches concurrently queues them here). The time is
 * kept precisely: `setTimeout` can fire up to ~1 ms early or late, so it
 * sleeps to `spinMs` before the end, then polls with `setImmediate`.
 *
 * It also measures, over a window `[from, to]`: the records of batches that
 * finished inside it and the busy time inside it.
 */
export class Accelerator {
  readonly fixedMs: number
  readonly perRecordMs: number
  private readonly spinMs = 1.5
  private readonly waiting: Array<{ readonly n: number; readonly done: () => void }> = []
  private busy = false
  private from = 0
  private to = Number.POSITIVE_INFINITY
  /** Records of batches that finished inside the window. */
  recordsInWindow = 0
  /** Batches that finished inside the window. */
  batchesInWindow = 0
  /** Busy milliseconds inside the window. */
  busyMsInWindow = 0
  /** Set by `release`: batches started from then on take no time. */
  private released = false

  constructor(fixedMs: number, perRecordMs: number) {
    this.fixedMs = fixedMs
    this.perRecordMs = perRecordMs
  }

  /** The time one batch of `n` records takes. */
  costMs(n: number): number {
    return this.fixedMs + this.perRecordMs * n
  }

  /** Starts measuring over `[from, to]` (performance.now() milliseconds). */
  measure(from: number, to: number): void {
    this.from = from
    this.to = to
    this.recordsInWindow = 0
    this.batchesInWindow = 0
    this.busyMsInWindow = 0
  }

  /**
   * From now on every batch that starts finishes at once (the one running
   * keeps its time): W6 ends a run so, since a setting that fell behind
   * would otherwise take tens of seconds to drain a backlog no phase counts.
   */
  release(): void {
    this.released = true
  }

  /** Runs a batch of `n` records; `done` is called when it has finished. */
  run(n: number, done: () => void): void {
    this.waiting.push({ n, done })
    if (!this.busy) this.next()
  }

  private next(): void {
    const job = this.waiting.shift()
    if (job === undefined) return
    this.busy = true
    const start = performance.now()
    const end = start + (this.released ? 0 : this.costMs(job.n))
    const finish = () => {
      const now = performance.now()
      if (now < end) {
        setImmediate(finish)
        return
      }
      const overlap = Math.min(now, this.to) - Math.max(start, this.from)
      if (overlap > 0) this.busyMsInWindow += overlap
      if (now >= this.from && now <= this.to) {
        this.recordsInWindow += job.n
        this.batchesInWindow++
      }
      this.busy = false
      // A device with queued work starts the next batch at once.
      this.next()
      job.done()
    }
    const sleep = end - start - this.spinMs
    if (sleep > 0) setTimeout(finish, sleep)
    else setImmediate(finish)
  }
}

/** A gate: callbacks wait until it opens (W4 holds every record pending with it). */
export class Gate {
  private waiters: Array<() => void> | undefined = []

  wait(callback: () => void): void {
    if (this.waiters === undefined) callback()
    else this.waiters.push(callback)
  }

  open(): void {
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters !== undefined) { for (const callback of waiters) callback() }
  }
}
