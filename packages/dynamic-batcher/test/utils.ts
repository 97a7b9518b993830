/**
 * Shared helpers for the behaviour tests: a recording `process`, a gate to
 * hold `process` busy, and a way to let every ready fiber run.
 */
import { Deferred, Effect } from "effect"
import { Batcher } from "effect-dynamic-batcher"

/** A `process` that records every batch it sees and maps each record with `f`. */
export const recorder = <A, B>(f: (a: A) => B) => {
  const batches: Array<Array<A>> = []
  const process = (batch: ReadonlyArray<A>) =>
    Effect.sync(() => {
      batches.push([...batch])
      return batch.map(f)
    })
  return { batches, process }
}

/**
 * A `process` that records each batch, then waits until `open` is called
 * (once per batch, in order), so tests can hold the processor busy.
 */
export const gated = <A, B>(f: (a: A) => B) => {
  const batches: Array<Array<A>> = []
  const gates: Array<Deferred.Deferred<void>> = []
  let opened = 0
  let released = false
  const process = (batch: ReadonlyArray<A>) =>
    Effect.suspend(() => {
      batches.push([...batch])
      if (released) return Effect.succeed(batch.map(f))
      const gate = gates[batches.length - 1] ?? Deferred.makeUnsafe<void>()
      gates[batches.length - 1] = gate
      return Effect.as(Deferred.await(gate), batch.map(f))
    })
  /** Lets the next held batch finish. */
  const open = Effect.suspend(() => {
    const index = opened++
    const gate = gates[index] ?? Deferred.makeUnsafe<void>()
    gates[index] = gate
    return Deferred.succeed(gate, undefined)
  })
  /** Lets every held batch, and every later one, finish. */
  const release = Effect.sync(() => {
    released = true
    for (const gate of gates) Deferred.doneUnsafe(gate, Effect.void)
  })
  return { batches, process, open, release }
}

/** Lets every fiber that can run, run (the batcher's loops, forked producers). */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/**
 * A gated batcher with room for one record at a time (maxQueueSize,
 * maxBatchSize and prefetchBatches 1) that has accepted 1, 2, 3 and 4 (the
 * first held in process), so the next producer waits for room. `drain` lets
 * those four batches finish one by one.
 */
export const fullQueue = <B>(f: (n: number) => B) =>
  Effect.gen(function*() {
    const gate = gated(f)
    const batcher = yield* Batcher.make({
      process: gate.process,
      maxQueueSize: 1,
      maxBatchSize: 1,
      prefetchBatches: 1
    })
    const accepted = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4]))
    yield* settle
    const drain = Effect.gen(function*() {
      for (let i = 0; i < 4; i++) {
        yield* gate.open
        yield* settle
      }
    })
    return { gate, batcher, accepted, drain }
  })
