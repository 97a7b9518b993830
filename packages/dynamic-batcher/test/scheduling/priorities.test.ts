/**
 * Priorities: the open batch fills from the highest level first, FIFO within
 * a level; with `priorityAging`, a record that waited that long ranks above
 * every level, in arrival order; records already sealed are never reordered.
 *
 * A batch forms by priority only among the records queued at that moment, so
 * each test first holds the processor busy and fills the handoff (one batch in
 * process, one prefetched, one open and full, all at a top level), lets the
 * records under test accumulate in the queue, then releases everything.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { isDone, settle } from "../support/harness.ts"
import { releasedAtEnd, slots } from "./support.ts"

interface Arrival {
  readonly at: number
  readonly record: string
  readonly priority?: number
}

const TOP = 1_000

/**
 * Submits `arrivals` (each at its time, one at a time) behind a full handoff,
 * releases the processor at `releaseAt`, and returns the batches formed from
 * the queued records (the prefix's three batches left out).
 */
const queuedOrder = (
  arrivals: ReadonlyArray<Arrival>,
  options: { readonly releaseAt: number; readonly maxBatchSize?: number; readonly priorityAging?: number }
) =>
  Effect.gen(function*() {
    const gate = slots((s: string) => s.toUpperCase())
    const maxBatchSize = options.maxBatchSize ?? 1
    const batcher = yield* Batcher.make({
      process: gate.process,
      maxBatchSize,
      prefetchBatches: 1,
      batchTimeout: "1 hour",
      ...(options.priorityAging === undefined ? {} : { priorityAging: options.priorityAging })
    })
    yield* releasedAtEnd(gate)
    const prefix = Array.from({ length: 3 * maxBatchSize }, (_, i) => `top${i}`)
    const head = yield* Effect.forkChild(batcher.submitAll(prefix, { priority: TOP }))
    yield* settle()
    assert.strictEqual(gate.calls.length, 1, "the first batch is held in process")
    let now = 0
    const fibers: Array<Fiber.Fiber<string, unknown>> = []
    const sorted = [...arrivals].sort((a, b) => a.at - b.at)
    for (const arrival of sorted) {
      if (arrival.at > now) {
        yield* TestClock.adjust(arrival.at - now)
        now = arrival.at
      }
      const options = arrival.priority === undefined ? undefined : { priority: arrival.priority }
      fibers.push(yield* Effect.forkChild(batcher.submit(arrival.record, options)))
      yield* settle()
    }
    yield* TestClock.adjust(options.releaseAt - now)
    assert.strictEqual(gate.calls.length, 1, "nothing moved while the processor was held")
    yield* gate.release
    yield* settle()
    // the last batch may be short of maxBatchSize: it goes on its timeout
    yield* TestClock.adjust("1 hour")
    yield* settle()
    assert.deepStrictEqual(yield* Fiber.join(head), prefix.map((s) => s.toUpperCase()))
    for (const [i, fiber] of fibers.entries()) {
      assert.strictEqual(yield* Fiber.join(fiber), sorted[i].record.toUpperCase())
    }
    const batches = gate.batches()
    assert.deepStrictEqual(batches.slice(0, 3).flat(), prefix, "the top-level prefix goes first, in order")
    return batches.slice(3)
  })

describe("priorities", () => {
  it.effect("the open batch fills from the highest level first, FIFO within a level", () =>
    Effect.gen(function*() {
      const batches = yield* queuedOrder([
        { at: 0, record: "a0" }, // default priority 0
        { at: 0, record: "b5", priority: 5 },
        { at: 0, record: "c1", priority: 1 },
        { at: 0, record: "f-1", priority: -1 },
        { at: 0, record: "d5", priority: 5 },
        { at: 0, record: "e0", priority: 0 }
      ], { releaseAt: 1, maxBatchSize: 2 })
      assert.deepStrictEqual(batches, [["b5", "d5"], ["c1", "a0"], ["e0", "f-1"]])
    }))

  it.effect("without priorityAging a low level waits behind every higher record", () =>
    Effect.gen(function*() {
      const batches = yield* queuedOrder([
        { at: 0, record: "low", priority: 0 },
        { at: 5, record: "h1", priority: 5 },
        { at: 5, record: "h2", priority: 5 },
        { at: 5, record: "h3", priority: 5 }
      ], { releaseAt: 12 })
      assert.deepStrictEqual(batches.flat(), ["h1", "h2", "h3", "low"])
    }))

  it.effect("priorityAging: a record that waited that long ranks above every level", () =>
    Effect.gen(function*() {
      const batches = yield* queuedOrder([
        { at: 0, record: "low", priority: 0 },
        { at: 5, record: "h1", priority: 5 },
        { at: 5, record: "h2", priority: 5 },
        { at: 5, record: "h3", priority: 5 }
      ], { releaseAt: 12, priorityAging: 10 })
      assert.deepStrictEqual(batches.flat(), ["low", "h1", "h2", "h3"], "low waited 12 >= 10 ms, the others 7")
    }))

  it.effect("priorityAging: aged records go in arrival order, whatever their level", () =>
    Effect.gen(function*() {
      const batches = yield* queuedOrder([
        { at: 0, record: "old0", priority: 0 },
        { at: 1, record: "old5", priority: 5 },
        { at: 2, record: "old-3", priority: -3 },
        { at: 6, record: "new9", priority: 9 },
        { at: 6, record: "new0", priority: 0 }
      ], { releaseAt: 12, priorityAging: 10 })
      assert.deepStrictEqual(batches.flat(), ["old0", "old5", "old-3", "new9", "new0"])
    }))

  it.effect("priorityAging: a record ages exactly at its aging time, not before", () =>
    Effect.gen(function*() {
      const before = yield* queuedOrder([
        { at: 0, record: "low", priority: 0 },
        { at: 1, record: "high", priority: 5 }
      ], { releaseAt: 9, priorityAging: 10 })
      assert.deepStrictEqual(before.flat(), ["high", "low"], "t=9: low waited 9 < 10")
      const at = yield* queuedOrder([
        { at: 0, record: "low", priority: 0 },
        { at: 1, record: "high", priority: 5 }
      ], { releaseAt: 10, priorityAging: 10 })
      assert.deepStrictEqual(at.flat(), ["low", "high"], "t=10: low waited 10")
    }))

  it.effect("a higher record that expires in the open batch leaves the order of the level below intact", () =>
    Effect.gen(function*() {
      const gate = slots((s: string) => s)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxBatchSize: 1,
        prefetchBatches: 1,
        batchTimeout: "1 hour"
      })
      yield* releasedAtEnd(gate)
      // n arrives at t=5, the moment h's deadline passes (its timer was set first)
      const newcomer = yield* Effect.forkChild(Effect.andThen(Effect.sleep(5), batcher.submit("n")))
      // t1 in process, t2 in the handoff, t3 in the open batch; a (level 0) and h (level 1) queued
      const head = yield* Effect.forkChild(batcher.submitAll(["t1", "t2", "t3"], { priority: TOP }))
      yield* settle()
      const a = yield* Effect.forkChild(batcher.submit("a"))
      yield* settle()
      const h = yield* Effect.forkChild(batcher.submit("h", { priority: 1, timeout: 5 }))
      yield* settle()
      yield* gate.open(0)
      yield* settle()
      // t2 in process, t3 in the handoff, h (the higher) in the open batch, a queued
      yield* TestClock.adjust(5)
      yield* settle()
      assert.isTrue(isDone(h), "h expired in the open batch")
      yield* gate.release
      yield* settle()
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(head), ["t1", "t2", "t3"])
      assert.strictEqual(yield* Fiber.join(a), "a")
      assert.strictEqual(yield* Fiber.join(newcomer), "n")
      assert.deepStrictEqual(
        gate.batches().flat(),
        ["t1", "t2", "t3", "a", "n"],
        "a was queued before n at the same level"
      )
    }))

  it.effect("priorities never reorder records already sealed into a batch", () =>
    Effect.gen(function*() {
      const gate = slots((s: string) => s)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxBatchSize: 2,
        prefetchBatches: 1,
        batchTimeout: "1 hour"
      })
      yield* releasedAtEnd(gate)
      const held = yield* Effect.forkChild(batcher.submitAll(["l1", "l2"]))
      yield* settle()
      const sealed = yield* Effect.forkChild(batcher.submitAll(["l3", "l4"]))
      yield* settle()
      const high = yield* Effect.forkChild(batcher.submitAll(["h1", "h2"], { priority: 9 }))
      yield* settle()
      yield* gate.release
      yield* settle()
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(held), ["l1", "l2"])
      assert.deepStrictEqual(yield* Fiber.join(sealed), ["l3", "l4"])
      assert.deepStrictEqual(yield* Fiber.join(high), ["h1", "h2"])
      assert.deepStrictEqual(gate.batches(), [["l1", "l2"], ["l3", "l4"], ["h1", "h2"]])
    }))

  it.effect("submitAll and offerAll give every record of the call the same priority, FIFO among them", () =>
    Effect.gen(function*() {
      const gate = slots((s: string) => s)
      const batcher = yield* Batcher.make({
        process: gate.process,
        maxBatchSize: 2,
        prefetchBatches: 1,
        batchTimeout: "1 hour"
      })
      yield* releasedAtEnd(gate)
      const prefix = yield* Effect.forkChild(batcher.submitAll(["t1", "t2", "t3", "t4", "t5", "t6"], { priority: TOP }))
      yield* settle()
      const low = yield* Effect.forkChild(batcher.submitAll(["l1", "l2", "l3"]))
      yield* settle()
      const high = yield* batcher.offerAll(["h1", "h2", "h3"], { priority: 3 })
      yield* gate.release
      yield* settle()
      yield* TestClock.adjust("1 hour")
      yield* settle()
      yield* Fiber.join(prefix)
      assert.deepStrictEqual(yield* Fiber.join(low), ["l1", "l2", "l3"])
      assert.strictEqual(high.length, 3)
      assert.deepStrictEqual(gate.batches().slice(3), [["h1", "h2"], ["h3", "l1"], ["l2", "l3"]])
    }))
})
