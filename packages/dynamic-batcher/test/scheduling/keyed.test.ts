/**
 * `groupBy`: records with different keys never share a batch; each key has
 * its own open batch under the same caps and its own `batchTimeout`; FIFO
 * within a key; `maxQueueSize` bounds all keys together; ready batches go to
 * a free slot oldest-first by their oldest record; `process` gets the key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Batcher } from "effect-dynamic-batcher"
import { TestClock } from "effect/testing"
import { isDone, settle, statsProblems } from "../support/harness.ts"
import { releasedAtEnd, slots } from "./support.ts"

/** A record of key `key`; `n` tells records apart. */
interface Item {
  readonly key: string
  readonly n: number
}

const item = (key: string, n: number): Item => ({ key, n })
const label = (i: Item) => `${i.key}${i.n}`
const byKey = (i: Item) => i.key

describe("groupBy", () => {
  it.effect("records with different keys never share a batch; process gets the key, size and cost", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      const batcher = yield* Batcher.make({ process: gate.process, groupBy: byKey, batchTimeout: "10 millis" })
      yield* releasedAtEnd(gate)
      yield* gate.release
      const records = [item("a", 1), item("b", 1), item("a", 2), item("b", 2), item("a", 3)]
      const fiber = yield* Effect.forkChild(Effect.forEach(records, (r) => batcher.submit(r, { cost: r.n }), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["a1", "b1", "a2", "b2", "a3"])
      assert.deepStrictEqual(gate.calls.map((c) => c.records.map(label)), [["a1", "a2", "a3"], ["b1", "b2"]])
      assert.deepStrictEqual(gate.calls.map((c) => c.info), [
        { key: "a", size: 3, cost: 6 },
        { key: "b", size: 2, cost: 3 }
      ])
    }))

  it.effect("without groupBy, info.key is undefined", () =>
    Effect.gen(function*() {
      const gate = slots((n: number) => n)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, batchTimeout: 0 })
      yield* batcher.submitAll([1, 2], { costs: [2, 5] })
      assert.deepStrictEqual(gate.calls.map((c) => c.info), [{ key: undefined, size: 2, cost: 7 }])
    }))

  it.effect("numeric keys work like string keys", () =>
    Effect.gen(function*() {
      const gate = slots((n: number) => n)
      yield* gate.release
      const batcher = yield* Batcher.make({ process: gate.process, groupBy: (n: number) => n % 3, batchTimeout: 5 })
      const fiber = yield* Effect.forkChild(batcher.submitAll([0, 1, 2, 3, 4, 5, 6]))
      yield* TestClock.adjust(5)
      assert.deepStrictEqual(yield* Fiber.join(fiber), [0, 1, 2, 3, 4, 5, 6])
      assert.deepStrictEqual(gate.batches(), [[0, 3, 6], [1, 4], [2, 5]])
      assert.deepStrictEqual(gate.calls.map((c) => c.info.key), [0, 1, 2])
    }))

  it.effect("each key's open batch fills up to the same caps and goes when full", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      yield* gate.release
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxBatchSize: 2,
        targetBatchCost: 10,
        batchTimeout: "1 hour"
      })
      const a = yield* Effect.forkChild(batcher.submitAll([item("a", 1), item("a", 2), item("a", 3)]))
      const b = yield* Effect.forkChild(batcher.submitAll([item("b", 1), item("b", 2)], { costs: [4, 7] }))
      yield* settle()
      assert.deepStrictEqual(
        gate.calls.map((c) => c.records.map(label)),
        [["a1", "a2"], ["b1"]],
        "a is full by size, b's first batch by cost (4 + 7 > 10); a3 and b2 wait for their timeouts"
      )
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Fiber.join(a), ["a1", "a2", "a3"])
      assert.deepStrictEqual(yield* Fiber.join(b), ["b1", "b2"])
      for (const call of gate.calls) {
        assert.isTrue(call.records.every((r) => r.key === call.info.key), "one key per batch")
      }
    }))

  it.effect("batchTimeout counts from each key's own first record", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      yield* gate.release
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxConcurrentBatches: 2,
        batchTimeout: "10 millis"
      })
      const a = yield* Effect.forkChild(batcher.submit(item("a", 1)))
      yield* TestClock.adjust(5)
      const b = yield* Effect.forkChild(batcher.submit(item("b", 1)))
      yield* TestClock.adjust(4)
      assert.deepStrictEqual(gate.calls, [])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(gate.calls.map((c) => [c.info.key, c.at]), [["a", 10]])
      assert.isFalse(isDone(b))
      yield* TestClock.adjust(4)
      assert.strictEqual(gate.calls.length, 1, "b's timeout runs from t=5")
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(gate.calls.map((c) => [c.info.key, c.at]), [["a", 10], ["b", 15]])
      assert.strictEqual(yield* Fiber.join(a), "a1")
      assert.strictEqual(yield* Fiber.join(b), "b1")
    }))

  it.effect("FIFO within a key, across batches, while other keys interleave", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxBatchSize: 2,
        batchTimeout: 0
      })
      yield* releasedAtEnd(gate)
      const keys = ["a", "b", "a", "c", "a", "b", "a", "a", "c", "b"]
      const counters = new Map<string, number>()
      const records = keys.map((k) => {
        const n = (counters.get(k) ?? 0) + 1
        counters.set(k, n)
        return item(k, n)
      })
      const fibers = yield* Effect.forEach(records, (r) => Effect.forkChild(batcher.submit(r)))
      yield* settle()
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), records.map(label))
      const seen = new Map<string, Array<number>>()
      for (const call of gate.calls) {
        assert.isTrue(call.records.every((r) => r.key === call.info.key), "one key per batch")
        for (const r of call.records) seen.set(r.key, [...(seen.get(r.key) ?? []), r.n])
      }
      for (const [key, ns] of seen) {
        assert.deepStrictEqual(ns, [...ns].sort((x, y) => x - y), `FIFO within key ${key}`)
        assert.strictEqual(ns.length, counters.get(key))
      }
    }))

  it.effect("maxQueueSize bounds all keys together, however many keys there are", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      const maxQueueSize = 3
      const prefetchBatches = 1
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxQueueSize,
        prefetchBatches,
        maxBatchSize: 1
      })
      yield* releasedAtEnd(gate)
      const records = Array.from({ length: 20 }, (_, i) => item(`k${i}`, i))
      const fibers = yield* Effect.forEach(records, (r) => Effect.forkChild(batcher.submit(r)))
      yield* settle()
      const stats = yield* batcher.stats
      // one batch in process, the prefetched ones, one open batch, the queue: not one open batch per key
      const bound = maxQueueSize + (1 + prefetchBatches + 1)
      assert.isAtMost(stats.totalSubmitted, bound, `20 keys, yet at most ${bound} records accepted`)
      assert.isBelow(stats.totalSubmitted, records.length, "producers beyond the bound wait for room")
      assert.deepStrictEqual(statsProblems(stats, stats.inFlightRecords), [])
      yield* gate.release
      yield* settle()
      assert.deepStrictEqual(yield* Fiber.joinAll(fibers), records.map(label))
      assert.deepStrictEqual(
        gate.batches().map((b) => b.map(label)),
        records.map((r) => [label(r)]),
        "one record per key: oldest-first between keys is submission order"
      )
    }))

  it.effect("between keys, a ready batch goes oldest-first by its oldest record: a busy key never starves a quiet one", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxBatchSize: 2,
        prefetchBatches: 1,
        batchTimeout: "10 millis"
      })
      yield* releasedAtEnd(gate)
      const busy = yield* Effect.forkChild(batcher.submitAll([item("x", 1), item("x", 2)]))
      yield* settle()
      assert.deepStrictEqual(gate.batches().map((b) => b.map(label)), [["x1", "x2"]], "held in process")
      const first = yield* Effect.forkChild(batcher.submitAll([item("a", 1), item("a", 2)]))
      yield* settle()
      const quiet = yield* Effect.forkChild(batcher.submit(item("b", 1)))
      yield* settle()
      const flood = yield* Effect.forkChild(
        batcher.submitAll([item("a", 3), item("a", 4), item("a", 5), item("a", 6), item("a", 7), item("a", 8)])
      )
      yield* settle()
      // b's batch is ready once its timeout expired: its oldest record (b1) is older than a3
      yield* TestClock.adjust(10)
      yield* gate.release
      yield* settle()
      yield* TestClock.adjust(10)
      yield* settle()
      assert.deepStrictEqual(gate.batches().map((b) => b.map(label)), [
        ["x1", "x2"],
        ["a1", "a2"],
        ["b1"],
        ["a3", "a4"],
        ["a5", "a6"],
        ["a7", "a8"]
      ])
      yield* Fiber.join(busy)
      yield* Fiber.join(first)
      assert.strictEqual(yield* Fiber.join(quiet), "b1")
      assert.strictEqual((yield* Fiber.join(flood)).length, 6)
    }))

  it.effect("keyed batches run in parallel slots and each key keeps its own order", () =>
    Effect.gen(function*() {
      const gate = slots(label)
      const batcher = yield* Batcher.make({
        process: gate.process,
        groupBy: byKey,
        maxConcurrentBatches: 2,
        maxBatchSize: 2,
        batchTimeout: "1 hour"
      })
      yield* releasedAtEnd(gate)
      const a = yield* Effect.forkChild(batcher.submitAll([item("a", 1), item("a", 2), item("a", 3), item("a", 4)]))
      const b = yield* Effect.forkChild(batcher.submitAll([item("b", 1), item("b", 2)]))
      yield* settle()
      assert.strictEqual(gate.state.active, 2)
      yield* gate.open(1)
      yield* gate.open(0)
      yield* settle()
      yield* gate.release
      assert.deepStrictEqual(yield* Fiber.join(a), ["a1", "a2", "a3", "a4"])
      assert.deepStrictEqual(yield* Fiber.join(b), ["b1", "b2"])
      const aBatches = gate.calls.filter((c) => c.info.key === "a").map((c) => c.records.map(label))
      assert.deepStrictEqual(aBatches, [["a1", "a2"], ["a3", "a4"]])
      assert.strictEqual(gate.state.maxActive, 2)
    }))
})
