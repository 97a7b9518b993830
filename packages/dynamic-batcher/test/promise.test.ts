import { assert, describe, it } from "@effect/vitest"
import {
  BatcherAlreadyRunningError,
  BatcherConfigError,
  BatcherShutdownError,
  BatchStats,
  DynamicBatcher,
  InvalidCostError,
  ResultCountMismatchError
} from "effect-dynamic-batcher/promise"

/** A processFn that records its batches and doubles each record. */
const doubler = () => {
  const batches: Array<Array<number>> = []
  const processFn = async (batch: Array<number>) => {
    batches.push([...batch])
    return batch.map((n) => n * 2)
  }
  return { batches, processFn }
}

/** A processFn held until `release()`, to keep the processor busy. */
const held = () => {
  const batches: Array<Array<number>> = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const processFn = async (batch: Array<number>) => {
    batches.push([...batch])
    await gate
    return batch
  }
  return { batches, processFn, release: () => release() }
}

/** Lets pending promise callbacks and the batcher's fibers run, without waiting on the clock. */
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

describe("DynamicBatcher (Promise API)", () => {
  it("submits records and resolves each with its own result, in cost-budgeted FIFO batches", async () => {
    const { batches, processFn } = doubler()
    const batcher = new DynamicBatcher({ processFn, maxBatchSize: 3, batchTimeout: "1 hour" })
    await batcher.start()
    const results = Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))
    await batcher.stop()
    assert.deepStrictEqual(await results, [2, 4, 6, 8, 10])
    assert.deepStrictEqual(batches, [[1, 2, 3], [4, 5]], "stop flushed the open batch without waiting an hour")
    assert.instanceOf(batcher.stats, BatchStats)
    assert.strictEqual(batcher.stats.totalCompleted, 5)
    assert.strictEqual(batcher.stats.totalBatches, 2)
  })

  it("start rejects while running; stop is idempotent; start works again after stop", async () => {
    const batcher = new DynamicBatcher({ processFn: doubler().processFn, batchTimeout: 0 })
    assert.isFalse(batcher.isRunning)
    await batcher.start()
    assert.isTrue(batcher.isRunning)
    const error = await batcher.start().catch((e) => e)
    assert.instanceOf(error, BatcherAlreadyRunningError)
    await batcher.stop()
    await batcher.stop()
    assert.isFalse(batcher.isRunning)
    await batcher.start()
    assert.strictEqual(await batcher.submit(21), 42)
    await batcher.stop()
  })

  it("submit, enqueue and submitBatch reject with BatcherShutdownError when not running", async () => {
    const batcher = new DynamicBatcher({ processFn: doubler().processFn })
    for (const attempt of [() => batcher.submit(1), () => batcher.enqueue(1), () => batcher.submitBatch([1])]) {
      const error = await attempt().catch((e) => e)
      assert.instanceOf(error, BatcherShutdownError)
      assert.include(error.message, "call start() first")
    }
    await batcher.start()
    await batcher.stop()
    assert.instanceOf(await batcher.submit(1).catch((e) => e), BatcherShutdownError)
  })

  it("enqueue resolves once the record is accepted, waiting while the queue is full", async () => {
    const { batches, processFn, release } = held()
    const batcher = new DynamicBatcher({
      processFn,
      maxQueueSize: 1,
      maxBatchSize: 1,
      prefetchBatches: 1,
      batchTimeout: 0
    })
    await batcher.start()
    const accepted: Array<{ readonly result: Promise<number> }> = []
    for (const n of [1, 2, 3, 4]) accepted.push(await batcher.enqueue(n)) // process, prefetch, open, queue
    let fifthAccepted = false
    const fifth = batcher.enqueue(5).then((ticket) => {
      fifthAccepted = true
      return ticket
    })
    await flush()
    assert.isFalse(fifthAccepted, "the queue is full: enqueue waits")
    assert.strictEqual(batcher.stats.totalSubmitted, 4)
    release()
    const ticket = await fifth
    assert.strictEqual(await ticket.result, 5)
    assert.deepStrictEqual(await Promise.all(accepted.map((t) => t.result)), [1, 2, 3, 4])
    await batcher.stop()
    assert.deepStrictEqual(batches, [[1], [2], [3], [4], [5]])
  })

  it("submitBatch checks every cost first and resolves with one Promise per record", async () => {
    const { batches, processFn } = doubler()
    const batcher = new DynamicBatcher({ processFn, targetBatchCost: 10, batchTimeout: "1 hour" })
    await batcher.start()
    const mismatch = await batcher.submitBatch([1, 2, 3], { estimatedCosts: [1, 2] }).catch((e) => e)
    assert.instanceOf(mismatch, InvalidCostError)
    const negative = await batcher.submitBatch([1, 2], { estimatedCosts: [1, -2] }).catch((e) => e)
    assert.instanceOf(negative, InvalidCostError)
    assert.strictEqual(batcher.stats.totalSubmitted, 0, "nothing was enqueued")
    const futures = await batcher.submitBatch([1, 2, 3], { estimatedCosts: [6, 4, 5] })
    await batcher.stop()
    assert.deepStrictEqual(await Promise.all(futures), [2, 4, 6])
    assert.deepStrictEqual(batches, [[1, 2], [3]], "6 + 4 reach the budget of 10")
  })

  it("finds a cost as estimatedCost > costEstimator > estimateCost() > defaultCost", async () => {
    const record = (n: number, cost?: number) => cost === undefined ? { n } : { n, estimateCost: () => cost }
    type Rec = ReturnType<typeof record>
    const processFn = async (batch: Array<Rec>) => batch.map((r) => r.n)
    const withEstimator = new DynamicBatcher<Rec, number>({
      processFn,
      costEstimator: (r) => r.n * 10,
      batchTimeout: 0
    })
    const withoutEstimator = new DynamicBatcher<Rec, number>({ processFn, defaultCost: 7, batchTimeout: 0 })
    await withEstimator.start()
    await withoutEstimator.start()
    await withEstimator.submit(record(1, 500), { estimatedCost: 3 })
    await withEstimator.submit(record(2, 500))
    await withoutEstimator.submit(record(1, 5))
    await withoutEstimator.submit(record(1))
    await withEstimator.stop()
    await withoutEstimator.stop()
    assert.strictEqual(withEstimator.stats.totalBatchCost, 3 + 20)
    assert.strictEqual(withoutEstimator.stats.totalBatchCost, 5 + 7)
  })

  it("rejects every record of a batch with processFn's error, a throw, or ResultCountMismatchError", async () => {
    const boom = new Error("model crashed")
    const batcher = new DynamicBatcher({
      processFn: async (batch: Array<number>) => {
        if (batch.includes(1)) throw boom
        if (batch.includes(3)) return batch.slice(1)
        return batch
      },
      dispatch: "idle",
      batchTimeout: 0
    })
    await batcher.start()
    assert.strictEqual(await batcher.submit(1).catch((e) => e), boom)
    const mismatch = await batcher.submit(3).catch((e) => e)
    assert.instanceOf(mismatch, ResultCountMismatchError)
    assert.deepStrictEqual([mismatch.expected, mismatch.actual], [1, 0])
    assert.strictEqual(await batcher.submit(2), 2, "the loops go on")
    await batcher.stop()
    assert.strictEqual(batcher.stats.totalFailed, 2)
  })

  it("a synchronous throw of processFn rejects its records", async () => {
    const batcher = new DynamicBatcher<number, number>({
      processFn: () => {
        throw new TypeError("not async")
      },
      batchTimeout: 0
    })
    await batcher.start()
    const error = await batcher.submit(1).catch((e) => e)
    assert.instanceOf(error, TypeError)
    await batcher.stop()
  })

  it("validates its options in the constructor", () => {
    assert.throws(() => new DynamicBatcher({ processFn: doubler().processFn, maxBatchSize: 0 }), BatcherConfigError)
    assert.throws(() => new DynamicBatcher({ processFn: doubler().processFn, batchTimeout: -1 }), BatcherConfigError)
    assert.throws(() => new DynamicBatcher({} as never), /processFn/)
  })

  it("await using stops the batcher, delivering every accepted record", async () => {
    const { processFn } = doubler()
    let pending: Promise<number> | undefined
    let outside: DynamicBatcher<number, number> | undefined
    {
      await using batcher = new DynamicBatcher({ processFn, batchTimeout: "1 hour" })
      outside = batcher
      await batcher.start()
      pending = batcher.submit(4)
    }
    assert.strictEqual(await pending, 8)
    assert.isFalse(outside.isRunning)
  })

  it("the result Promises of submitBatch do not crash the process when never awaited", async () => {
    const batcher = new DynamicBatcher({
      processFn: async (): Promise<Array<number>> => {
        throw new Error("ignored")
      },
      batchTimeout: 0
    })
    await batcher.start()
    await batcher.submitBatch([1, 2])
    await batcher.stop()
    assert.strictEqual(batcher.stats.totalFailed, 2)
  })
})
