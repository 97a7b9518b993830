/**
 * Throughput of a batcher entity in one process, on effect/cluster's
 * `TestRunner` (in-memory storage, messages serialized as they would be on
 * the network): KEYS keys x PER_KEY records, all submitted at once, volatile
 * and durable in turns, after a warm-up round. Prints records per second.
 *
 *   pnpm --filter effect-dynamic-batcher-cluster throughput
 */
import { Effect, Layer, Schema } from "effect"
import { BatcherEntity, CompletedRecords } from "effect-dynamic-batcher-cluster"
import { TestRunner } from "effect/cluster"

const keys = Array.from({ length: Number(process.env.KEYS ?? "6") }, (_, i) => `key-${i}`)
const perKey = Number(process.env.PER_KEY ?? "5000")

const Doubler = BatcherEntity.make("Doubler", {
  record: Schema.Number,
  result: Schema.Number,
  maxBatchSize: 256,
  batchTimeout: "5 millis",
  dispatch: "idle",
  process: (batch) => Effect.succeed(batch.map((x) => x * 2))
})

const measure = (durable: boolean) =>
  Effect.gen(function*() {
    const client = yield* BatcherEntity.client(Doubler)
    const started = Date.now()
    yield* Effect.forEach(
      keys,
      (key) => client.submitAll(key, Array.from({ length: perKey }, (_, i) => i), { durable }),
      { concurrency: "unbounded" }
    )
    const seconds = (Date.now() - started) / 1000
    console.log(
      `${durable ? "durable " : "volatile"}: ${keys.length * perKey} records in ${seconds.toFixed(2)} s = ${
        Math.round(keys.length * perKey / seconds)
      } records/s`
    )
  })

// one warm-up round (JIT), then volatile and durable in turns
const program = Effect.gen(function*() {
  yield* measure(false)
  for (let round = 0; round < 2; round++) {
    yield* measure(false)
    yield* measure(true)
  }
})

Effect.runPromise(
  program.pipe(
    Effect.provide(
      Doubler.layer.pipe(Layer.provideMerge(Layer.mergeAll(TestRunner.layer, CompletedRecords.layerMemory())))
    )
  )
)
