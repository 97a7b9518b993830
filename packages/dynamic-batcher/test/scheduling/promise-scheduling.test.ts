/**
 * The scheduling options through the Promise API
 * (`effect-dynamic-batcher/promise`): concurrent batches, `groupBy` and
 * `processFn(batch, info)`, per-submit `priority` and `timeout`,
 * `reconfigure` / `tuning`, `InvalidSubmitError`; and `TokenBatcher` /
 * `Prompt`. Real timers, but no assertion on timing: every wait is for an
 * event (a batch started, a Promise settled), and timeouts are hours; the
 * deadline tests run on vitest's fake clock instead.
 */
import { assert, describe, it, vi } from "@effect/vitest"
import {
  BatcherConfigError,
  DeadlineExceededError,
  DynamicBatcher,
  InvalidSubmitError,
  Prompt,
  TokenBatcher
} from "effect-dynamic-batcher/promise"
import { withFakeClock } from "../support/harness.ts"

/** Lets pending promise callbacks and the batcher's fibers run, without waiting on the clock. */
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Flushes until `done()` holds; fails after many rounds (a hang, not a timing assertion). */
const until = async (label: string, done: () => boolean) => {
  for (let i = 0; i < 2_000 && !done(); i++) await flush()
  if (!done()) throw new Error(`still waiting for: ${label}`)
}

/** A processFn whose every batch waits for its own `open(index)`; counts how many run at once. */
const heldBatches = <A>() => {
  const calls: Array<{ readonly records: Array<A> }> = []
  const releases: Array<() => void> = []
  const state = { active: 0, maxActive: 0 }
  const processFn = (batch: Array<A>): Promise<Array<A>> => {
    calls.push({ records: [...batch] })
    state.active++
    state.maxActive = Math.max(state.maxActive, state.active)
    return new Promise<Array<A>>((resolve) => {
      releases.push(() => {
        state.active--
        resolve(batch)
      })
    })
  }
  const open = (index: number) => releases[index]()
  return { calls, state, processFn, open }
}

/** Records whether a Promise settled yet. */
const tracked = <A>(promise: Promise<A>) => {
  const state = { settled: false }
  promise.then(() => (state.settled = true), () => (state.settled = true))
  return state
}

describe("DynamicBatcher scheduling (Promise API)", () => {
  it("maxConcurrentBatches: several processFn calls at once, each result delivered as soon as its batch finishes", async () => {
    const held = heldBatches<number>()
    await using batcher = new DynamicBatcher({
      processFn: held.processFn,
      maxConcurrentBatches: 2,
      maxBatchSize: 1,
      batchTimeout: 0
    })
    await batcher.start()
    const first = batcher.submit(1)
    const second = batcher.submit(2)
    const third = batcher.submit(3)
    const firstState = tracked(first)
    await until("two batches in processFn", () => held.calls.length === 2)
    await flush()
    assert.strictEqual(held.calls.length, 2, "a third waits for a free slot")
    assert.strictEqual(batcher.stats.inFlightBatches, 2)
    held.open(1)
    assert.strictEqual(await second, 2)
    assert.isFalse(firstState.settled, "the first, slower batch does not hold back the second's result")
    await until("the third batch started", () => held.calls.length === 3)
    held.open(0)
    held.open(2)
    assert.deepStrictEqual([await first, await third], [1, 3])
    assert.strictEqual(held.state.maxActive, 2)
  })

  it("groupBy: one key per batch, and processFn gets info { key, size, cost }", async () => {
    const calls: Array<{ readonly batch: Array<string>; readonly info: unknown }> = []
    await using batcher = new DynamicBatcher({
      processFn: async (batch: Array<string>, info) => {
        calls.push({ batch: [...batch], info: { key: info.key, size: info.size, cost: info.cost } })
        return batch.map((s) => s.toUpperCase())
      },
      groupBy: (s: string) => s[0],
      batchTimeout: "1 hour"
    })
    await batcher.start()
    const results = Promise.all([
      batcher.submit("a1", { estimatedCost: 2 }),
      batcher.submit("b1"),
      batcher.submit("a2", { estimatedCost: 3 })
    ])
    await batcher.stop()
    assert.deepStrictEqual(await results, ["A1", "B1", "A2"])
    assert.deepStrictEqual(calls, [
      { batch: ["a1", "a2"], info: { key: "a", size: 2, cost: 5 } },
      { batch: ["b1"], info: { key: "b", size: 1, cost: 1 } }
    ])
  })

  it("priority on submit and submitBatch: higher levels fill the batch first", async () => {
    const held = heldBatches<string>()
    await using batcher = new DynamicBatcher({
      processFn: held.processFn,
      maxBatchSize: 2,
      prefetchBatches: 1,
      batchTimeout: "1 hour"
    })
    await batcher.start()
    // a full handoff at the top level: one batch in processFn, one prefetched, one open and full
    const prefix = await batcher.submitBatch(["t1", "t2", "t3", "t4", "t5", "t6"], { priority: 100 })
    await until("the first batch in processFn", () => held.calls.length === 1)
    const low = batcher.submit("low")
    const highs = await batcher.submitBatch(["h1", "h2"], { priority: 5 })
    const mid = batcher.submit("mid", { priority: 1 })
    await flush()
    for (let i = 0; i < 5; i++) {
      await until(`batch ${i} started`, () => held.calls.length > i)
      held.open(i)
    }
    await batcher.stop()
    await Promise.all([...prefix, ...highs, low, mid])
    assert.deepStrictEqual(held.calls.slice(3).map((c) => c.records), [["h1", "h2"], ["mid", "low"]])
  })

  it("timeout on submit, enqueue and submitBatch: a record still waiting at its deadline rejects with DeadlineExceededError", () =>
    withFakeClock(async () => {
      const held = heldBatches<number>()
      const batcher = new DynamicBatcher({ processFn: held.processFn, batchTimeout: 0 })
      await batcher.start()
      const busy = batcher.submit(0)
      await until("the first batch in processFn", () => held.calls.length === 1)
      const late = batcher.submit(1, { timeout: 20 }).catch((e) => e)
      const { result } = await batcher.enqueue(2, { timeout: "15 millis" })
      const futures = await batcher.submitBatch([3, 4], { timeout: 10 })
      const outcomes = [late, result.catch((e) => e), ...futures.map((f) => f.catch((e) => e))]
      await vi.advanceTimersByTimeAsync(9)
      assert.strictEqual(batcher.stats.totalExpired, 0, "nothing expires before its deadline")
      await vi.advanceTimersByTimeAsync(11)
      const errors = await Promise.all(outcomes)
      for (const error of errors) assert.instanceOf(error, DeadlineExceededError)
      assert.deepStrictEqual(errors.map((e) => [e.waitedMillis, e.timeoutMillis]), [[20, 20], [15, 15], [10, 10], [
        10,
        10
      ]])
      assert.strictEqual(batcher.stats.totalExpired, 4)
      held.open(0)
      assert.strictEqual(await busy, 0)
      await batcher.stop()
      assert.deepStrictEqual(held.calls.map((c) => c.records), [[0]], "expired records never reach processFn")
    }))

  it("maxQueueDelay in the constructor applies to every record", () =>
    withFakeClock(async () => {
      const held = heldBatches<number>()
      const batcher = new DynamicBatcher({ processFn: held.processFn, batchTimeout: 0, maxQueueDelay: 10 })
      await batcher.start()
      const busy = batcher.submit(0)
      await until("the first batch in processFn", () => held.calls.length === 1)
      const late = batcher.submit(1).catch((e) => e)
      await vi.advanceTimersByTimeAsync(10)
      const error = await late
      assert.instanceOf(error, DeadlineExceededError)
      assert.strictEqual(error.timeoutMillis, 10)
      held.open(0)
      assert.strictEqual(await busy, 0, "a record in processFn is past its deadline, yet gets its result")
      await batcher.stop()
    }))

  it("bad per-submit input rejects with InvalidSubmitError, nothing enqueued", async () => {
    const batcher = new DynamicBatcher({
      processFn: async (batch: Array<number>) => batch,
      groupBy: (n: number) => {
        if (n < 0) throw new Error("negative")
        return n % 2
      },
      batchTimeout: 0
    })
    await batcher.start()
    const attempts: ReadonlyArray<[string, () => Promise<unknown>]> = [
      ["priority", () => batcher.submit(1, { priority: 0.5 })],
      ["priority", () => batcher.submitBatch([1, 2], { priority: Number.NaN })],
      ["timeout", () => batcher.submit(1, { timeout: -1 })],
      ["timeout", () => batcher.enqueue(1, { timeout: "whenever" as never })],
      ["groupBy", () => batcher.submit(-1)],
      ["groupBy", () => batcher.submitBatch([1, -2])]
    ]
    for (const [option, attempt] of attempts) {
      const error = await attempt().catch((e) => e)
      assert.instanceOf(error, InvalidSubmitError)
      assert.strictEqual(error.option, option)
    }
    assert.strictEqual(batcher.stats.totalSubmitted, 0)
    assert.strictEqual(await batcher.submit(3), 3, "the batcher goes on")
    await batcher.stop()
  })

  it("reconfigure is synchronous, validates against the current values and throws BatcherConfigError; tuning reads it", async () => {
    const held = heldBatches<number>()
    const batcher = new DynamicBatcher({ processFn: held.processFn, maxBatchSize: 1, batchTimeout: 0 })
    await batcher.start()
    assert.strictEqual(batcher.tuning.maxConcurrentBatches, 1)
    assert.strictEqual(batcher.tuning.batchTimeout, 0)
    const results = [1, 2, 3].map((n) => batcher.submit(n))
    await until("the first batch in processFn", () => held.calls.length === 1)
    batcher.reconfigure({ maxConcurrentBatches: 3, maxQueueDelay: "1 hour" })
    assert.strictEqual(batcher.tuning.maxConcurrentBatches, 3)
    assert.strictEqual(batcher.tuning.maxQueueDelay, 3_600_000)
    await until("three batches in processFn at once", () => held.calls.length === 3)
    assert.throws(() => batcher.reconfigure({ minBatchSize: 2 }), BatcherConfigError)
    assert.throws(() => batcher.reconfigure({ maxConcurrentBatches: 0 }), BatcherConfigError)
    assert.strictEqual(batcher.tuning.minBatchSize, 1, "an invalid patch changes nothing")
    assert.strictEqual(batcher.tuning.maxConcurrentBatches, 3)
    for (let i = 0; i < 3; i++) held.open(i)
    assert.deepStrictEqual(await Promise.all(results), [1, 2, 3])
    await batcher.stop()
  })

  it("the constructor validates the new options", () => {
    const processFn = async (batch: Array<number>) => batch
    assert.throws(() => new DynamicBatcher({ processFn, maxConcurrentBatches: 0 }), BatcherConfigError)
    assert.throws(() => new DynamicBatcher({ processFn, maxQueueDelay: -1 }), BatcherConfigError)
    assert.throws(() => new DynamicBatcher({ processFn, priorityAging: "soon" as never }), BatcherConfigError)
    assert.throws(() => new DynamicBatcher({ processFn, groupBy: 5 as never }), BatcherConfigError)
  })
})

describe("TokenBatcher and Prompt (Promise API)", () => {
  it("Prompt estimates floor(length / 4) + 1 tokens", () => {
    assert.strictEqual(new Prompt("").estimateTokens(), 1)
    assert.strictEqual(new Prompt("abc").estimateTokens(), 1)
    assert.strictEqual(new Prompt("abcd").estimateTokens(), 2)
    assert.strictEqual(new Prompt("x".repeat(403)).estimateTokens(), 101)
  })

  it("inferenceFn runs batches filled up to targetBatchTokens", async () => {
    const batches: Array<Array<number>> = []
    const llm = new TokenBatcher({
      inferenceFn: async (prompts: Array<Prompt>) => {
        batches.push(prompts.map((p) => p.estimateTokens()))
        return prompts.map((p) => p.text.length)
      },
      targetBatchTokens: 10,
      batchTimeout: "1 hour"
    })
    await llm.start()
    const texts = ["x".repeat(20), "x".repeat(12), "x".repeat(16), "x".repeat(40)] // 6, 4, 5 and 11 tokens
    const results = Promise.all(texts.map((t) => llm.submit(new Prompt(t))))
    await llm.stop()
    assert.deepStrictEqual(await results, [20, 12, 16, 40])
    assert.deepStrictEqual(batches, [[6, 4], [5], [11]])
    assert.strictEqual(llm.stats.totalBatchCost, 26)
    assert.instanceOf(llm, DynamicBatcher)
  })

  it("processFn works too; estimatedTokens > tokenEstimator; estimateTokens() > estimateCost() > defaultTokenEstimate", async () => {
    const both = { estimateTokens: () => 3, estimateCost: () => 100 }
    const costOnly = { estimateCost: () => 5 }
    const plain = {}
    const processFn = async (batch: Array<object>) => batch.map(() => 0)
    const counted = new TokenBatcher<object, number>({ processFn, defaultTokenEstimate: 7, batchTimeout: 0 })
    await counted.start()
    for (const record of [both, costOnly, plain]) await counted.submit(record)
    await counted.submit(plain, { estimatedTokens: 11 })
    await counted.stop()
    assert.strictEqual(counted.stats.totalBatchCost, 3 + 5 + 7 + 11)
    const estimated = new TokenBatcher<object, number>({ processFn, tokenEstimator: () => 2, batchTimeout: 0 })
    await estimated.start()
    for (const record of [both, costOnly, plain]) await estimated.submit(record)
    await estimated.submit(both, { estimatedTokens: 4 })
    await estimated.stop()
    assert.strictEqual(estimated.stats.totalBatchCost, 2 + 2 + 2 + 4)
  })

  it("takes the scheduling options like any DynamicBatcher", async () => {
    const batches: Array<Array<string>> = []
    const llm = new TokenBatcher({
      inferenceFn: async (prompts: Array<Prompt>) => {
        batches.push(prompts.map((p) => p.text))
        return prompts.map((p) => p.text)
      },
      groupBy: (p: Prompt) => p.text.length > 8 ? "long" : "short",
      maxConcurrentBatches: 2,
      batchTimeout: "1 hour"
    })
    await llm.start()
    const results = Promise.all([
      llm.submit(new Prompt("hi")),
      llm.submit(new Prompt("a much longer prompt"), { priority: 2 }),
      llm.submit(new Prompt("yo"), { timeout: "1 hour" })
    ])
    await llm.stop()
    assert.deepStrictEqual(await results, ["hi", "a much longer prompt", "yo"])
    assert.deepStrictEqual(batches, [["hi", "yo"], ["a much longer prompt"]], "one batch per key, oldest first")
  })
})
