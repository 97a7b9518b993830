/**
 * A record's life inside the batcher. Every accepted record is in exactly one
 * of these states, and each transition happens synchronously inside one fiber
 * step, so a producer's interruption and the loops never disagree about it.
 */
import type { Deferred } from "effect"

/** Created, not yet accepted: its producer waits for room in the queue. */
export const NEW = 0
/** Accepted, waiting in the queue. */
export const QUEUED = 1
/** Taken into the open batch by the aggregation loop. */
export const OPEN = 2
/** In a sealed batch, waiting between the loops. */
export const SEALED = 3
/** Handed to `process`: it can no longer be withdrawn. */
export const IN_FLIGHT = 4
/** Its producer was interrupted before it reached `process`. */
export const WITHDRAWN = 5
/** Its result (success, failure, defect or interruption) was delivered. */
export const DONE = 6

export type EntryState =
  | typeof NEW
  | typeof QUEUED
  | typeof OPEN
  | typeof SEALED
  | typeof IN_FLIGHT
  | typeof WITHDRAWN
  | typeof DONE

/** A record with its cost and the `Deferred` its result is delivered to. */
export class Entry<Rec, Res, Err> {
  state: EntryState = NEW
  readonly record: Rec
  readonly cost: number
  readonly deferred: Deferred.Deferred<Res, Err>
  constructor(record: Rec, cost: number, deferred: Deferred.Deferred<Res, Err>) {
    this.record = record
    this.cost = cost
    this.deferred = deferred
  }
}

/** Whether the record was accepted and has not yet reached `process`. */
export const isPending = (entry: Entry<any, any, any>): boolean =>
  entry.state === QUEUED || entry.state === OPEN || entry.state === SEALED
