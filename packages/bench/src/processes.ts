/**
 * The `process` every workload hands its peers, in both modes (`ProcessMode`
 * in `spec.ts`). Each is written once as a Promise function, and Effect peers
 * get that very function through `Effect.promise`: the Effect floor,
 * `RequestResolver`, ours, the Promise API and the minimal Promise batcher
 * all wait on the same kind of Promise, resolved at the same moment. The
 * synchronous form (`Effect.sync`, or `Effect.callback` resumed straight from
 * the device's callback) exists for Effect peers only: a Promise peer's
 * `process` is a Promise by contract.
 */
import { Effect } from "effect"
import type { Accelerator, Gate } from "./devices.ts"
import type { ProcessMode } from "./spec.ts"

/** One workload's `process`, both ways. */
export interface BatchFunction {
  /** Resolves with one result per record, on a later microtask or from a device callback. */
  readonly promised: (batch: ReadonlyArray<number>) => Promise<ReadonlyArray<number>>
  /** The synchronous form, for the extra `sync` rows. */
  readonly immediate: (batch: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>>
}

const double = (n: number): number => n * 2

/**
 * W1, W1s, W1b, W3, W5: doubles each record. The Promise is resolved when
 * made, so whoever awaits it resumes on a later microtask, the least any
 * asynchronous client costs.
 */
export const doubling: BatchFunction = {
  promised: (batch) => Promise.resolve(batch.map(double)),
  immediate: (batch) => Effect.sync(() => batch.map(double))
}

/**
 * A function that completes through a device's callback: the Promise is
 * resolved from it (W2: the accelerator's timer / `setImmediate`; W4: the
 * gate opening), the synchronous form resumes the fiber inside it.
 */
const throughCallback = (
  wait: (batch: ReadonlyArray<number>, done: () => void) => void
): BatchFunction => ({
  promised: (batch) => new Promise((resolve) => wait(batch, () => resolve(batch.map(double)))),
  immediate: (batch) =>
    Effect.callback<ReadonlyArray<number>>((resume) => {
      wait(batch, () => resume(Effect.succeed(batch.map(double))))
    })
})

/** W2: the batch runs on the simulated accelerator, then each record is doubled. */
export const onAccelerator = (accelerator: Accelerator): BatchFunction =>
  throughCallback((batch, done) => accelerator.run(batch.length, done))

/** W4: the batch waits until the gate opens, then each record is doubled. */
export const behindGate = (gate: Gate): BatchFunction => throughCallback((_, done) => gate.wait(done))

/** The `process` an Effect peer gets in the cell's mode. */
export const forEffect = (
  mode: ProcessMode,
  fn: BatchFunction
): (batch: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<number>> =>
  mode === "sync" ? fn.immediate : (batch) => Effect.promise(() => fn.promised(batch))

/** The `process` a Promise peer or a loop gets: always the Promise one. */
export const forPromise = (
  mode: ProcessMode,
  fn: BatchFunction
): (batch: ReadonlyArray<number>) => Promise<ReadonlyArray<number>> => {
  if (mode === "sync") throw new Error("a Promise peer's process is a Promise: it has no sync cells")
  return fn.promised
}
