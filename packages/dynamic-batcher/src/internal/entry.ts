/**
 * A record's life inside the batcher. Every accepted record is in exactly one
 * of these states, and each transition happens synchronously inside one fiber
 * step, so a producer's interruption and the loops never disagree about it.
 */
import type { Cause, Tracer } from "effect"
import { Deferred, Effect, Exit } from "effect"
import { constVoid } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import { keepShape } from "./shapes.ts"

/** Created, not yet accepted: its producer waits for room in the queue. */
export const NEW = 0
/**
 * Accepted and waiting: in the queue, or in a sealed batch between the loops.
 * Withdrawing it only takes it out of the counts. Records the aggregation
 * step moves into the open batch also stay QUEUED until the step ends: only
 * those still in the open batch then (it waits for more) become OPEN, so a
 * batch that fills and is sealed in one step costs no write per record.
 */
export const QUEUED = 1
/** In the open batch while the aggregation loop waits: withdrawing it makes room in the batch. */
export const OPEN = 2
/** Handed to `process`: it can no longer be withdrawn. */
export const IN_FLIGHT = 3
/** Its producer gave up before it reached `process`. */
export const WITHDRAWN = 4
/** Its result (success, failure, defect or interruption) was delivered. */
export const DONE = 5
/**
 * Its deadline passed before it reached `process`: it got its
 * `DeadlineExceededError` and gave back its room in the queue, though it may
 * still sit in a queue or batch until the aggregation loop passes it.
 */
export const EXPIRED = 6

export type EntryState =
  | typeof NEW
  | typeof QUEUED
  | typeof OPEN
  | typeof IN_FLIGHT
  | typeof WITHDRAWN
  | typeof DONE
  | typeof EXPIRED

/**
 * A record with its cost, and where its result goes. Subclasses differ only in
 * how a result is delivered: to a waiting fiber, a `Deferred`, a group of
 * records, or a Promise.
 */
export abstract class Entry<Rec, Res, Err> {
  // Entries are made once per record: their fields are `declare`d and
  // assigned in the constructors, which costs half as much as class fields
  // (those are defined one by one, after each `super` call).
  declare state: EntryState
  /**
   * The producer's span, linked from the span of the batch that runs this
   * record. An own field only of entries whose producer has a span: the
   * others read `undefined` from the prototype, 8 bytes less per record.
   */
  declare span: Tracer.AnySpan | undefined
  /** The record; let go of (undefined) once its result is delivered: the entry may outlive it. */
  declare record: Rec | undefined
  declare readonly cost: number
  // The fields below are own fields only of records that use them (a
  // priority, a deadline, a key); the others read the prototype's default.
  /** Higher is taken first into a batch. */
  declare priority: number
  /** When it expires, in engine time (infinite: never). */
  declare deadline: number
  /** Its deadline from its submit call, in milliseconds, for its error. */
  declare timeoutMillis: number
  /** Its batch key (`groupBy`), until it is accepted into its lane. */
  declare key: string | number | undefined
  /**
   * The queue it was accepted into and its position there (records of that
   * queue accepted before it): set for keyed records and records with a
   * deadline, which must find their queue when they expire or are withdrawn.
   */
  declare level: unknown
  declare position: number
  /** Its last failure while it waits to run again (`retry`): part of the cause if its deadline passes meanwhile. */
  declare failure: Cause.Cause<unknown> | undefined
  constructor(record: Rec, cost: number) {
    // Made accepted, so accepting needs no pass over the records: the engine
    // marks NEW those that must wait for room.
    this.state = QUEUED
    this.record = record
    this.cost = cost
  }
  /** Hands over the result; called exactly once, by the engine. */
  abstract deliver(exit: Exit.Exit<Res, Err>): void
  /** Hands over a success; entries that need no `Exit` for it override this. */
  succeed(value: Res): void {
    this.deliver(Exit.succeed(value))
  }
  /**
   * Hands over a success unless that would resume a fiber waiting on this
   * very entry; returns false then, and the engine calls `succeed` once the
   * whole batch has its results (see `Executor.deliver`).
   */
  succeedUnlessAwaited(value: Res): boolean {
    this.succeed(value)
    return true
  }
}

for (
  const [field, value] of [
    ["span", undefined],
    ["priority", 0],
    ["deadline", Number.POSITIVE_INFINITY],
    ["timeoutMillis", 0],
    ["key", undefined],
    ["level", undefined],
    ["position", 0],
    ["failure", undefined]
  ] as const
) Object.defineProperty(Entry.prototype, field, { value, writable: true })

/**
 * The entries a producer made in one call, with their total cost (summed as
 * they were made, so that accepting them needs no pass over them).
 */
export class EntryGroup<E extends Entry<any, any, any>> {
  readonly entries: Array<E>
  readonly cost: number
  constructor(entries: Array<E>, cost: number) {
    this.entries = entries
    this.cost = cost
  }
}

/** Whether the record was accepted and has not yet reached `process`. */
export const isPending = (entry: Entry<any, any, any>): boolean => entry.state === QUEUED || entry.state === OPEN

/** The record of a `submit`: its result resumes the waiting fiber. */
export class ResumeEntry<Rec, Res, Err> extends Entry<Rec, Res, Err> {
  declare private readonly resume: (effect: Effect.Effect<Res, Err>) => void
  constructor(record: Rec, cost: number, resume: (effect: Effect.Effect<Res, Err>) => void) {
    super(record, cost)
    this.resume = resume
  }
  deliver(exit: Exit.Exit<Res, Err>): void {
    this.resume(exit)
  }
}

/**
 * The record of a `submit` with a priority, a deadline or a key: the fields
 * of that path are own fields from the start, so all such entries share one
 * hidden class with room for them. Added one by one after construction, the
 * five of them grew a separate property store twice per record.
 */
export class GeneralResumeEntry<Rec, Res, Err> extends ResumeEntry<Rec, Res, Err> {
  constructor(record: Rec, cost: number, resume: (effect: Effect.Effect<Res, Err>) => void) {
    super(record, cost, resume)
    this.priority = 0
    this.deadline = Number.POSITIVE_INFINITY
    this.timeoutMillis = 0
    this.key = undefined
    this.level = undefined
    this.position = 0
  }
}

/**
 * The record of an `offer` / `offerAll`, which is also the `Deferred` its
 * producer awaits: one object per record instead of two. Effect's `Deferred`
 * is a public shape (its `effect` and `resumes` fields are in the interface)
 * plus a prototype carrying the type id, which the entry copies from a real
 * one below, so every `Deferred` function works on it.
 *
 * A success from `process` is kept as the bare result, in the record's slot
 * (the record is no longer needed): its `Exit` is made only when `effect` is
 * first read, usually by the `Deferred.await` that wants it. An offer
 * delivered before anyone awaits it then holds no `Exit`, and a burst of
 * offers keeps the garbage collector's young generation smaller.
 */
export class DeferredEntry<Rec, Res, Err> extends Entry<Rec, Res, Err> implements Deferred.Deferred<Res, Err> {
  declare readonly [DeferredTypeId]: Deferred.Deferred<Res, Err>[typeof DeferredTypeId]
  declare readonly pipe: Pipeable["pipe"]
  /**
   * The fibers awaiting it before it is done. An own field only of entries
   * awaited that early (`Deferred.await` adds it): the others read
   * `undefined` from the prototype, 8 bytes less per record.
   */
  declare resumes?: Array<(effect: Effect.Effect<Res, Err>) => void> | undefined
  /** How it completed, once known as an effect (see `effect`). */
  declare private completion: Effect.Effect<Res, Err> | undefined
  constructor(record: Rec, cost: number) {
    super(record, cost)
    this.completion = undefined
  }

  /** The `Deferred`'s completion; undefined while pending, as the interface's optional field is. */
  get effect(): Effect.Effect<Res, Err> {
    if (this.completion === undefined && this.state === DONE) {
      // Delivered as a bare success by `succeed`.
      this.completion = Exit.succeed(this.record as unknown as Res)
    }
    return this.completion as Effect.Effect<Res, Err>
  }
  /** Set by Effect's `Deferred` functions when the producer completes it first. */
  set effect(effect: Effect.Effect<Res, Err>) {
    this.completion = effect
  }

  override succeed(value: Res): void {
    if (this.completion !== undefined) return
    if (this.resumes === undefined) {
      // The engine marked it DONE just before: `effect` reads this as its success.
      ;(this as Entry<unknown, Res, Err>).record = value
      return
    }
    this.complete(Exit.succeed(value))
  }

  override succeedUnlessAwaited(value: Res): boolean {
    if (this.resumes !== undefined && this.completion === undefined) return false
    this.succeed(value)
    return true
  }

  deliver(exit: Exit.Exit<Res, Err>): void {
    if (this.completion === undefined) this.complete(exit)
  }

  /**
   * Completes it with `exit` and resumes its awaiters, as `Deferred.doneUnsafe`
   * does. That function cannot be called here: it first reads `effect`, which
   * for an entry the engine has already marked DONE reads as a bare success.
   */
  private complete(exit: Exit.Exit<Res, Err>): void {
    this.completion = exit
    const resumes = this.resumes
    if (resumes === undefined) return
    // Cleared first: an awaiter resumed with an interruption runs its cleanup inline.
    this.resumes = undefined
    for (let i = 0; i < resumes.length; i++) resumes[i](exit)
  }
}

const DeferredTypeId = "~effect/Deferred"
const deferredPrototype: object = Object.getPrototypeOf(Deferred.makeUnsafe())
for (const key of Reflect.ownKeys(deferredPrototype)) {
  if (key !== "constructor") {
    Object.defineProperty(DeferredEntry.prototype, key, Object.getOwnPropertyDescriptor(deferredPrototype, key)!)
  }
}
Object.defineProperty(DeferredEntry.prototype, "resumes", { value: undefined, writable: true })

/**
 * Whether the Deferreds `make` returns have the shape `DeferredEntry`
 * imitates, so that every `Deferred` function works on an entry:
 * - own fields `effect` and `resumes` only, both undefined while pending
 *   (an entry has no other state to give Effect's functions);
 * - a plain prototype (its own members are all an entry copies) holding the
 *   type id and `pipe`, nothing else (a new member may read state an entry
 *   lacks);
 * - `Deferred.await` parks a fiber by pushing its resume onto `resumes` and
 *   reads a completion from `effect`; `Deferred.doneUnsafe` stores `effect`,
 *   clears `resumes` and calls each resume once, as `DeferredEntry.complete`
 *   does; `isDoneUnsafe` and `poll` read `effect`.
 * Checked once at load time with Effect's own `Deferred.makeUnsafe`; the
 * tests call it with other shapes.
 */
export const entryFitsDeferred = (make: () => Deferred.Deferred<unknown, unknown>): boolean => {
  try {
    const sample = make()
    if (!hasPendingFields(sample)) return false
    const prototype: object | null = Object.getPrototypeOf(sample)
    if (prototype === null || Object.getPrototypeOf(prototype) !== Object.prototype) return false
    const members = Reflect.ownKeys(prototype).filter((key) => key !== "constructor")
    if (members.length !== 2 || !members.includes(DeferredTypeId) || typeof (prototype as any).pipe !== "function") {
      return false
    }
    if (!Deferred.isDeferred(sample) || Deferred.isDoneUnsafe(sample)) return false
    // A parked awaiter is in `resumes`, and completing the Deferred resumes it.
    const parked = Effect.runFork(Deferred.await(sample))
    const resumes = sample.resumes
    if (parked.pollUnsafe() !== undefined || !Array.isArray(resumes) || resumes.length !== 1) return false
    const exit = Exit.succeed(1)
    if (!Deferred.doneUnsafe(sample, exit) || sample.effect !== exit || sample.resumes !== undefined) return false
    if (!Deferred.isDoneUnsafe(sample) || Deferred.doneUnsafe(sample, Exit.succeed(2))) return false
    // Completing calls each resume once, with the completion.
    const seen: Array<unknown> = []
    const spied = make()
    spied.resumes = [(effect) => seen.push(effect)]
    if (!Deferred.doneUnsafe(spied, exit) || seen.length !== 1 || seen[0] !== exit) return false
    // A completion stored in `effect` is what a later await and poll see.
    const done = make()
    done.effect = exit
    return Effect.runSync(Deferred.await(done)) === 1 &&
      Effect.runSync(Effect.map(Deferred.poll(done), (polled) => polled._tag === "Some" && polled.value === exit))
  } catch {
    return false
  }
}

const hasPendingFields = (sample: object): boolean => {
  const fields = Object.keys(sample).sort()
  return fields.length === 2 && fields[0] === "effect" && fields[1] === "resumes" &&
    (sample as Deferred.Deferred<unknown>).effect === undefined &&
    (sample as Deferred.Deferred<unknown>).resumes === undefined
}

/**
 * The record of an `offer` / `offerAll` when the installed `effect`'s
 * `Deferred` has another shape than `DeferredEntry` imitates: its result
 * completes a real `Deferred`, through the public `Deferred.doneUnsafe`. Two
 * objects per record instead of one.
 */
export class WrappedDeferredEntry<Rec, Res, Err> extends Entry<Rec, Res, Err> {
  /** What the producer gets: completed by the engine, or by the producer first. */
  declare readonly deferred: Deferred.Deferred<Res, Err>
  constructor(record: Rec, cost: number) {
    super(record, cost)
    this.deferred = Deferred.makeUnsafe<Res, Err>()
  }
  deliver(exit: Exit.Exit<Res, Err>): void {
    Deferred.doneUnsafe(this.deferred, exit)
  }
}

/** How the entries of an `offer` / `offerAll` are made, and the Deferreds their producer gets. */
export interface OfferEntries {
  make<Rec, Res, Err>(record: Rec, cost: number): Entry<Rec, Res, Err>
  deferreds<Res, Err>(entries: Array<Entry<any, Res, Err>>): Array<Deferred.Deferred<Res, Err>>
}

/** Each entry is its record's Deferred (see `DeferredEntry`). */
export const entriesAreDeferreds: OfferEntries = {
  make: <Rec, Res, Err>(record: Rec, cost: number) => new DeferredEntry<Rec, Res, Err>(record, cost),
  deferreds: <Res, Err>(entries: Array<Entry<any, Res, Err>>) => entries as Array<DeferredEntry<any, Res, Err>>
}

/** Each entry completes a real Deferred (see `WrappedDeferredEntry`). */
export const entriesWrapDeferreds: OfferEntries = {
  make: <Rec, Res, Err>(record: Rec, cost: number) => new WrappedDeferredEntry<Rec, Res, Err>(record, cost),
  deferreds: <Res, Err>(entries: Array<Entry<any, Res, Err>>) =>
    entries.map((entry) => (entry as WrappedDeferredEntry<any, Res, Err>).deferred)
}

/** The kind the installed `effect` allows: entries that are Deferreds when its `Deferred` fits them. */
export const offerEntries: OfferEntries = entryFitsDeferred(Deferred.makeUnsafe)
  ? entriesAreDeferreds
  : entriesWrapDeferreds

/**
 * The records of one `submitAll`: the waiting fiber resumes with every result
 * in order, or with the first failure.
 */
export class Group<Res, Err> {
  private readonly results: Array<Res>
  private remaining: number
  private settled = false
  private readonly resume: (effect: Effect.Effect<Array<Res>, Err>) => void
  constructor(size: number, resume: (effect: Effect.Effect<Array<Res>, Err>) => void) {
    this.results = new Array<Res>(size)
    this.remaining = size
    this.resume = resume
  }
  deliver(index: number, exit: Exit.Exit<Res, Err>): void {
    if (this.settled) return
    if (Exit.isSuccess(exit)) {
      this.results[index] = exit.value
      if (--this.remaining > 0) return
      this.settled = true
      this.resume(Exit.succeed(this.results))
    } else {
      this.settled = true
      this.resume(Exit.failCause(exit.cause))
    }
  }
}

/** One record of a `submitAll`. */
export class GroupEntry<Rec, Res, Err> extends Entry<Rec, Res, Err> {
  declare private readonly group: Group<Res, Err>
  declare private readonly index: number
  constructor(record: Rec, cost: number, group: Group<Res, Err>, index: number) {
    super(record, cost)
    this.group = group
    this.index = index
  }
  deliver(exit: Exit.Exit<Res, Err>): void {
    this.group.deliver(this.index, exit)
  }
}

// One inert instance of each class of this module keeps its hidden classes alive (see `keepShape`).
keepShape(new ResumeEntry<unknown, unknown, unknown>(undefined, 0, constVoid))
keepShape(new GeneralResumeEntry<unknown, unknown, unknown>(undefined, 0, constVoid))
keepShape(new DeferredEntry<unknown, unknown, unknown>(undefined, 0))
keepShape(new WrappedDeferredEntry<unknown, unknown, unknown>(undefined, 0))
keepShape(new GroupEntry<unknown, unknown, unknown>(undefined, 0, keepShape(new Group(0, constVoid)), 0))
keepShape(new EntryGroup([], 0))
