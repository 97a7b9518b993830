/**
 * Helpers of the scheduling tests (concurrent slots, keys, deadlines,
 * priorities, reconfiguration): a `process` whose every batch waits on its own
 * gate, so a test can hold several batches in `process` at once and let them
 * finish in any order. Nothing here sleeps on the real clock.
 */
import { Clock, Deferred, Effect } from "effect"

/** What `process` receives as its second argument (structurally, so the tests need no type import). */
export interface Info {
  readonly key: unknown
  readonly size: number
  readonly cost: number
}

/** One `process` call as the test saw it. */
export interface Call<A> {
  readonly records: ReadonlyArray<A>
  readonly info: Info
  /** TestClock millis when `process` was called. */
  readonly at: number
  /** Set once its gate opened and it returned. */
  done: boolean
}

/**
 * A `process` that records each call (records, `info`, start time) and holds
 * it until `open(index)` (the index of the call, in start order) or
 * `release`. `active` / `maxActive` count the calls running at once.
 */
export const slots = <A, B>(f: (a: A) => B) => {
  const calls: Array<Call<A>> = []
  const gates: Array<Deferred.Deferred<void>> = []
  const state = { active: 0, maxActive: 0, released: false }
  const gateOf = (index: number) => {
    const gate = gates[index] ?? Deferred.makeUnsafe<void>()
    gates[index] = gate
    return gate
  }
  const process = (batch: ReadonlyArray<A>, info: Info) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const index = calls.length
      const call: Call<A> = {
        records: [...batch],
        info: { key: info.key, size: info.size, cost: info.cost },
        at,
        done: false
      }
      calls.push(call)
      state.active++
      state.maxActive = Math.max(state.maxActive, state.active)
      const finish = Effect.sync(() => {
        state.active--
        call.done = true
        return batch.map(f)
      })
      return state.released ? finish : Effect.andThen(Deferred.await(gateOf(index)), finish)
    })
  /** Lets call `index` (0 = the first `process` call) finish, whether or not it has started. */
  const open = (index: number) => Deferred.succeed(gateOf(index), undefined)
  /** Lets every held call, and every later one, finish at once. */
  const release = Effect.sync(() => {
    state.released = true
    for (const gate of gates) Deferred.doneUnsafe(gate, Effect.void)
  })
  /** The records of every call so far, one array per call. */
  const batches = () => calls.map((call) => call.records)
  return { calls, state, process, open, release, batches }
}

/**
 * Releases `gate` when the test's scope closes. Call it right after
 * `Batcher.make`: finalizers run in reverse order, so the gate opens before
 * the batcher's own shutdown waits for the batches it holds — a failing
 * assertion then reports, instead of hanging the test until its timeout.
 */
export const releasedAtEnd = (gate: { readonly release: Effect.Effect<void> }) =>
  Effect.addFinalizer(() => gate.release)
