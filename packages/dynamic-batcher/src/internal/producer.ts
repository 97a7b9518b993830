/**
 * What every front (the Effect `Batcher` and the Promise `DynamicBatcher`)
 * does with a call before its records reach the engine: check its
 * scheduling options (priority, timeout) and each record's key, and stamp
 * them on the records' entries. A bad value fails the call with
 * `InvalidSubmitError` before anything is enqueued.
 */
import type { Scheduling } from "../Batcher.ts"
import { formatValue, InvalidSubmitError } from "../BatcherError.ts"
import type { Entry } from "./entry.ts"
import type { LaneKey } from "./lane.ts"
import { millisOf } from "./options.ts"

/** The checked scheduling of one call: its records' priority and how long they may wait (infinite: no deadline). */
export interface CallScheduling {
  readonly priority: number
  readonly timeoutMillis: number
}

/** A call with neither a priority nor a deadline: its entries keep the prototype's defaults. */
export const unscheduled: CallScheduling = { priority: 0, timeoutMillis: Number.POSITIVE_INFINITY }

/**
 * The scheduling of a call with `options`, under the batcher's
 * `maxQueueDelay` (which a `timeout` may only shorten), or why it is invalid.
 */
export const schedulingOf = (
  options: Scheduling | undefined,
  maxQueueDelayMs: number | undefined
): CallScheduling | InvalidSubmitError => {
  const priority = options?.priority
  const timeout = options?.timeout
  if (priority === undefined && timeout === undefined && maxQueueDelayMs === undefined) return unscheduled
  if (priority !== undefined && !Number.isSafeInteger(priority)) {
    return new InvalidSubmitError({ option: "priority", reason: `expected an integer, got ${formatValue(priority)}` })
  }
  let timeoutMillis = maxQueueDelayMs ?? Number.POSITIVE_INFINITY
  if (timeout !== undefined) {
    const millis = timeoutMillisOf(timeout)
    if (!(millis >= 0) || Number.isNaN(millis)) {
      return new InvalidSubmitError({
        option: "timeout",
        reason: `expected a non-negative Duration.Input (e.g. "200 millis", 200), got ${formatValue(timeout)}`
      })
    }
    timeoutMillis = Math.min(timeoutMillis, millis)
  }
  return schedulingFor(priority ?? 0, timeoutMillis)
}

/**
 * The checked scheduling of `priority` and `timeoutMillis`, shared by the
 * calls that ask for the same: callers repeat a few combinations (priorities
 * taking turns under one timeout), and a new object per call was garbage
 * on every submit with a priority or a deadline. One is remembered per
 * priority mod 4.
 */
const schedulingFor = (priority: number, timeoutMillis: number): CallScheduling => {
  const slot = priority & 3
  const known = recent[slot]
  if (known.priority === priority && known.timeoutMillis === timeoutMillis) return known
  return recent[slot] = { priority, timeoutMillis }
}
const recent: Array<CallScheduling> = [unscheduled, unscheduled, unscheduled, unscheduled]

/**
 * `millisOf` for per-submit timeouts. Callers pass the same timeout call after
 * call ("30 seconds"): parsing it each time was ~10% of a submit with a
 * deadline, so the last string read is remembered.
 */
const timeoutMillisOf = (input: unknown): number => {
  if (typeof input === "string" && input === lastInput) return lastMillis
  const millis = millisOf(input)
  if (typeof input === "string") {
    lastInput = input
    lastMillis = millis
  }
  return millis
}
let lastInput: string | undefined = undefined
let lastMillis = Number.NaN

/** The key `groupBy` gives `record`, or why it cannot be used. */
export const keyOf = <Rec>(groupBy: (record: Rec) => string | number, record: Rec): LaneKey | InvalidSubmitError => {
  let key: unknown
  try {
    key = groupBy(record)
  } catch (error) {
    return new InvalidSubmitError({
      option: "groupBy",
      reason: `groupBy threw: ${error instanceof Error ? error.message : formatValue(error)}`
    })
  }
  if (typeof key === "string" || (typeof key === "number" && Number.isFinite(key))) return key
  return new InvalidSubmitError({
    option: "groupBy",
    reason: `expected a string or a finite number, got ${formatValue(key)}`
  })
}

/** Stamps the call's scheduling on `entry`, its deadline counted from `now` (engine time). */
export const schedule = (entry: Entry<any, any, any>, scheduling: CallScheduling, now: number): void => {
  if (scheduling.priority !== 0) entry.priority = scheduling.priority
  const timeoutMillis = scheduling.timeoutMillis
  if (timeoutMillis !== Number.POSITIVE_INFINITY) {
    entry.deadline = now + timeoutMillis
    entry.timeoutMillis = timeoutMillis
  }
}
