/**
 * Hidden classes: every object a batcher makes on its hot paths shares V8's
 * hidden class (its "map") with an inert instance the library keeps alive, so
 * that a full garbage collection between bursts does not drop the maps and,
 * with them, the optimized code of the batcher (see `internal/shapes.ts`).
 *
 * `%HaveSameMap` is one of V8's natives, switched on at run time for the
 * function compiled below. The batchers run through records of every kind the
 * fields must hold: numbers and objects, whole and fractional costs, success,
 * failure, withdrawal, a waiting producer and shutdown.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { Batcher, TokenBatcher } from "effect-dynamic-batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { TestClock } from "effect/testing"
import v8 from "node:v8"
import { keptInstances } from "../src/internal/shapes.ts"
import { gated, settle } from "./utils.ts"

/**
 * V8's `%HaveSameMap`, or why it is unavailable here: another engine, or a
 * runtime that refuses the flag or code generation from strings. The tests
 * below are skipped then, with that reason in their suite's name.
 */
const natives = ((): { readonly haveSameMap: (a: object, b: object) => boolean } | { readonly unavailable: string } => {
  try {
    v8.setFlagsFromString("--allow-natives-syntax")
    const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean
    if (haveSameMap({}, {}) !== true || haveSameMap({}, []) !== false) {
      return { unavailable: "%HaveSameMap does not answer as V8's does" }
    }
    return { haveSameMap }
  } catch (error) {
    return {
      unavailable: `V8 natives syntax is unavailable: ${error instanceof Error ? error.message : String(error)}`
    }
  }
})()
const haveSameMap = "haveSameMap" in natives ? natives.haveSameMap : () => false
const skipReason = "unavailable" in natives ? natives.unavailable : undefined
if (skipReason !== undefined) console.warn(`shapes.test.ts skipped: ${skipReason}`)
const suiteName = skipReason === undefined ? "hidden classes" : `hidden classes (skipped: ${skipReason})`

/** The objects that share no hidden class with a kept instance, by constructor name. */
const unkept = (objects: ReadonlyArray<object>): Array<string> =>
  objects
    .filter((object) => !keptInstances.some((kept) => haveSameMap(kept, object)))
    .map((object) => object.constructor.name)

/** The engine's own objects: itself and what it keeps per batcher. */
const engineParts = (engine: any): Array<object> => [
  engine,
  engine.counters,
  engine.lanes,
  engine.lanes.single,
  engine.lanes.single.base,
  engine.lanes.single.base.queue,
  engine.waiters,
  engine.aggregatorSignal,
  engine.executor,
  engine.executor.handoff,
  ...engine.executor.slots.filter((slot: unknown) => slot !== undefined),
  engine.telemetry
]

/** The entries of the records in the queue, in the open batch and in `process`. */
const heldEntries = (engine: any): Array<object> => {
  const queue = engine.lanes.single.base.queue
  return [
    ...Array.from({ length: queue.size }, (_, index) => queue.at(index)),
    ...engine.lanes.single.open,
    ...Array.from(engine.executor.inFlight as Set<{ entries: Array<object> }>, (batch) => batch.entries).flat()
  ]
}

class Priced {
  readonly id: number
  readonly cost: number
  constructor(id: number, cost: number) {
    this.id = id
    this.cost = cost
  }
  estimateCost() {
    return this.cost
  }
}

describe.skipIf(skipReason !== undefined)(suiteName, () => {
  it.effect("a batcher's engine, entries and stats share the hidden classes of the kept instances", () =>
    Effect.gen(function*() {
      const gate = gated((record: number | Priced) => typeof record === "number" ? record * 2 : record.id)
      const batcher = yield* Batcher.make({
        process: (batch: ReadonlyArray<number | Priced>) =>
          batch.includes(-1) ? Effect.fail("refused" as const) : gate.process(batch),
        maxBatchSize: 4,
        maxQueueSize: 6,
        batchTimeout: "10 millis"
      })
      const engine = (batcher as any).engine
      const entries: Array<object> = []
      const collectHeld = Effect.sync(() => entries.push(...heldEntries(engine)))

      const offered = yield* batcher.offerAll([1, 2])
      const submitted = yield* Effect.forkChild(batcher.submit(3, { cost: 0.5 }))
      yield* settle
      yield* collectHeld
      // The batch of 1, 2 and 3 goes at its deadline and is held in `process`.
      yield* TestClock.adjust("10 millis")
      const group = yield* Effect.forkChild(batcher.submitAll([new Priced(4, 1.5), 5, -1], { costs: [0.25, 1, 1] }))
      const quitter = yield* Effect.forkChild(batcher.submit(6))
      // Fills the queue: the last six wait for room.
      const waiting = yield* Effect.forkChild(batcher.submitAll([7, 8, 9, 10, 11, 12, 13, 14]))
      yield* settle
      yield* collectHeld
      yield* Fiber.interrupt(quitter)
      yield* gate.release
      yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("10 millis")
      assert.strictEqual(yield* Fiber.join(submitted), 6)
      assert.deepStrictEqual(yield* Effect.flip(Fiber.join(group)), "refused")
      assert.deepStrictEqual(yield* Fiber.join(waiting), [14, 16, 18, 20, 22, 24, 26, 28])
      assert.deepStrictEqual(yield* Effect.forEach(offered, Deferred.await), [2, 4])
      yield* batcher.shutdown

      assert.isAtLeast(entries.length, 10)
      assert.deepStrictEqual(unkept([batcher, ...engineParts(engine), ...offered, ...entries]), [])
    }))

  it("a prompt shares the hidden class of the kept one", () => {
    assert.deepStrictEqual(unkept([new TokenBatcher.Prompt("Summarize this paragraph.")]), [])
  })

  it.live("the Promise API's batcher and entries share the hidden classes of the kept instances", () =>
    Effect.promise(async () => {
      const batcher = new DynamicBatcher<number, number>({
        processFn: async (batch) => batch.map((n) => n * 2),
        maxBatchSize: 2,
        batchTimeout: "1 millis"
      })
      await batcher.start()
      const running = (batcher as any).running
      const engine = running.engine
      const results = [batcher.submit(1), batcher.submit(2.5, { estimatedCost: 0.5 })]
      const entries = heldEntries(engine)
      assert.deepStrictEqual(await Promise.all(results), [2, 5])
      await batcher.stop()
      assert.strictEqual(entries.length, 2)
      assert.deepStrictEqual(unkept([batcher, running, ...engineParts(engine), ...entries]), [])
    }))
})
