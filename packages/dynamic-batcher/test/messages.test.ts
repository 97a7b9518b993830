/**
 * Error messages read right: counts in the singular for one, the Promise API
 * names its own option (`processFn`), and a stopped Promise batcher says it
 * was stopped rather than never started.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Batcher, BatcherShutdownError, ResultCountMismatchError } from "effect-dynamic-batcher"
import { DynamicBatcher } from "effect-dynamic-batcher/promise"
import { settle } from "./utils.ts"

describe("messages", () => {
  it("ResultCountMismatchError counts one result in the singular, and names process unless told otherwise", () => {
    assert.strictEqual(
      new ResultCountMismatchError({ expected: 1, actual: 0 }).message,
      "process must return one result per record in the same order: expected 1 result, got 0"
    )
    assert.include(new ResultCountMismatchError({ expected: 3, actual: 2 }).message, "expected 3 results, got 2")
    assert.match(
      new ResultCountMismatchError({ expected: 2, actual: 1, option: "processFn" }).message,
      /^processFn must return/
    )
  })

  it.effect("a non-array result from process, for a batch of one, asks for an array of 1 result", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        process: (_: ReadonlyArray<number>) => Effect.succeed(7 as unknown as ReadonlyArray<number>),
        maxBatchSize: 1
      })
      const exit = yield* Effect.exit(batcher.submit(1))
      assert.isTrue(Exit.isFailure(exit))
      const defect = Cause.squash((exit as Exit.Failure<number, unknown>).cause) as Error
      assert.strictEqual(defect.message, "process must return an array of 1 result, got number")
    }))

  describe("the Promise API", () => {
    it("names processFn when it returns the wrong number of results, or no array", async () => {
      const batcher = new DynamicBatcher({
        processFn: (batch: Array<number>) => (batch[0] === 1 ? batch.slice(1) : (null as unknown as Array<number>)),
        maxBatchSize: 1,
        batchTimeout: 0
      })
      await batcher.start()
      const mismatch = await batcher.submit(1).catch((e) => e)
      assert.instanceOf(mismatch, ResultCountMismatchError)
      assert.strictEqual(mismatch.option, "processFn")
      assert.strictEqual(
        mismatch.message,
        "processFn must return one result per record in the same order: expected 1 result, got 0"
      )
      const notAnArray = await batcher.submit(2).catch((e) => e)
      assert.instanceOf(notAnArray, TypeError)
      assert.strictEqual(notAnArray.message, "processFn must return an array of 1 result, got null")
      await batcher.stop()
    })

    it("a submit says the batcher was never started, is stopping, or was stopped", async () => {
      let release!: () => void
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      const batcher = new DynamicBatcher({
        processFn: async (batch: Array<number>) => {
          await held
          return batch
        },
        maxBatchSize: 1
      })
      const reason = (attempt: Promise<unknown>) =>
        attempt.then(
          () => assert.fail("the submit was accepted"),
          (error) => {
            assert.instanceOf(error, BatcherShutdownError)
            return (error as BatcherShutdownError).message
          }
        )
      assert.include(await reason(batcher.submit(1)), "call start() first")
      await batcher.start()
      const inProcess = batcher.submit(1)
      await Effect.runPromise(settle)
      const stopping = batcher.stop()
      assert.include(await reason(batcher.submit(2)), "stopping")
      assert.include(await reason(batcher.submitBatch([2])), "stopping")
      release()
      await stopping
      assert.strictEqual(await inProcess, 1)
      assert.include(await reason(batcher.submit(3)), "was stopped: call start() to run it again")
      assert.include(await reason(batcher.enqueue(3)), "was stopped")
      await batcher.start()
      assert.strictEqual(await batcher.submit(4), 4, "running again")
      await batcher.stop()
    })
  })
})
