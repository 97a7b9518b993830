/**
 * What happens to the records of a batch once `process` settled, when the
 * batcher has a failure policy: per-record outcomes (`processExits`), retries
 * (`retry`), poison isolation (`onBatchFailure: "bisect"`) and dead letters
 * (`onDeadLetter`). Without one, `executor.ts` delivers every batch as one
 * and none of this runs.
 *
 * A record that runs again is QUEUED again and goes back to the executor in
 * a batch of its own, at the front of the handoff (`Executor.redo`): a
 * bisected half at once, a retry after its schedule's delay, which a fiber
 * of its own waits out (no slot waits for it). While it waits, a withdrawn
 * record is skipped and one whose deadline passes expires, its last failure
 * in the cause. A record that finally fails stays IN_FLIGHT (EXPIRED, if it
 * expired) until `onDeadLetter` returned (one call at a time per batch),
 * then its producer hears of it. The slots stay, even after shutdown sealed everything, until no
 * retry waits and no dead letter is being reported (`Executor.held`).
 */
import type { Context } from "effect"
import { Cause, Duration, Effect, Exit, Schedule } from "effect"
import type { BatchInfo, RetryPolicy } from "../Batcher.ts"
import type { DeadlineExceededError } from "../BatcherError.ts"
import { BatcherConfigError, ResultCountMismatchError } from "../BatcherError.ts"
import type { Entry } from "./entry.ts"
import { EXPIRED, isPending, QUEUED } from "./entry.ts"
import type { Executor, InFlight, Outcome, Sealed } from "./executor.ts"
import { release, succeedAll } from "./executor.ts"
import type { Counters, Telemetry } from "./telemetry.ts"

/** The failure options of a batcher, checked. */
export interface Policy<Rec, Err> {
  /** `processExits`: the results are one `Exit` per record. */
  readonly perRecord: boolean
  readonly retry: RetryPolicy<any> | undefined
  readonly bisect: boolean
  readonly onDeadLetter:
    | ((record: Rec, cause: Cause.Cause<Err>, info: BatchInfo) => Effect.Effect<void>)
    | undefined
}

/** The options `policyOf` reads. */
export interface PolicyOptions<Rec, Err> {
  readonly processExits?: unknown
  readonly retry?: RetryPolicy<any> | undefined
  readonly onBatchFailure?: "fail" | "bisect" | undefined
  readonly onDeadLetter?: Policy<Rec, Err>["onDeadLetter"]
}

/**
 * The failure policy of `options`, undefined when it has none (every batch
 * then settles as one, on the fast path), or the first invalid option.
 */
export const policyOf = <Rec, Err>(
  options: PolicyOptions<Rec, Err>
): Policy<Rec, Err> | undefined | BatcherConfigError => {
  const { onBatchFailure, onDeadLetter, processExits, retry } = options
  if (retry !== undefined) {
    if (typeof retry !== "object" || retry === null || !Schedule.isSchedule(retry.schedule)) {
      return new BatcherConfigError({
        option: "retry",
        expected: "{ schedule: Schedule, while?: function }",
        actual: retry
      })
    }
    if (retry.while !== undefined && typeof retry.while !== "function") {
      return new BatcherConfigError({
        option: "retry.while",
        expected: "a function (error) => boolean",
        actual: retry.while
      })
    }
  }
  if (onBatchFailure !== undefined && onBatchFailure !== "fail" && onBatchFailure !== "bisect") {
    return new BatcherConfigError({ option: "onBatchFailure", expected: `"fail" or "bisect"`, actual: onBatchFailure })
  }
  if (onDeadLetter !== undefined && typeof onDeadLetter !== "function") {
    return new BatcherConfigError({
      option: "onDeadLetter",
      expected: "a function (record, cause, info) => Effect",
      actual: onDeadLetter
    })
  }
  const perRecord = processExits !== undefined
  const bisect = onBatchFailure === "bisect"
  if (!perRecord && retry === undefined && !bisect && onDeadLetter === undefined) return undefined
  return { perRecord, retry, bisect, onDeadLetter }
}

/** The retry schedule of records that run again, kept across their runs. */
type Lineage = (now: number, input: unknown) => Effect.Effect<[unknown, Duration.Duration], unknown, unknown>

/** A record that finally failed, waiting for its dead letter before its producer hears. */
interface DeadLetter<Rec, Res, Err> {
  readonly entry: Entry<Rec, Res, Err>
  readonly record: Rec
  readonly exit: Exit.Failure<never, Err>
  readonly info: BatchInfo
}

/** The dead letters of one batch (or of the records that expired meanwhile), reported one at a time. */
interface Report<Rec, Res, Err> {
  readonly letters: Array<DeadLetter<Rec, Res, Err>>
  /** How many were reported and delivered. */
  next: number
  interrupt: () => void
}

/** A batch waiting for its retry's delay. */
interface Waiting<Rec, Res, Err> {
  readonly sealed: Sealed<Entry<Rec, Res, Err>>
  interrupt: () => void
}

/**
 * The failure policy of one batcher, which the executor hands every settled
 * batch to (`deliver`) and the engine every expired record (`expired`), and
 * which gives back the work it holds when shutdown gives up (`abandon`).
 *
 * **Example**
 *
 * ```ts
 * const policy = policyOf({ onBatchFailure: "bisect" })
 * if (policy !== undefined && !(policy instanceof BatcherConfigError)) {
 *   executor.recovery = new Recovery(policy, executor, counters, telemetry, clock, context)
 * }
 * ```
 */
export class Recovery<Rec, Res, Err> {
  private readonly waiting = new Set<Waiting<Rec, Res, Err>>()
  private readonly reports = new Set<Report<Rec, Res, Err>>()
  /** The report that records expiring one by one join while it runs. */
  private expiries: Report<Rec, Res, Err> | undefined = undefined
  private readonly fork: <A, E>(effect: Effect.Effect<A, E>) => { readonly interruptUnsafe: () => void }
  private readonly policy: Policy<Rec, Err>
  private readonly executor: Executor<Rec, Res, Err>
  private readonly counters: Counters
  private readonly telemetry: Telemetry
  private readonly now: () => number
  private readonly watchDeadline: (entry: Entry<Rec, Res, Err>) => void
  private readonly runSync: <A, E>(effect: Effect.Effect<A, E>) => Exit.Exit<A, E>
  /** Whether the retry schedule was already found unable to step synchronously (warned once per batcher). */
  private warnedAsyncSchedule = false

  constructor(
    policy: Policy<Rec, Err>,
    executor: Executor<Rec, Res, Err>,
    counters: Counters,
    telemetry: Telemetry,
    clock: {
      readonly now: () => number
      /** Watches the deadline of a record back in the handoff, so it expires on time while it waits for a slot. */
      readonly watchDeadline: (entry: Entry<Rec, Res, Err>) => void
    },
    context: Context.Context<never>
  ) {
    this.now = clock.now
    this.watchDeadline = clock.watchDeadline
    this.policy = policy
    this.executor = executor
    this.counters = counters
    this.telemetry = telemetry
    this.fork = Effect.runForkWith(context)
    this.runSync = Effect.runSyncExitWith(context)
  }

  /**
   * Settles each record of a batch `process` ran: delivers successes and
   * final failures (through `onDeadLetter`), and sends the records that run
   * again back to the executor.
   */
  deliver(batch: InFlight<Rec, Res, Err>, outcome: Outcome<Res, Err>): void {
    const { entries, info } = batch
    const letters: Array<DeadLetter<Rec, Res, Err>> = []
    const redo: Array<Sealed<Entry<Rec, Res, Err>>> = []
    let succeeded = 0
    const failedBefore = this.counters.failed
    if (!Array.isArray(outcome)) {
      const exit = outcome as Exit.Failure<never, Err>
      if (!this.again(batch, entries, exit.cause, redo) && !this.bisect(batch, exit.cause, redo)) {
        for (let i = 0; i < entries.length; i++) this.fail(entries[i], exit, info, letters)
      }
    } else if (!this.policy.perRecord) {
      succeedAll(entries, outcome)
      succeeded = entries.length
    } else {
      let retryable: Array<Entry<Rec, Res, Err>> | undefined
      let awaited: Array<readonly [Entry<Rec, Res, Err>, Res]> | undefined
      let firstCause: Cause.Cause<Err> | undefined
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]
        const exit = outcome[i] as unknown
        if (!Exit.isExit(exit)) {
          this.fail(
            entry,
            Exit.die(new TypeError(`processExits must return an Exit per record, got ${typeof exit}`)) as Exit.Failure<
              never,
              Err
            >,
            info,
            letters
          )
        } else if (Exit.isSuccess(exit)) {
          succeeded++
          release(entry)
          // As in `succeedAll`: an awaited entry hears once the others have their outcomes.
          if (!entry.succeedUnlessAwaited(exit.value as Res)) (awaited ??= []).push([entry, exit.value as Res])
        } else if (this.retryable(exit.cause)) {
          entry.failure = exit.cause
          ;(retryable ??= []).push(entry)
          firstCause ??= exit.cause as Cause.Cause<Err>
        } else {
          this.fail(entry, exit as Exit.Failure<never, Err>, info, letters)
        }
      }
      if (retryable !== undefined && !this.again(batch, retryable, firstCause!, redo, true)) {
        for (const entry of retryable) {
          this.fail(entry, Exit.failCause(entry.failure as Cause.Cause<Err>) as Exit.Failure<never, Err>, info, letters)
        }
      }
      if (awaited !== undefined) { for (const [entry, value] of awaited) entry.succeed(value) }
    }
    this.counters.completed += succeeded
    this.telemetry.batchFinished(0, batch.settledMillis, false, batch.settledAt, batch.acceptedAt, this.counters)
    this.telemetry.recordsSettled(succeeded, false)
    this.telemetry.recordsSettled(this.counters.failed - failedBefore, true)
    if (letters.length > 0) this.report(letters)
    if (redo.length > 0) this.redo(redo)
  }

  /** Batches that run again go to the front of the handoff, their records' deadlines watched there. */
  private redo(batches: ReadonlyArray<Sealed<Entry<Rec, Res, Err>>>): void {
    for (const sealed of batches) {
      for (const entry of sealed.entries) this.watchDeadline(entry)
    }
    this.executor.redo(batches)
  }

  /**
   * A record found past its deadline (queued, or waiting for a retry) fails
   * with `error`, and its last failure, if it had one; the engine has
   * counted it and given back its room.
   */
  expired(entry: Entry<Rec, Res, Err>, error: DeadlineExceededError): void {
    const record = entry.record as Rec
    const cause = entry.failure === undefined
      ? Cause.fail(error)
      : Cause.combine(Cause.fail(error), entry.failure)
    release(entry, EXPIRED)
    const exit = Exit.failCause(cause) as Exit.Failure<never, Err>
    if (this.policy.onDeadLetter === undefined) return entry.deliver(exit)
    const letter = { entry, record, exit, info: { key: entry.key, size: 1, cost: entry.cost, attempt: 0, split: 0 } }
    if (this.expiries !== undefined) return void this.expiries.letters.push(letter)
    const report = this.report([letter])
    // A report whose calls all returned at once is over already.
    if (this.reports.has(report)) this.expiries = report
  }

  /**
   * Fails every record still waiting for a retry (`settle`, as the engine
   * gives up on it), and delivers every dead letter not yet reported.
   */
  abandon(settle: (entry: Entry<Rec, Res, Err>) => void): void {
    for (const waiting of this.waiting) {
      waiting.interrupt()
      waiting.sealed.entries.forEach(settle)
    }
    this.waiting.clear()
    for (const report of this.reports) {
      report.interrupt()
      for (let i = report.next; i < report.letters.length; i++) {
        deliverLetter(report.letters[i])
      }
      report.next = report.letters.length
    }
    this.reports.clear()
    this.expiries = undefined
  }

  // ---------------------------------------------------------------------------
  // internals
  // ---------------------------------------------------------------------------

  /** A record finally fails with `exit`: through its dead letter, when there is `onDeadLetter`. */
  private fail(
    entry: Entry<Rec, Res, Err>,
    exit: Exit.Failure<never, Err>,
    info: BatchInfo,
    letters: Array<DeadLetter<Rec, Res, Err>>
  ): void {
    this.counters.completed++
    this.counters.failed++
    if (this.policy.onDeadLetter === undefined) {
      release(entry)
      return entry.deliver(exit)
    }
    // Still IN_FLIGHT until its letter is reported: DONE would read as a success to a `Deferred`.
    letters.push({ entry, record: entry.record as Rec, exit, info })
  }

  /**
   * Whether `cause` is worth a retry: a failure `E` (not ours, nor a defect
   * or an interruption) that `retry.while` accepts. A `while` that throws
   * counts as "no", and is logged.
   */
  private retryable(cause: Cause.Cause<unknown>): boolean {
    const retry = this.policy.retry
    if (retry === undefined || Cause.hasDies(cause) || Cause.hasInterrupts(cause)) return false
    const error = Cause.findErrorOption(cause)
    if (error._tag === "None" || error.value instanceof ResultCountMismatchError) return false
    if (retry.while === undefined) return true
    try {
      return retry.while(error.value) === true
    } catch (thrown) {
      this.fork(Effect.logWarning("retry.while threw; the failure is not retried", Cause.die(thrown)))
      return false
    }
  }

  /**
   * Sends `entries` of `batch`, which failed with `cause`, to run again after
   * their schedule's delay, if they may; returns whether they will.
   * `checked`: the caller already knows the cause is retryable.
   */
  private again(
    batch: InFlight<Rec, Res, Err>,
    entries: Array<Entry<Rec, Res, Err>>,
    cause: Cause.Cause<Err>,
    redo: Array<Sealed<Entry<Rec, Res, Err>>>,
    checked = false
  ): boolean {
    const retry = this.policy.retry
    if (retry === undefined || (!checked && !this.retryable(cause))) return false
    let lineage = batch.lineage as Lineage | undefined
    if (lineage === undefined) {
      const made = this.stepSync(Schedule.toStep(retry.schedule) as Effect.Effect<Lineage>)
      if (Exit.isFailure(made)) return false
      lineage = made.value
    }
    const error = Cause.findErrorOption(cause)
    const stepped = this.stepSync(
      lineage(this.now(), error._tag === "Some" ? error.value : undefined) as Effect.Effect<
        [unknown, Duration.Duration],
        unknown
      >
    )
    // The schedule is done (or failed, or cannot step synchronously): no more retries.
    if (Exit.isFailure(stepped)) return false
    const delay = Duration.toMillis(stepped.value[1])
    const sealed = this.requeue(entries, batch, batch.info.attempt + 1, batch.info.split, lineage, cause)
    this.counters.retries++
    if (!(delay > 0)) {
      redo.push(sealed)
      return true
    }
    this.wait(sealed, this.now() + delay)
    return true
  }

  /**
   * Runs a step of the retry schedule synchronously: a batch settles in one
   * go, so its retry is decided then. A step that would wait for async work
   * comes back as a defect (`AsyncFiberError`) rather than as the schedule
   * being done; its fiber is stopped, the failure goes unretried, and the
   * first such step of the batcher logs a warning, since the schedule would
   * otherwise silently never retry.
   */
  private stepSync<A>(step: Effect.Effect<A, unknown>): Exit.Exit<A, unknown> {
    const exit = this.runSync(step)
    if (Exit.isSuccess(exit)) return exit
    const stuck = asyncFiberErrorOf(exit.cause)
    if (stuck === undefined) return exit
    stuck.fiber.interruptUnsafe()
    if (!this.warnedAsyncSchedule) {
      this.warnedAsyncSchedule = true
      this.fork(Effect.logWarning(
        `Batcher "${this.telemetry.name}": the retry schedule could not step synchronously (its step waits ` +
          `for async work, such as a Schedule.modifyDelay or Schedule.tap that sleeps or awaits a Promise), ` +
          `so failures are not retried; give retry a schedule whose steps are synchronous`
      ))
    }
    return exit
  }

  /**
   * Splits a batch that finally failed as a whole in two halves that run
   * again at once, when bisecting applies; returns whether it did.
   */
  private bisect(
    batch: InFlight<Rec, Res, Err>,
    cause: Cause.Cause<Err>,
    redo: Array<Sealed<Entry<Rec, Res, Err>>>
  ): boolean {
    const entries = batch.entries
    if (
      !this.policy.bisect || entries.length < 2 ||
      (Cause.hasInterrupts(cause) && !Cause.hasFails(cause) && !Cause.hasDies(cause))
    ) {
      return false
    }
    const middle = Math.ceil(entries.length / 2)
    const split = batch.info.split + 1
    redo.push(this.requeue(entries.slice(0, middle), batch, 1, split, undefined, cause))
    redo.push(this.requeue(entries.slice(middle), batch, 1, split, undefined, cause))
    this.counters.splits++
    return true
  }

  /** Puts records of `batch` back in the queued state, as a batch of their own. */
  private requeue(
    entries: Array<Entry<Rec, Res, Err>>,
    batch: InFlight<Rec, Res, Err>,
    attempt: number,
    split: number,
    lineage: Lineage | undefined,
    cause: Cause.Cause<Err>
  ): Sealed<Entry<Rec, Res, Err>> {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]
      entry.state = QUEUED
      entry.failure = cause
    }
    this.counters.pending += entries.length
    return { entries, acceptedAt: batch.acceptedAt, key: batch.info.key, attempt, split, lineage, prepared: undefined }
  }

  /**
   * Waits, in a fiber of its own, until `readyAt` (engine time), expiring
   * the records whose deadline passes meanwhile, then sends what is left to
   * run again.
   */
  private wait(sealed: Sealed<Entry<Rec, Res, Err>>, readyAt: number): void {
    const waiting: Waiting<Rec, Res, Err> = { sealed, interrupt: noop }
    this.waiting.add(waiting)
    this.executor.held++
    const entries = sealed.entries
    const step = Effect.suspend(() => {
      const now = this.now()
      let next = readyAt
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]
        if (!isPending(entry)) continue
        if (entry.deadline <= now) this.executor.expired(entry, now)
        else if (entry.deadline < next) next = entry.deadline
      }
      return now >= readyAt ? Effect.succeed(true) : Effect.as(Effect.sleep(next - now), false)
    })
    const loop: Effect.Effect<void> = Effect.flatMap(
      step,
      (ready) => ready ? Effect.sync(() => this.ready(waiting)) : loop
    )
    const fiber = this.fork(loop)
    if (this.waiting.has(waiting)) waiting.interrupt = () => fiber.interruptUnsafe()
  }

  /** A retry's delay is over: its records still pending run again, ahead of newer batches. */
  private ready(waiting: Waiting<Rec, Res, Err>): void {
    if (!this.waiting.delete(waiting)) return
    const sealed = waiting.sealed
    const live = sealed.entries.filter(isPending)
    if (live.length > 0) {
      this.redo([live.length === sealed.entries.length ? sealed : { ...sealed, entries: live }])
    }
    this.executor.release()
  }

  /** Reports `letters` one at a time, in a fiber of its own; each producer hears right after its call. */
  private report(letters: Array<DeadLetter<Rec, Res, Err>>): Report<Rec, Res, Err> {
    const onDeadLetter = this.policy.onDeadLetter!
    const report: Report<Rec, Res, Err> = { letters, next: 0, interrupt: noop }
    this.reports.add(report)
    this.executor.held++
    const call = (letter: DeadLetter<Rec, Res, Err>) =>
      Effect.catchCause(
        Effect.suspend(() => onDeadLetter(letter.record, letter.exit.cause, letter.info)),
        (cause) => Effect.logWarning("onDeadLetter failed; the record's own failure is delivered unchanged", cause)
      )
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      if (report.next === report.letters.length) {
        this.reports.delete(report)
        if (this.expiries === report) this.expiries = undefined
        this.executor.release()
        return Effect.void
      }
      const letter = report.letters[report.next]
      return Effect.flatMap(call(letter), () => {
        // Abandoned meanwhile: the letter was delivered then.
        if (!this.reports.has(report)) return Effect.void
        report.next++
        deliverLetter(letter)
        return loop
      })
    })
    const fiber = this.fork(loop)
    if (this.reports.has(report)) report.interrupt = () => fiber.interruptUnsafe()
    return report
  }
}

const noop = (): void => {}

/** The `AsyncFiberError` defect of `cause`: what `runSyncExit` returns for an effect that went async. */
const asyncFiberErrorOf = (cause: Cause.Cause<unknown>): Cause.AsyncFiberError | undefined => {
  for (const reason of cause.reasons) {
    if (Cause.isDieReason(reason) && Cause.isAsyncFiberError(reason.defect)) return reason.defect
  }
  return undefined
}

/** Hands a dead-lettered record its failure (an expired one is already EXPIRED). */
const deliverLetter = (letter: DeadLetter<any, any, any>): void => {
  if (letter.entry.state !== EXPIRED) release(letter.entry)
  letter.entry.deliver(letter.exit)
}
