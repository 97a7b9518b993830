import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Schema, Scope } from "effect"
import { BatcherConfigError } from "effect-dynamic-batcher"
import { BatcherEntity, BatcherUnavailableError, CompletedRecords } from "effect-dynamic-batcher-cluster"
import { TestRunner } from "effect/cluster"

// In-process cluster runs use real time (the cluster's own timers are not on
// the TestClock), with a short batch window; nothing below asserts on timing.

class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", { record: Schema.Number }) {}

interface Seen {
  readonly key: string
  readonly batch: ReadonlyArray<number>
}

const makeDoubler = (
  seen: Array<Seen>,
  options?: { readonly maxQueueSize?: number; readonly gate?: Deferred.Deferred<void> }
) =>
  BatcherEntity.make("Doubler", {
    record: Schema.Number,
    result: Schema.Number,
    error: Overloaded,
    maxBatchSize: 16,
    batchTimeout: "5 millis",
    maxQueueSize: options?.maxQueueSize,
    prefetchBatches: 1,
    process: (batch: ReadonlyArray<number>, key) =>
      Effect.gen(function*() {
        seen.push({ key, batch })
        if (options?.gate) yield* Deferred.await(options.gate)
        const bad = batch.find((x) => x < 0)
        if (bad !== undefined) return yield* new Overloaded({ record: bad })
        return batch.map((x) => x * 2)
      })
  })

const run = <A, E>(
  doubler: ReturnType<typeof makeDoubler>,
  f: (client: BatcherEntity.Client<number, number, Overloaded>) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const client = yield* BatcherEntity.client(doubler)
    return yield* f(client)
  }).pipe(
    Effect.provide(
      doubler.layer.pipe(Layer.provideMerge(Layer.mergeAll(TestRunner.layer, CompletedRecords.layerMemory())))
    )
  )

describe("BatcherEntity on TestRunner", () => {
  it.live("batches concurrent submits per key and returns every record's own result", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const keys = ["a", "b", "c"]
      const results = yield* run(makeDoubler(seen), (client) =>
        Effect.forEach(
          keys,
          (key, k) => client.submitAll(key, Array.from({ length: 100 }, (_, i) => k * 1000 + i)),
          { concurrency: "unbounded" }
        ))
      keys.forEach((_, k) =>
        assert.deepStrictEqual(results[k], Array.from({ length: 100 }, (_, i) => 2 * (k * 1000 + i)))
      )
      // every batch holds records of its own key only, and records were batched
      for (const { batch, key } of seen) {
        assert.isTrue(batch.every((x) => Math.floor(x / 1000) === keys.indexOf(key)))
      }
      assert.strictEqual(seen.reduce((n, { batch }) => n + batch.length, 0), 300)
      assert.isBelow(seen.length, 300)
    }))

  it.live("a record id completed before returns its stored result without running again", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const [first, again, durable] = yield* run(makeDoubler(seen), (client) =>
        Effect.all([
          client.submit("a", 21, { id: "r-1" }),
          client.submit("a", 21, { id: "r-1" }),
          client.submit("a", 21, { id: "r-1", durable: true })
        ]))
      assert.deepStrictEqual([first, again, durable], [42, 42, 42])
      assert.deepStrictEqual(seen, [{ key: "a", batch: [21] }])
    }))

  it.live("concurrent submits of one id run the record once", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const results = yield* run(makeDoubler(seen), (client) =>
        Effect.all(
          Array.from({ length: 5 }, () => client.submit("a", 5, { id: "same" })),
          {
            concurrency: "unbounded"
          }
        ))
      assert.deepStrictEqual(results, [10, 10, 10, 10, 10])
      assert.strictEqual(seen.reduce((n, { batch }) => n + batch.length, 0), 1)
    }))

  it.live("the batch's typed error reaches each of its callers", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const error = yield* run(makeDoubler(seen), (client) => Effect.flip(client.submitAll("a", [1, -2, 3])))
      assert.deepStrictEqual(error, new Overloaded({ record: -2 }))
    }))

  it.live("a full mailbox fails the overflow with BatcherUnavailableError, not a defect", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const gate = yield* Deferred.make<void>()
      const doubler = makeDoubler(seen, { maxQueueSize: 4, gate })
      const exits = yield* run(doubler, (client) =>
        Effect.gen(function*() {
          const submits = Array.from({ length: doubler.mailboxCapacity + 10 }, (_, i) =>
            Effect.exit(client.submit("a", i)))
          const fiber = yield* Effect.forkChild(Effect.all(submits, { concurrency: "unbounded" }))
          // release the processor once the overflow had time to be rejected
          yield* Effect.sleep("300 millis")
          yield* Deferred.succeed(gate, void 0)
          return yield* Fiber.join(fiber)
        }))
      const failed = exits.filter(Exit.isFailure)
      assert.isAbove(failed.length, 0)
      for (const exit of failed) {
        const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.isTrue(reason !== undefined && Cause.isFailReason(reason))
        const error = reason !== undefined && Cause.isFailReason(reason) ? reason.error : undefined
        assert.instanceOf(error, BatcherUnavailableError)
        assert.strictEqual((error as BatcherUnavailableError).reason, "MailboxFull")
      }
      assert.strictEqual(exits.filter(Exit.isSuccess).length + failed.length, doubler.mailboxCapacity + 10)
    }))

  it.live("a runner that shuts down drains its batchers: every accepted record gets its result", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const gate = yield* Deferred.make<void>()
      const doubler = makeDoubler(seen, { gate })
      const scope = yield* Scope.make()
      const services = yield* Layer.buildWithScope(
        doubler.layer.pipe(Layer.provideMerge(Layer.mergeAll(TestRunner.layer, CompletedRecords.layerMemory()))),
        scope
      )
      const client = yield* BatcherEntity.client(doubler).pipe(Effect.provideContext(services))
      const records = Array.from({ length: 40 }, (_, i) => i)
      const submitted = yield* Effect.forkDetach(client.submitAll("a", records))
      // the first batch is in process, the others wait in the batcher
      while (seen.length === 0) yield* Effect.sleep("10 millis")
      const closing = yield* Effect.forkDetach(Scope.close(scope, Exit.void))
      yield* Deferred.succeed(gate, void 0)
      assert.deepStrictEqual(yield* Fiber.join(submitted), records.map((x) => x * 2))
      yield* Fiber.join(closing)
      assert.strictEqual(seen.reduce((n, { batch }) => n + batch.length, 0), 40)
    }))

  it.live("an invalid batcher option fails the entity's layer with BatcherConfigError", () =>
    Effect.gen(function*() {
      const bad = BatcherEntity.make("Bad", {
        record: Schema.Number,
        result: Schema.Number,
        maxBatchSize: 0,
        process: (batch: ReadonlyArray<number>) => Effect.succeed(batch)
      })
      const error = yield* Effect.flip(
        Layer.build(bad.layer.pipe(Layer.provide(Layer.mergeAll(TestRunner.layer, CompletedRecords.layerMemory()))))
      )
      assert.instanceOf(error, BatcherConfigError)
      assert.strictEqual(error.option, "maxBatchSize")
    }))

  it.live("a durable submitAll sent again with the same ids gets the stored results without running again", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const [first, again] = yield* run(makeDoubler(seen), (client) =>
        Effect.all([
          client.submitAll("a", [1, 2, 3], { ids: ["x", "y", "z"], durable: true }),
          client.submitAll("a", [1, 2, 3], { ids: ["x", "y", "z"], durable: true })
        ]))
      assert.deepStrictEqual([first, again], [[2, 4, 6], [2, 4, 6]])
      assert.strictEqual(seen.reduce((n, { batch }) => n + batch.length, 0), 3)
    }))
})
